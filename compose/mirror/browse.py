#!/usr/bin/env python3
"""Load pages in Debian's headless Chromium and report every request each page made, as JSON lines.

    opslab-browse URL...

For each URL, one line: {"page", "loaded", "requests": [{"url", "status", "error"}]} where a request that
never got a response has its `error` (net::ERR_...), and a response has its HTTP `status`. Chromium is
driven through its DevTools protocol (Network and Page domains), so nothing is guessed from logs. It only
reads: pages are loaded, never changed. The browser is started by the first call and left running (its start
is the slow part), so later calls reuse it.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import websocket

PORT = 9222
PAGE_TIMEOUT_S = 30.0  # generous: a loaded CI machine is slow, and a page that loads is done long before
SETTLE_S = 0.3
PROFILE = "/tmp/chromium-profile"


def devtools_target(wait):
    deadline = time.time() + wait
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json/list", timeout=1) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.time() >= deadline:
            raise SystemExit(f"chromium's DevTools endpoint did not answer within {wait}s")
        time.sleep(0.1)


class Session:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=PAGE_TIMEOUT_S, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.settimeout(PAGE_TIMEOUT_S)
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def event(self, timeout):
        if self.events:
            return self.events.pop(0)
        self.ws.settimeout(timeout)
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None


def load(session, url):
    requests = {}
    loaded = False
    session.call("Page.navigate", url=url)
    deadline = time.time() + PAGE_TIMEOUT_S
    quiet_since = None
    while time.time() < deadline:
        msg = session.event(0.1)
        now = time.time()
        if msg is None:
            pending = [r for r in requests.values() if not r.get("done")]
            if loaded and not pending:
                quiet_since = quiet_since or now
                if now - quiet_since >= SETTLE_S:
                    break
            continue
        quiet_since = None
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            requests.setdefault(p["requestId"], {"url": p["request"]["url"], "status": None, "error": None})
            requests[p["requestId"]]["url"] = p["request"]["url"]
        elif method == "Network.responseReceived":
            r = requests.setdefault(p["requestId"], {"url": p["response"]["url"], "status": None, "error": None})
            r["status"] = p["response"]["status"]
        elif method == "Network.loadingFinished":
            requests.setdefault(p["requestId"], {"url": "", "status": None, "error": None})["done"] = True
        elif method == "Network.loadingFailed":
            r = requests.setdefault(p["requestId"], {"url": "", "status": None, "error": None})
            r["error"], r["done"] = p.get("errorText") or p.get("blockedReason") or "failed", True
        elif method == "Page.loadEventFired":
            loaded = True
    out = []
    for r in requests.values():
        if not r.get("done") and r["error"] is None and r["status"] is None:
            r["error"] = "no answer"
        out.append({"url": r["url"], "status": r["status"], "error": r["error"]})
    return {"page": url, "loaded": loaded, "requests": out}


def ensure_browser():
    """Chromium's DevTools endpoint; the browser is started on first use and stays open for later calls."""
    try:
        return devtools_target(wait=0)
    except SystemExit:
        pass
    os.makedirs(PROFILE, exist_ok=True)
    with open("/tmp/chromium.log", "ab") as log:
        subprocess.Popen(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                f"--user-data-dir={PROFILE}",
                f"--remote-debugging-port={PORT}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives this call: the next check reuses it
        )
    return devtools_target(wait=90)


def main(urls):
    session = Session(ensure_browser())
    session.call("Network.enable")
    session.call("Network.setCacheDisabled", cacheDisabled=True)
    session.call("Page.enable")
    for url in urls:
        print(json.dumps(load(session, url)), flush=True)
    session.call("Page.navigate", url="about:blank")
    session.ws.close()


if __name__ == "__main__":
    main(sys.argv[1:])

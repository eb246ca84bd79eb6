"""The client's workload: numbered records written through the floating IP, every answer logged; and read-back.

`writer.py write URL LOG [--interval S]`: PUT /records/1, 2, 3 ... one every S seconds (0.5 s timeout each),
appending one JSON line per attempt to LOG: {"t", "n", "ok", "by" (the node that stored it) or "error"}; its
process id in LOG.pid.
Stops on SIGTERM/SIGINT after the attempt in flight.
`writer.py wait URL SECONDS`: until the service answers GET / (exit 1 if it never does).
`writer.py read URL N...` (or numbers on stdin): GET each record, one JSON line per record: {"n", "found", "value"}.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

TIMEOUT = 0.5


def write(url: str, log: str, interval: float) -> None:
    stop = False

    def halt(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, halt)
    signal.signal(signal.SIGINT, halt)
    n = 0
    with open(f"{log}.pid", "w") as pid:
        pid.write(f"{os.getpid()}\n")
    with open(log, "a", buffering=1) as out:
        while not stop:
            n += 1
            t = time.time()
            rec: dict[str, object] = {"t": t, "n": n}
            req = urllib.request.Request(f"{url}/records/{n}", data=f"record {n} @{t:.3f}".encode(), method="PUT")
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                    body = r.read().decode()
                rec.update(ok=True, by=body.rsplit(" ", 1)[-1])
            except urllib.error.HTTPError as e:
                rec.update(ok=False, error=f"HTTP {e.code} {e.read().decode(errors='replace')[:80]}")
            except Exception as e:  # timeouts, refusals, resets: the client only sees "no answer"
                rec.update(ok=False, error=f"{type(e).__name__}: {e}"[:120])
            out.write(json.dumps(rec) + "\n")
            time.sleep(max(0.0, interval - (time.time() - t)))


def read(url: str, numbers: list[int]) -> None:
    for n in numbers:
        try:
            with urllib.request.urlopen(f"{url}/records/{n}", timeout=2) as r:
                print(json.dumps({"n": n, "found": True, "value": r.read().decode()}))
        except urllib.error.HTTPError as e:
            print(json.dumps({"n": n, "found": False, "value": f"HTTP {e.code}"}))
        except Exception as e:
            print(json.dumps({"n": n, "found": None, "value": f"{type(e).__name__}: {e}"}))


def wait(url: str, seconds: float) -> int:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/", timeout=TIMEOUT) as r:
                print(r.read().decode())
                return 0
        except Exception:
            time.sleep(0.1)
    print(f"no answer from {url} in {seconds:g}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "wait":
        sys.exit(wait(sys.argv[2], float(sys.argv[3])))
    if sys.argv[1] == "write":
        interval = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--interval" else 0.05
        write(sys.argv[2], sys.argv[3], interval)
    else:
        nums = [int(x) for x in (sys.argv[3:] or sys.stdin.read().split())]
        read(sys.argv[2], nums)

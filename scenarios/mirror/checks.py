"""Judges of the mirror lab. Each one only reads: the mirror on the client, the origin's access log, wget's
output (kept in the history as the step's output), or what a headless browser on the offline viewer loaded.

A `Mirror` names one wget run: the folder it wrote (under /srv/mirror on the client) and its step record
(exit status, output, start and end). Trees are read with `find` and `head`, logs with `cat`, in one command
each, so unit tests replay them from canned text.

Which scenario shows each failing (expect="fail"):
- MirrorComplete → broken_origin (pages the origin answered 500 for are missing)
- MirrorInScope → scope (the same command with --span-hosts and a second domain)
- LinksRewrittenToLocal, LinksResolveOffline, BrowsesOffline → mirror_site (a mirror made without --convert-links)
- WaitBetweenRequests, RateLimited, QueryNamesRestricted → politeness (the careless mirror: no --wait, no
  --limit-rate, default file names)
- ServerErrorsExplained → broken_origin (exit status 8 with 500s besides the known 404)
- ServerErrorsFor → the unit tests (a mirror with no 500, one with only one of the paths, exit status 4)
- RerunFetchesNothingSaved → rerun_no_clobber (the runbook's second run fetches everything again)
- WarnsNoClobberIgnored → rerun_no_clobber (the run without --convert-links: --no-clobber is honoured, no warning)
- MirrorUpToDate → site_changed (a page removed, a page added, the home page changed)
- OriginSiteUnchanged (the invariant rehearsals watch) → site_changed (the site changed between two mirrors)
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from lab.checks import Check, CheckResult, Invariant
from lab.host import Reader
from lab.scenario import StepRecord
from lab.view import RunView
from scenarios.mirror.lab import MIRRORS

NO_CLOBBER_IGNORED = "Both --no-clobber and --convert-links were specified, only --convert-links will be used."
VIEWER_BASE = "http://localhost"  # the viewer's nginx serves /srv/mirror on its loopback
BROWSER_OWN = ("/favicon.ico",)  # requested by Chromium itself, not by any page
WGET_EXIT = {
    0: "no problems",
    1: "generic error",
    2: "parse error (options, .wgetrc)",
    3: "file I/O error",
    4: "network failure",
    5: "SSL verification failure",
    6: "username/password authentication failure",
    7: "protocol error",
    8: "server issued an error response",
}


@dataclass(frozen=True)
class Mirror:
    """One wget run: the folder under /srv/mirror it wrote into, and its step (None: not run)."""

    name: str
    step: StepRecord | None = None

    @property
    def path(self) -> str:
        return f"{MIRRORS}/{self.name}"

    @property
    def window(self) -> tuple[float, float]:
        if self.step is None:
            return (0.0, 0.0)
        return (self.step.started, self.step.started + self.step.duration_s)

    @property
    def output(self) -> str:
        return "" if self.step is None else self.step.stdout + self.step.stderr


# ------------------------------------------------------------------------------------------ reading


@dataclass
class Tree:
    """A mirror on disk: every file's size, and the text of its pages and stylesheets (paths relative)."""

    files: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def pages(self) -> list[str]:
        return sorted(p for p in self.files if p.endswith(".html"))


def read_tree(host: Reader, path: str) -> Tree:
    tree = Tree()
    out = host.check_output("find %s -type f -printf '%%P\\t%%s\\n'", path)
    for line in out.splitlines():
        name, _, size = line.rpartition("\t")
        if name:
            tree.files[name] = int(size or 0)
    if any(p.endswith((".html", ".css")) for p in tree.files):
        out = host.check_output(
            "find %s -type f \\( -name '*.html' -o -name '*.css' \\) -exec head -v -c 1000000 {} +", path
        )
        tree.texts = split_heads(out, path)
    return tree


def split_heads(text: str, root: str) -> dict[str, str]:
    """`head -v` output (`==> file <==` before each file) as {path relative to root: text}."""
    out: dict[str, str] = {}
    parts = re.split(r"(?m)^==> (.+) <==\n", text)
    for i in range(1, len(parts) - 1, 2):
        name = parts[i]
        body = parts[i + 1]
        if i + 2 < len(parts) and body.endswith("\n"):
            body = body[:-1]  # head's blank line before the next header
        out[posixpath.relpath(name, root)] = body
    return out


@dataclass(frozen=True)
class LogEntry:
    """One line of the origin's access log: end time, duration (both from nginx), status, bytes, client, URI."""

    end: float
    duration: float
    status: int
    size: int
    client: str
    host: str
    uri: str

    @property
    def start(self) -> float:
        return self.end - self.duration


LOG_LINE = re.compile(r'^(\d+\.\d+) (\d+\.\d+) (\d{3}) (\d+) (\S+) (\S+) "([^"]*)"')


def parse_access_log(text: str) -> list[LogEntry]:
    out = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m:
            end, dur, status, size, client, host, uri = m.groups()
            out.append(LogEntry(float(end), float(dur), int(status), int(size), client, host, uri))
    return out


def requests_of(run: RunView, mirror: Mirror, host: str = "origin") -> list[LogEntry]:
    """The client's requests to `host` during the mirror's wget run, in order."""
    t0, t1 = mirror.window
    entries = parse_access_log(run.host(host).read_file("/var/log/nginx/access.log"))
    client = run.facts["client_ip"]
    # nginx logs a request when it ends; the step's window holds the whole wget run (docker exec wraps it)
    return [e for e in entries if e.client == client and t0 <= e.end <= t1 + 0.2]


class LinkParser(HTMLParser):
    """Links and requisites of a page: href of a and link, src of img, script, iframe..., url() in styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (kind, url): kind is "link" or "requisite"
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(("link", a["href"]))
        elif tag == "link" and a.get("href"):
            self.links.append(("requisite", a["href"]))
        for attr in ("src",):
            if a.get(attr) and tag in ("img", "script", "iframe", "embed", "source", "audio", "video", "input"):
                self.links.append(("requisite", a[attr]))
        if a.get("style"):
            self.links += [("requisite", u) for u in css_urls(a["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.links += [("requisite", u) for u in css_urls(data)]


CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(css)]


def links_of(path: str, text: str) -> list[tuple[str, str]]:
    if path.endswith(".css"):
        return [("requisite", u) for u in css_urls(text)]
    p = LinkParser()
    p.feed(text)
    return p.links


@dataclass(frozen=True)
class Link:
    page: str  # the saved file the link is in
    kind: str  # link | requisite
    url: str  # as written in the file
    target: str | None  # the local file it resolves to (relative links), None for absolute ones
    copy: str | None  # the local copy of what it points at, when the mirror has one
    remote: bool  # written as an absolute URL (http://..., //host/...)
    rooted: bool  # written as /path: on disk or on another server that is not the site's root


def local_names(host: str, path: str, query: str) -> list[str]:
    """Where wget (-E, --restrict-file-names=windows) would have saved http://host/path?query."""
    name = posixpath.normpath(host + "/" + unquote(path).lstrip("/")) if path not in ("", "/") else host
    if path.endswith("/") or path in ("", "/"):
        name += "/index.html"
    if not query:
        return [name, name + ".html"]
    # `?` is `@` with --restrict-file-names=windows, kept as is without it (unix, wget's default here)
    return [name + "@" + query, name + "@" + query + ".html", name + "?" + query, name + "?" + query + ".html"]


def classify(tree: Tree) -> list[Link]:
    out = []
    for page, text in sorted(tree.texts.items()):
        site = page.split("/", 1)[0]
        for kind, url in links_of(page, text):
            if url.startswith(("#", "mailto:", "javascript:", "data:", "tel:")):
                continue
            u = urlsplit(url)
            if u.scheme or u.netloc:
                copy = next((n for n in local_names(u.netloc, u.path, u.query) if n in tree.files), None)
                out.append(Link(page, kind, url, None, copy, True, False))
            elif url.startswith("/"):
                copy = next((n for n in local_names(site, u.path, u.query) if n in tree.files), None)
                out.append(Link(page, kind, url, None, copy, False, True))
            else:
                rel = unquote(u.path)
                target = posixpath.normpath(posixpath.join(posixpath.dirname(page), rel)) if rel else page
                if rel.endswith("/"):
                    target += "/index.html"
                out.append(Link(page, kind, url, target, target if target in tree.files else None, False, False))
    return out


# ------------------------------------------------------------------------------------------ checks


class MirrorComplete(Check):
    """Every page and requisite the site should give the mirror is on disk (paths relative to the folder)."""

    def __init__(self, mirror: Mirror, expected: frozenset[str]) -> None:
        self.mirror = mirror
        self.expected = expected

    def evaluate(self, run: RunView) -> CheckResult:
        tree = read_tree(run.host("client"), self.mirror.path)
        missing = sorted(self.expected - set(tree.files))
        pages = [p for p in tree.files if p.endswith(".html")]
        return self.result(
            not missing,
            f"{len(self.expected) - len(missing)} of {len(self.expected)} expected files saved"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + f" ({len(pages)} pages, {len(tree.files) - len(pages)} other files)",
            missing=missing,
            saved=sorted(tree.files),
        )


class MirrorInScope(Check):
    """Nothing from another domain, no page above the start path, nothing robots.txt forbids.

    Requisites (images, styles, scripts) of the origin outside the start path are in scope: wget's
    --page-requisites deliberately ignores --no-parent for them.
    """

    def __init__(self, mirror: Mirror, site: str, under: str = "", disallowed: tuple[str, ...] = ("admin/",)):
        self.mirror = mirror
        self.site = site
        self.under = under
        self.disallowed = disallowed

    def evaluate(self, run: RunView) -> CheckResult:
        tree = read_tree(run.host("client"), self.mirror.path)
        if not tree.files:
            return self.unknown(f"no mirror in {self.mirror.path}")
        prefix = self.site + "/"
        other = sorted(f for f in tree.files if not f.startswith(prefix))
        inside = [f[len(prefix) :] for f in tree.files if f.startswith(prefix)]
        above = sorted(f for f in inside if f.endswith(".html") and not f.startswith(self.under))
        forbidden = sorted(f for f in inside if f.startswith(self.disallowed))
        bad = other + [prefix + f for f in above + forbidden]
        parts = []
        if other:
            parts.append(f"from other domains: {', '.join(other)}")
        if above:
            parts.append(f"pages above /{self.under}: {', '.join(above)}")
        if forbidden:
            parts.append(f"disallowed by robots.txt: {', '.join(forbidden)}")
        return self.result(
            not bad,
            "; ".join(parts)
            if bad
            else f"all {len(tree.files)} files are {self.site}'s, under /{self.under} or requisites, none disallowed",
            out_of_scope=bad,
        )


class LinksRewrittenToLocal(Check):
    """Every link whose target the mirror holds points at the local copy, relatively (--convert-links)."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror

    def evaluate(self, run: RunView) -> CheckResult:
        tree = read_tree(run.host("client"), self.mirror.path)
        links = classify(tree)
        if not links:
            return self.unknown(f"no links found in {self.mirror.path}")
        bad = [lk for lk in links if lk.copy and (lk.remote or lk.rooted)]
        detail = (
            f"{len(bad)} of {len(links)} links still point at the server though a local copy exists, e.g. "
            + "; ".join(f"{lk.page}: {lk.url} (local copy {lk.copy})" for lk in bad[:4])
            if bad
            else f"all {sum(1 for lk in links if lk.copy)} links with a local copy point at it "
            f"({len(links)} links in {len(tree.texts)} pages and stylesheets)"
        )
        return self.result(not bad, detail, not_rewritten=[(lk.page, lk.url, lk.copy) for lk in bad])


class LinksResolveOffline(Check):
    """Every link and requisite written as a local reference resolves to a file of the mirror.

    Absolute links to what the mirror does not hold (another domain, a 404, robots.txt's exclusions) are
    listed as left online; they cannot resolve offline by design of the command.
    """

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror

    def evaluate(self, run: RunView) -> CheckResult:
        tree = read_tree(run.host("client"), self.mirror.path)
        links = classify(tree)
        if not links:
            return self.unknown(f"no links found in {self.mirror.path}")
        broken = [lk for lk in links if not lk.remote and (lk.rooted or lk.target not in tree.files)]
        online = sorted({lk.url for lk in links if lk.remote and not lk.copy})
        detail = (
            f"{len(broken)} broken local links of {len(links)}, e.g. "
            + "; ".join(f"{lk.page}: {lk.url}" for lk in broken[:4])
            if broken
            else f"all {len(links) - len([lk for lk in links if lk.remote])} local links resolve"
        )
        return self.result(
            not broken,
            detail + (f"; left online: {', '.join(online)}" if online else ""),
            broken=[(lk.page, lk.url) for lk in broken],
            left_online=online,
            links=len(links),
        )


def browse(viewer: Reader, urls: list[str]) -> list[dict[str, Any]]:
    out = viewer.check_output("opslab-browse " + " ".join(shlex.quote(u) for u in urls))
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


class BrowsesOffline(Check):
    """Headless Chromium on the viewer (no network) loads every page of the mirror with no failed request.

    Requests to hosts in `offsite` (requisites the command leaves on another domain by design) are listed,
    not counted; any request for the origin itself means a link was not made local.
    """

    def __init__(self, mirror: Mirror, site: str, offsite: tuple[str, ...] = ()) -> None:
        self.mirror = mirror
        self.site = site
        self.offsite = offsite

    def evaluate(self, run: RunView) -> CheckResult:
        tree = read_tree(run.host("client"), self.mirror.path)
        pages = [p for p in tree.pages() if p.startswith(self.site + "/")]
        if not pages:
            return self.unknown(f"no pages of {self.site} in {self.mirror.path}")
        base = f"{VIEWER_BASE}/{self.mirror.name}/"
        urls = {base + quote(p): p for p in pages}
        loads = browse(run.host("viewer"), list(urls))
        failed: list[str] = []
        offsite: set[str] = set()
        requests = 0
        for load in loads:
            page = urls.get(str(load["page"]), str(load["page"]))
            if not load.get("loaded"):
                failed.append(f"{page}: did not load")
            for r in load.get("requests", []):
                u = urlsplit(r["url"])
                if u.hostname == "localhost" and u.path in BROWSER_OWN:
                    continue
                requests += 1
                ok = r.get("error") is None and r.get("status") is not None and int(r["status"]) < 400
                if u.hostname in self.offsite:
                    offsite.add(r["url"])
                elif not ok:
                    why = r.get("error") or f"HTTP {r.get('status')}"
                    failed.append(f"{page}: {r['url']} ({why})")
        unseen = sorted(set(pages) - {urls.get(str(x["page"])) for x in loads})
        failed += [f"{p}: not reported by the browser" for p in unseen]
        detail = (
            f"{len(failed)} failed loads in {len(pages)} pages, e.g. {'; '.join(failed[:4])}"
            if failed
            else f"{len(pages)} pages, {requests} requests, none failed"
        )
        if offsite:
            detail += f"; left on other domains (not mirrored by design): {', '.join(sorted(offsite))}"
        return self.result(not failed, detail, failed=failed, offsite=sorted(offsite), pages=len(pages))


class WaitBetweenRequests(Check):
    """The origin saw at least `wait_s` (less 10 %: ms resolution, clocks) between consecutive requests."""

    def __init__(self, mirror: Mirror, wait_s: float) -> None:
        self.mirror = mirror
        self.wait_s = wait_s

    def evaluate(self, run: RunView) -> CheckResult:
        reqs = requests_of(run, self.mirror)
        if len(reqs) < 2:
            return self.unknown(f"{len(reqs)} requests in the origin's log during the run")
        gaps = [round(b.start - a.end, 3) for a, b in zip(reqs, reqs[1:], strict=False)]
        short = [(b.uri, g) for (b, g) in zip(reqs[1:], gaps, strict=True) if g < 0.9 * self.wait_s]
        median = sorted(gaps)[len(gaps) // 2]
        return self.result(
            not short,
            f"{len(reqs)} requests; gaps min {min(gaps):.3f}s, median {median:.3f}s (wait {self.wait_s:g}s)"
            + (f"; {len(short)} shorter, e.g. before {short[0][0]}: {short[0][1]:.3f}s" if short else ""),
            gaps=gaps,
            short=short,
        )


class RateLimited(Check):
    """The large file took at least (size − socket buffers) / rate at the origin: --limit-rate held."""

    # What may be on its way when nginx writes the last byte: its send buffer (sndbuf=16k, doubled by the kernel),
    # the client's receive buffer (tcp_rmem max 16k) and wget's first, unthrottled read; seen: about 60 KiB.
    BUFFERS = 128 * 1024

    def __init__(self, mirror: Mirror, path: str, rate_bytes: float) -> None:
        self.mirror = mirror
        self.path = path
        self.rate_bytes = rate_bytes

    def evaluate(self, run: RunView) -> CheckResult:
        hits = [e for e in requests_of(run, self.mirror) if e.uri == self.path and e.status == 200]
        if not hits:
            return self.unknown(f"{self.path} was not fetched during the run")
        e = hits[-1]
        least = max(e.size - self.BUFFERS, 0) / self.rate_bytes
        rate = e.size / e.duration if e.duration else float("inf")
        return self.result(
            e.duration >= least,
            f"{self.path}: {e.size} bytes in {e.duration:.3f}s at the origin ({rate / 1024:.0f} KiB/s); "
            f"the limit {self.rate_bytes / 1024:g} KiB/s allows no less than {least:.3f}s",
            duration_s=e.duration,
            bytes=e.size,
            least_s=round(least, 3),
        )


class QueryNamesRestricted(Check):
    """Pages fetched with a query string are saved with `@` for `?` (--restrict-file-names=windows)."""

    def __init__(self, mirror: Mirror, site: str) -> None:
        self.mirror = mirror
        self.site = site

    def evaluate(self, run: RunView) -> CheckResult:
        queried = sorted({e.uri for e in requests_of(run, self.mirror) if "?" in e.uri and e.status == 200})
        tree = read_tree(run.host("client"), self.mirror.path)
        if not queried:
            return self.unknown("no URL with a query string was fetched")
        with_q = sorted(f for f in tree.files if "?" in f)
        missing = []
        for uri in queried:
            u = urlsplit(uri)
            if not any(n in tree.files for n in local_names(self.site, u.path, u.query)):
                missing.append(uri)
        bad = with_q or missing
        return self.result(
            not bad,
            "; ".join(
                ([f"saved with '?': {', '.join(with_q)}"] if with_q else [])
                + ([f"no '@' file for {', '.join(missing)}"] if missing else [])
            )
            if bad
            else f"{len(queried)} URLs with '?' saved as "
            + ", ".join(
                next(n for n in local_names(self.site, urlsplit(q).path, urlsplit(q).query) if n in tree.files)
                for q in queried
            ),
            with_question_mark=with_q,
            missing=missing,
        )


ERROR_LINE = re.compile(r"ERROR (\d{3}): (.*)$")
URL_LINE = re.compile(r"^--\d{4}-\d\d-\d\d \d\d:\d\d:\d\d--\s+(\S+)")


def server_errors(output: str) -> list[tuple[str, int, str]]:
    """(url, status, reason) for every `ERROR nnn` wget printed, paired with the URL it was fetching."""
    current = ""
    out = []
    for line in output.splitlines():
        m = URL_LINE.match(line)
        if m:
            current = m.group(1)
            continue
        m = ERROR_LINE.search(line)
        if m:
            out.append((current, int(m.group(1)), m.group(2).rstrip(".")))
    return out


class ServerErrorsExplained(Check):
    """wget's exit status is 0, or 8 only because of the site's known broken links (`known` paths)."""

    def __init__(self, mirror: Mirror, known: tuple[str, ...] = ()) -> None:
        self.mirror = mirror
        self.known = known

    def evaluate(self, run: RunView) -> CheckResult:
        if self.mirror.step is None:
            return self.unknown("wget did not run")
        rc = self.mirror.step.rc
        errors = server_errors(self.mirror.output)
        unexpected = [(u, s, r) for (u, s, r) in errors if urlsplit(u).path not in self.known]
        meaning = WGET_EXIT.get(rc, "unknown status")
        listed = ", ".join(f"{s} {urlsplit(u).path or u}" for u, s, _ in errors)
        ok = rc == 0 or (rc == 8 and errors and not unexpected)
        why = f"exit status {rc} ({meaning})" + (f": {listed}" if listed else "")
        if unexpected:
            why += f"; not known as broken: {', '.join(f'{s} {urlsplit(u).path}' for u, s, _ in unexpected)}"
        elif errors:
            why += " — known broken links only"
        return self.result(bool(ok), why, rc=rc, meaning=meaning, errors=errors, unexpected=unexpected)


class ServerErrorsFor(Check):
    """wget exited 8 (a server error) and printed `ERROR <status>` for each of `paths`: the server errors a
    scenario causes on purpose, each named by wget's own line, so that "the mirror failed" is not enough."""

    def __init__(self, mirror: Mirror, paths: tuple[str, ...], status: int = 500) -> None:
        self.mirror = mirror
        self.paths = paths
        self.status = status

    def evaluate(self, run: RunView) -> CheckResult:
        if self.mirror.step is None:
            return self.unknown("wget did not run")
        rc = self.mirror.step.rc
        errors = server_errors(self.mirror.output)
        seen = {urlsplit(u).path: f"ERROR {s} {r}" for u, s, r in errors if s == self.status}
        missing = [p for p in self.paths if p not in seen]
        why = f"wget exit status {rc} ({WGET_EXIT.get(rc, 'unknown status')})"
        named = ", ".join(f"{p}: {seen[p]}" for p in self.paths if p in seen)
        detail = why + (f"; {named}" if named else "")
        if missing:
            detail += f"; no ERROR {self.status} for {', '.join(missing)}"
        if rc != 8:
            detail += " (expected exit status 8)"
        return self.result(rc == 8 and not missing, detail, rc=rc, seen=seen, missing=missing)


class RerunFetchesNothingSaved(Check):
    """A second run into the same folder fetched nothing that was already saved (no 200 at the origin)."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror

    def evaluate(self, run: RunView) -> CheckResult:
        reqs = requests_of(run, self.mirror)
        if not reqs:
            return self.unknown("no request reached the origin during the run")
        fetched = [e.uri for e in reqs if e.status == 200]
        return self.result(
            not fetched,
            f"{len(fetched)} of {len(reqs)} requests fetched again: {', '.join(fetched)}"
            if fetched
            else f"{len(reqs)} requests, none fetched a file again ("
            + ", ".join(f"{e.status} {e.uri}" for e in reqs)
            + ")",
            fetched=fetched,
            requests=len(reqs),
        )


class WarnsNoClobberIgnored(Check):
    """wget said that --no-clobber is ignored because --convert-links is given."""

    def __init__(self, mirror: Mirror) -> None:
        self.mirror = mirror

    def evaluate(self, run: RunView) -> CheckResult:
        if self.mirror.step is None:
            return self.unknown("wget did not run")
        said = NO_CLOBBER_IGNORED in self.mirror.output
        return self.result(
            said,
            f"wget said: {NO_CLOBBER_IGNORED}" if said else "wget did not warn: --no-clobber was in effect",
        )


def checksums(host: Reader, path: str) -> dict[str, str]:
    out = host.check_output("cd %s && find . -type f -exec md5sum {} +", path)
    sums = {}
    for line in out.splitlines():
        digest, _, name = line.partition("  ")
        if name:
            sums[name.removeprefix("./")] = digest
    return sums


class MirrorUpToDate(Check):
    """The old mirror holds the same files, with the same content, as a fresh mirror of the site."""

    def __init__(self, old: Mirror, fresh: Mirror) -> None:
        self.old = old
        self.fresh = fresh

    def evaluate(self, run: RunView) -> CheckResult:
        client = run.host("client")
        a, b = checksums(client, self.old.path), checksums(client, self.fresh.path)
        if not b:
            return self.unknown(f"no fresh mirror in {self.fresh.path}")
        stale = sorted(set(a) - set(b))
        missing = sorted(set(b) - set(a))
        changed = sorted(f for f in set(a) & set(b) if a[f] != b[f])
        parts = []
        if stale:
            parts.append(f"gone from the site: {', '.join(stale)}")
        if missing:
            parts.append(f"new on the site: {', '.join(missing)}")
        if changed:
            parts.append(f"changed: {', '.join(changed)}")
        return self.result(
            not parts,
            "old mirror is stale — " + "; ".join(parts) if parts else f"all {len(b)} files match",
            stale=stale,
            missing=missing,
            changed=changed,
        )


SITE_ROOT = "/srv/www"  # the origin's document root


class OriginSiteUnchanged(Invariant):
    """Mirroring only reads the origin: its site holds the same files, with the same content, as when the watch
    began (the first sample is the reference)."""

    def __init__(self) -> None:
        self.reference: dict[str, str] | None = None

    def evaluate(self, run: RunView) -> CheckResult:
        now = checksums(run.host("origin"), SITE_ROOT)
        if self.reference is None:
            self.reference = now
        ref = self.reference
        gone, new = sorted(set(ref) - set(now)), sorted(set(now) - set(ref))
        changed = sorted(f for f in set(ref) & set(now) if ref[f] != now[f])
        parts = [
            f"{what}: {', '.join(names)}"
            for what, names in (("gone", gone), ("new", new), ("changed", changed))
            if names
        ]
        return self.result(
            not parts,
            f"origin {SITE_ROOT}: " + ("; ".join(parts) if parts else f"all {len(ref)} files as they were"),
            gone=gone,
            new=new,
            changed=changed,
        )

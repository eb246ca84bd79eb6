"""The mirror lab's judges on canned data: each one shown passing and failing, no Docker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.checks import Verdict
from lab.scenario import ScenarioRun, StepRecord
from scenarios.mirror.checks import (
    NO_CLOBBER_IGNORED,
    BrowsesOffline,
    LinksResolveOffline,
    LinksRewrittenToLocal,
    Mirror,
    MirrorComplete,
    MirrorInScope,
    MirrorUpToDate,
    QueryNamesRestricted,
    RateLimited,
    RerunFetchesNothingSaved,
    ServerErrorsExplained,
    ServerErrorsFor,
    WaitBetweenRequests,
    WarnsNoClobberIgnored,
    local_names,
    parse_access_log,
    server_errors,
    split_heads,
)
from scenarios.mirror.lab import rate_bytes
from scenarios.mirror.site import KNOWN_BROKEN, WHOLE_SITE

CLIENT = "10.9.0.20"
T0 = 1_700_000_000.0

CONVERTED = {
    "example.org/index.html": '<link rel="stylesheet" href="css/site.css"><script src="js/app.js"></script>'
    '<img src="img/logo.png"><img src="http://cdn.example.net/banner.png">'
    '<a href="about.html">a</a><a href="page.php@id=3.html">p</a><a href="docs/index.html">d</a>'
    '<a href="http://example.org/missing.html">gone</a><a href="#top">top</a>',
    "example.org/about.html": '<link rel="stylesheet" href="css/site.css"><a href="index.html">home</a>',
    "example.org/page.php@id=3.html": '<img src="img/logo.png"><a href="index.html">home</a>',
    "example.org/docs/index.html": '<style>h1 { background: url("../img/logo.png") }</style>'
    '<a href="../about.html">about</a>',
    "example.org/css/site.css": "body { background: url(../img/logo.png) }",
}
RAW = {  # the same site saved without --convert-links
    "example.org/index.html": '<link rel="stylesheet" href="/css/site.css"><img src="/img/logo.png">'
    '<a href="/about">a</a><a href="/page.php?id=3">p</a><a href="http://example.org/docs/">d</a>',
    "example.org/about.html": '<a href="/">home</a>',
    "example.org/css/site.css": "body { background: url('/img/logo.png') }",
}
FILES = ["example.org/js/app.js", "example.org/img/logo.png"]


def tree_replies(texts: dict[str, str], files: list[str], root: str = "/srv/mirror/runbook") -> dict[str, Any]:
    listing = "".join(f"{p}\t{len(t)}\n" for p, t in texts.items()) + "".join(f"{p}\t10\n" for p in files)
    heads = "\n".join(f"==> {root}/{p} <==\n{t}\n" for p, t in texts.items())
    return {"-printf": (0, listing), "head -v": (0, heads)}


def log_line(end: float, dur: float, uri: str, status: int = 200, size: int = 100, client: str = CLIENT) -> str:
    return f'{end:.3f} {dur:.3f} {status} {size} {client} example.org "{uri}" "Wget/1.21.3"'


def step(rc: int = 0, out: str = "", start: float = T0, duration: float = 30.0) -> StepRecord:
    return StepRecord("client", "wget ...", "mirror", rc, True, start, duration, "", out)


@pytest.fixture
def lab(fake_lab: Any) -> Any:
    """The fake lab, with the mirror lab's origin and viewer, and the client's address as a fact."""
    for name in ("origin", "viewer"):
        fake_lab.add_host(name)
    fake_lab._facts["client_ip"] = CLIENT
    return fake_lab


@pytest.fixture
def run(lab: Any) -> ScenarioRun:
    return ScenarioRun("mirror/x", lab)


def test_parsers() -> None:
    heads = "==> /m/a/x.html <==\n<p>x</p>\n\n==> /m/a/y.css <==\nbody {}\n"
    assert split_heads(heads, "/m") == {"a/x.html": "<p>x</p>\n", "a/y.css": "body {}\n"}
    [e] = parse_access_log(log_line(T0 + 2, 1.5, "/page.php?id=3") + "\ngarbage\n")
    assert (e.start, e.uri, e.status) == (T0 + 0.5, "/page.php?id=3", 200)
    out = (
        "--2026-11-28 20:48:40--  http://example.org/missing.html\nReusing existing connection\n"
        "HTTP request sent, awaiting response... 404 Not Found\n2026-11-28 20:48:40 ERROR 404: Not Found.\n"
    )
    assert server_errors(out) == [("http://example.org/missing.html", 404, "Not Found")]
    assert local_names("example.org", "/page.php", "id=3")[:2] == [
        "example.org/page.php@id=3",
        "example.org/page.php@id=3.html",
    ]
    assert local_names("example.org", "/docs/", "") == [
        "example.org/docs/index.html",
        "example.org/docs/index.html.html",
    ]
    assert rate_bytes("500K") == 512000 and rate_bytes("2m") == 2 * 1024 * 1024 and rate_bytes("100") == 100


def test_mirror_complete(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook")
    lab.transports["client"].replies.update(
        tree_replies({p: "" for p in WHOLE_SITE if p.endswith(".x")}, sorted(WHOLE_SITE))
    )
    assert MirrorComplete(m, WHOLE_SITE).evaluate(run.view).verdict == Verdict.PASS
    lab.transports["client"].replies.update(tree_replies({}, sorted(WHOLE_SITE - {"example.org/about.html"})))
    r = MirrorComplete(m, WHOLE_SITE).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "example.org/about.html" in r.detail


def test_mirror_in_scope(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("section")
    files = ["example.org/docs/index.html", "example.org/css/site.css", "example.org/robots.txt"]
    lab.transports["client"].replies.update(tree_replies({}, files))
    assert MirrorInScope(m, "example.org", under="docs/").evaluate(run.view).verdict == Verdict.PASS
    lab.transports["client"].replies.update(tree_replies({}, [*files, "example.org/private/notes.html"]))
    r = MirrorInScope(m, "example.org", under="docs/").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "above /docs/: private/notes.html" in r.detail
    lab.transports["client"].replies.update(tree_replies({}, [*files, "cdn.example.net/banner.png"]))
    assert MirrorInScope(m, "example.org").evaluate(run.view).verdict == Verdict.FAIL
    lab.transports["client"].replies.update(tree_replies({}, [*files, "example.org/admin/index.html"]))
    r = MirrorInScope(m, "example.org").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "robots.txt" in r.detail
    lab.transports["client"].replies.update(tree_replies({}, []))
    assert MirrorInScope(m, "example.org").evaluate(run.view).verdict == Verdict.UNKNOWN


def test_links_rewritten_and_resolving(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook")
    lab.transports["client"].replies.update(tree_replies(CONVERTED, FILES))
    assert LinksRewrittenToLocal(m).evaluate(run.view).verdict == Verdict.PASS
    r = LinksResolveOffline(m).evaluate(run.view)
    assert r.verdict == Verdict.PASS
    assert r.evidence["left_online"] == ["http://cdn.example.net/banner.png", "http://example.org/missing.html"]
    lab.transports["client"].replies.update(tree_replies(RAW, ["example.org/page.php@id=3.html", *FILES]))
    r = LinksRewrittenToLocal(m).evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert ("example.org/index.html", "http://example.org/docs/", None) not in r.evidence["not_rewritten"]
    assert ("example.org/index.html", "/about", "example.org/about.html") in r.evidence["not_rewritten"]
    r = LinksResolveOffline(m).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and ("example.org/about.html", "/") in r.evidence["broken"]
    lab.transports["client"].replies.update(tree_replies({"example.org/a.html": "<p>no links</p>"}, []))
    assert LinksResolveOffline(m).evaluate(run.view).verdict == Verdict.UNKNOWN


def browser_line(page: str, *requests: tuple[str, int | None, str | None]) -> str:
    reqs = [{"url": u, "status": s, "error": e} for u, s, e in requests]
    return json.dumps({"page": f"http://localhost/runbook/{page}", "loaded": True, "requests": reqs})


def test_browses_offline(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook")
    lab.transports["client"].replies.update(
        tree_replies({"example.org/index.html": "", "example.org/about.html": ""}, [])
    )
    base = "http://localhost/runbook/example.org/"
    good = "\n".join(
        [
            browser_line(
                "example.org/about.html", (base + "about.html", 200, None), ("http://localhost/favicon.ico", 404, None)
            ),
            browser_line(
                "example.org/index.html",
                (base + "index.html", 200, None),
                ("http://cdn.example.net/banner.png", None, "net::ERR_INTERNET_DISCONNECTED"),
            ),
        ]
    )
    lab.transports["viewer"].replies["opslab-browse"] = (0, good)
    r = BrowsesOffline(m, "example.org", offsite=("cdn.example.net",)).evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["offsite"] == ["http://cdn.example.net/banner.png"]
    assert BrowsesOffline(m, "example.org").evaluate(run.view).verdict == Verdict.FAIL  # cdn not declared offsite
    bad = browser_line(
        "example.org/index.html", (base + "index.html", 200, None), ("http://localhost/css/site.css", 404, None)
    )
    lab.transports["viewer"].replies["opslab-browse"] = (0, bad)
    r = BrowsesOffline(m, "example.org").evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert "http://localhost/css/site.css (HTTP 404)" in r.detail and "about.html: not reported" in r.detail


def test_wait_between_requests(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook", step(start=T0, duration=10))
    polite = [log_line(T0 + 1 + i * 1.01, 0.0, f"/p{i}") for i in range(5)]
    other = log_line(T0 + 1.5, 0.0, "/from-elsewhere", client="127.0.0.1")
    before = log_line(T0 - 0.3, 0.0, "/previous-run")
    lab.transports["origin"].replies["access.log"] = (0, "\n".join([before, *polite, other]) + "\n")
    r = WaitBetweenRequests(m, 1.0).evaluate(run.view)
    assert r.verdict == Verdict.PASS and len(r.evidence["gaps"]) == 4
    hasty = [log_line(T0 + 1 + i * 0.01, 0.0, f"/p{i}") for i in range(5)]
    lab.transports["origin"].replies["access.log"] = (0, "\n".join(hasty))
    assert WaitBetweenRequests(m, 1.0).evaluate(run.view).verdict == Verdict.FAIL
    lab.transports["origin"].replies["access.log"] = (0, hasty[0])
    assert WaitBetweenRequests(m, 1.0).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_rate_limited(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook", step(start=T0, duration=10))
    size = 1024 * 1024
    lab.transports["origin"].replies["access.log"] = (0, log_line(T0 + 3, 1.9, "/files/big.bin", size=size))
    r = RateLimited(m, "/files/big.bin", 500 * 1024).evaluate(run.view)
    assert r.verdict == Verdict.PASS and r.evidence["least_s"] == pytest.approx(1.792)
    lab.transports["origin"].replies["access.log"] = (0, log_line(T0 + 3, 0.12, "/files/big.bin", size=size))
    assert RateLimited(m, "/files/big.bin", 500 * 1024).evaluate(run.view).verdict == Verdict.FAIL
    lab.transports["origin"].replies["access.log"] = (0, log_line(T0 + 3, 0.12, "/other", size=size))
    assert RateLimited(m, "/files/big.bin", 500 * 1024).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_query_names_restricted(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook", step(start=T0, duration=10))
    lab.transports["origin"].replies["access.log"] = (0, log_line(T0 + 1, 0.0, "/page.php?id=3"))
    lab.transports["client"].replies.update(tree_replies({}, ["example.org/page.php@id=3.html"]))
    assert QueryNamesRestricted(m, "example.org").evaluate(run.view).verdict == Verdict.PASS
    lab.transports["client"].replies.update(tree_replies({}, ["example.org/page.php?id=3.html"]))
    r = QueryNamesRestricted(m, "example.org").evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["with_question_mark"] == ["example.org/page.php?id=3.html"]


def test_server_errors_explained(run: ScenarioRun) -> None:
    e404 = "--2026-11-28 20:48:40--  http://example.org/missing.html\nERROR 404: Not Found.\n"
    e500 = "--2026-11-28 20:48:41--  http://example.org/docs/\nERROR 500: Internal Server Error.\n"
    r = ServerErrorsExplained(Mirror("runbook", step(8, e404)), KNOWN_BROKEN).evaluate(run.view)
    assert r.verdict == Verdict.PASS and "server issued an error response" in r.detail
    r = ServerErrorsExplained(Mirror("runbook", step(8, e404 + e500)), KNOWN_BROKEN).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "not known as broken: 500 /docs/" in r.detail
    assert ServerErrorsExplained(Mirror("runbook", step(0)), KNOWN_BROKEN).evaluate(run.view).verdict == Verdict.PASS
    assert ServerErrorsExplained(Mirror("runbook", step(4)), KNOWN_BROKEN).evaluate(run.view).verdict == Verdict.FAIL
    assert ServerErrorsExplained(Mirror("runbook"), KNOWN_BROKEN).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_server_errors_for_names_each_path_wget_got_a_500_for(run: ScenarioRun) -> None:
    e500 = "--2026-11-28 20:48:41--  http://example.org/docs/\nERROR 500: Internal Server Error.\n"
    e500b = "--2026-11-28 20:48:42--  http://example.org/about\nERROR 500: Internal Server Error.\n"
    e404 = "--2026-11-28 20:48:40--  http://example.org/missing.html\nERROR 404: Not Found.\n"
    paths = ("/docs/", "/about")
    r = ServerErrorsFor(Mirror("runbook", step(8, e404 + e500 + e500b)), paths).evaluate(run.view)
    assert r.verdict == Verdict.PASS and "/docs/: ERROR 500 Internal Server Error" in r.detail
    r = ServerErrorsFor(Mirror("runbook", step(8, e404 + e500)), paths).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and "no ERROR 500 for /about" in r.detail
    r = ServerErrorsFor(Mirror("runbook", step(8, e404)), paths).evaluate(run.view)  # the origin was not broken
    assert r.verdict == Verdict.FAIL and r.evidence["missing"] == list(paths)
    r = ServerErrorsFor(Mirror("runbook", step(4, "")), paths).evaluate(run.view)  # no server at all: another failure
    assert r.verdict == Verdict.FAIL and "(expected exit status 8)" in r.detail
    assert ServerErrorsFor(Mirror("runbook"), paths).evaluate(run.view).verdict == Verdict.UNKNOWN


def test_rerun_and_no_clobber_warning(lab: Any, run: ScenarioRun) -> None:
    m = Mirror("runbook", step(8, NO_CLOBBER_IGNORED + "\n", start=T0, duration=10))
    refetch = [log_line(T0 + 1, 0.0, "/"), log_line(T0 + 2, 0.0, "/about"), log_line(T0 + 3, 0.0, "/missing.html", 404)]
    lab.transports["origin"].replies["access.log"] = (0, "\n".join(refetch))
    r = RerunFetchesNothingSaved(m).evaluate(run.view)
    assert r.verdict == Verdict.FAIL and r.evidence["fetched"] == ["/", "/about"]
    lab.transports["origin"].replies["access.log"] = (0, refetch[2])
    assert RerunFetchesNothingSaved(m).evaluate(run.view).verdict == Verdict.PASS
    assert WarnsNoClobberIgnored(m).evaluate(run.view).verdict == Verdict.PASS
    quiet = Mirror("runbook", step(8, "File 'example.org/index.html' already there; not retrieving.\n"))
    assert WarnsNoClobberIgnored(quiet).evaluate(run.view).verdict == Verdict.FAIL


def test_mirror_up_to_date(lab: Any, run: ScenarioRun) -> None:
    sums = {
        "/srv/mirror/runbook": "aaa  ./example.org/index.html\nbbb  ./example.org/private/notes.html\n",
        "/srv/mirror/fresh": "ccc  ./example.org/index.html\nddd  ./example.org/news.html\n",
    }

    def md5(command: str) -> tuple[int, str]:
        return 0, next(v for k, v in sums.items() if k in command)

    lab.transports["client"].replies["md5sum"] = md5
    r = MirrorUpToDate(Mirror("runbook"), Mirror("fresh")).evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert (r.evidence["stale"], r.evidence["missing"], r.evidence["changed"]) == (
        ["example.org/private/notes.html"],
        ["example.org/news.html"],
        ["example.org/index.html"],
    )
    sums["/srv/mirror/fresh"] = sums["/srv/mirror/runbook"]
    assert MirrorUpToDate(Mirror("runbook"), Mirror("fresh")).evaluate(run.view).verdict == Verdict.PASS


def test_origin_site_unchanged_compares_with_its_first_sample(lab: Any, run: ScenarioRun) -> None:
    from scenarios.mirror.checks import OriginSiteUnchanged

    site = {"text": "aaa  ./index.html\nbbb  ./private/notes.html\n"}
    lab.transports["origin"].replies["md5sum"] = lambda command: (0, site["text"])
    inv = OriginSiteUnchanged()
    assert inv.evaluate(run.view).verdict == Verdict.PASS and inv.evaluate(run.view).verdict == Verdict.PASS
    site["text"] = "abc  ./index.html\nccc  ./news.html\n"
    r = inv.evaluate(run.view)
    assert r.verdict == Verdict.FAIL
    assert r.detail == "origin /srv/www: gone: private/notes.html; new: news.html; changed: index.html"

"""Scenarios of the mirror lab: a web site mirrored with wget for offline use (see LABS.md, mirror).

Every scenario runs the runbook's command on the client (`run.procedure("mirror_site")`), then judges the
mirror on disk, the origin's access log, wget's output and what a headless Chromium on the offline viewer
loads. The scenarios that only compare mirrors run with a shorter `--wait` (a lab parameter) to stay quick;
`mirror_site` and `politeness` keep the runbook's one second.
"""

from __future__ import annotations

import pytest

from lab.procedure import Step
from lab.scenario import ScenarioRun
from scenarios.mirror import procedures as P
from scenarios.mirror.checks import (
    BrowsesOffline,
    LinksResolveOffline,
    LinksRewrittenToLocal,
    Mirror,
    MirrorComplete,
    MirrorInScope,
    MirrorUpToDate,
    OriginSiteUnchanged,
    QueryNamesRestricted,
    RateLimited,
    RerunFetchesNothingSaved,
    ServerErrorsExplained,
    ServerErrorsFor,
    WaitBetweenRequests,
    WarnsNoClobberIgnored,
    requests_of,
)
from scenarios.mirror.faults import OriginAnswers500
from scenarios.mirror.plans import MIRROR_SITE, WATCH, runbook_mirror
from scenarios.mirror.site import KNOWN_BROKEN, SECTION, WHOLE_SITE

QUICK = pytest.mark.lab_params(wait_s="0.2")


def mirror_site(run: ScenarioRun) -> Mirror:
    """The procedure under test, once; the mirror it made in the client's working folder."""
    run.procedure("mirror_site")
    return runbook_mirror(run)


def variant(run: ScenarioRun, step: Step, folder: str) -> Mirror:
    run.step(step)
    return Mirror(folder, run.steps[-1])


def test_mirror_site(scenario: ScenarioRun) -> None:
    """The runbook's mirror is complete, in scope, its links local, and it browses offline in a real browser
    served by a host that cannot reach the origin; a mirror made without --convert-links does not."""
    run = scenario
    site = run.facts["origin"]
    MIRROR_SITE.walk(run, "mirror_site", watch=WATCH)

    careless = variant(run, P.MIRROR_CARELESS, "careless")
    run.check(LinksRewrittenToLocal(careless), expect="fail")
    run.check(LinksResolveOffline(careless), expect="fail")
    run.check(BrowsesOffline(careless, site, offsite=(run.facts["external"],)), expect="fail")


@QUICK
def test_scope(scenario: ScenarioRun) -> None:
    """--domains and --no-parent keep the mirror in scope: from /docs/ no page above it (its requisites are
    fetched anyway); -D with a second domain but no -H stays on the origin; -H spans to the second domain."""
    run = scenario
    site = run.facts["origin"]
    m = mirror_site(run)
    run.check(MirrorInScope(m, site))
    section = variant(run, P.MIRROR_SECTION, "section")
    run.check(MirrorComplete(section, SECTION))
    run.check(MirrorInScope(section, site, under="docs/"))
    domains = variant(run, P.MIRROR_TWO_DOMAINS, "domains")
    run.check(MirrorInScope(domains, site))
    span = variant(run, P.MIRROR_SPAN_HOSTS, "span")
    out = run.check(MirrorInScope(span, site), expect="fail")
    run.metric("files_out_of_scope_with_span_hosts", len(out.evidence.get("out_of_scope", [])))


def test_politeness(scenario: ScenarioRun) -> None:
    """--wait and --limit-rate seen from the server: gaps of at least the wait between requests, the large
    file no faster than the rate; `?` saved as `@`. A careless mirror (no wait, no limit) shows none of it."""
    run = scenario
    site = run.facts["origin"]
    wait_s, rate = float(run.facts["wait_s"]), float(run.facts["rate_bytes"])
    m = mirror_site(run)
    waited = run.check(WaitBetweenRequests(m, wait_s))
    limited = run.check(RateLimited(m, run.facts["large_path"], rate))
    run.check(QueryNamesRestricted(m, site))
    gaps = waited.evidence.get("gaps", [])
    if gaps:
        run.metric("min_gap_s", min(gaps))
        run.metric("median_gap_s", sorted(gaps)[len(gaps) // 2])
    run.metric("large_file_s", limited.evidence.get("duration_s", 0.0))
    run.metric("large_file_least_s", limited.evidence.get("least_s", 0.0))
    reqs = requests_of(run.view, m)
    if len(reqs) > 1:
        run.metric("requests_per_s_at_origin", len(reqs) / (reqs[-1].end - reqs[0].start))

    careless = variant(run, P.MIRROR_CARELESS, "careless")
    run.check(WaitBetweenRequests(careless, wait_s), expect="fail")
    run.check(RateLimited(careless, run.facts["large_path"], rate), expect="fail")
    run.check(QueryNamesRestricted(careless, site), expect="fail")
    reqs = requests_of(run.view, careless)
    if len(reqs) > 1:
        run.metric("careless_requests_per_s", len(reqs) / max(reqs[-1].end - reqs[0].start, 0.001))


@QUICK
def test_rerun_no_clobber(scenario: ScenarioRun) -> None:
    """A second run of the runbook: wget warns that --no-clobber is ignored with --convert-links and fetches
    every file again, the -E renamed pages (about.html, page.php@id=N.html) included. Without --convert-links,
    --no-clobber is honoured and wget 1.21 finds the renamed files: nothing saved is fetched again."""
    run = scenario
    first = mirror_site(run)
    run.check(WarnsNoClobberIgnored(first))
    again = variant(run, P.MIRROR_AGAIN, "runbook")
    run.check(WarnsNoClobberIgnored(again))
    refetched = run.check(RerunFetchesNothingSaved(again), expect="fail")
    run.metric("refetched_on_rerun", len(refetched.evidence.get("fetched", [])))
    honoured = variant(run, P.MIRROR_AGAIN_WITHOUT_CONVERT, "runbook")
    run.check(WarnsNoClobberIgnored(honoured), expect="fail")
    kept = run.check(RerunFetchesNothingSaved(honoured))
    run.metric("refetched_without_convert_links", len(kept.evidence.get("fetched", [])))


@QUICK
def test_site_changed(scenario: ScenarioRun) -> None:
    """The site changes between two mirrors (a page removed, a page added and linked): compared with a fresh
    mirror, the old one is stale, and the report lists what."""
    run = scenario
    run.watch(OriginSiteUnchanged(), expect="fail")
    old = mirror_site(run)
    run.step(P.CHANGE_SITE)
    fresh = variant(run, P.MIRROR_FRESH, "fresh")
    run.check(MirrorComplete(fresh, (WHOLE_SITE - {"example.org/private/notes.html"}) | {"example.org/news.html"}))
    diff = run.check(MirrorUpToDate(old, fresh), expect="fail")
    run.metric("stale_files", len(diff.evidence.get("stale", [])))
    run.metric("new_files", len(diff.evidence.get("missing", [])))
    run.metric("changed_files", len(diff.evidence.get("changed", [])))


BROKEN_ON_PURPOSE = ("/docs/", "/about")


@QUICK
def test_broken_origin(scenario: ScenarioRun) -> None:
    """The origin answers 500 for /docs/ and /about: wget exits 8 (a server error), and the pages it could not
    get, and those only reachable through them, are named."""
    run = scenario
    with run.fault(OriginAnswers500(*BROKEN_ON_PURPOSE)):
        m = mirror_site(run)
    run.check(ServerErrorsFor(m, BROKEN_ON_PURPOSE))
    errors = run.check(ServerErrorsExplained(m, KNOWN_BROKEN), expect="fail")
    missing = run.check(MirrorComplete(m, WHOLE_SITE), expect="fail")
    run.metric("wget_exit_status", m.step.rc if m.step else -1)
    run.metric("server_errors", len(errors.evidence.get("errors", [])))
    run.metric("pages_missing", len(missing.evidence.get("missing", [])))

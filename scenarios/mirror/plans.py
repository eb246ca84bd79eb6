"""What the mirror lab's runbook is judged with (see lab.plan): one plan for mirroring the site, used by the
scenario `mirror_site` and by `opslab rehearse mirror mirror_site`.

Staged: nothing (the origin serves the site, the client's working folder is empty). The mirror judged is the one
the procedure left in the client's working folder (`runbook`), with the output of its last wget step. The goal:
the whole site mirrored, nothing out of scope, links rewritten to local files that exist, every page loading in a
browser with no network, wget's errors only the origin's known broken link. Watched throughout: the origin's site
is not changed by mirroring it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.checks import CheckResult
from lab.plan import Expect, Plan
from lab.scenario import ScenarioRun
from scenarios.mirror.checks import (
    BrowsesOffline,
    LinksResolveOffline,
    LinksRewrittenToLocal,
    Mirror,
    MirrorComplete,
    MirrorInScope,
    OriginSiteUnchanged,
    ServerErrorsExplained,
    requests_of,
)
from scenarios.mirror.site import KNOWN_BROKEN, LARGE, PAGES, WHOLE_SITE

WATCH = [OriginSiteUnchanged]
RUNBOOK_FOLDER = "runbook"  # the client's working folder for the runbook's command


def runbook_mirror(run: ScenarioRun) -> Mirror:
    """The mirror in the runbook's folder, with the last wget step that ran (None when none did: run by hand)."""
    wget = [s for s in run.steps if s.host == "client" and "wget " in s.command]
    return Mirror(RUNBOOK_FOLDER, wget[-1] if wget else None)


class MirrorSite(Plan):
    """Mirror the site for offline use; judged on the mirror, the origin's log and an offline browser."""

    title = "mirror the site: complete, in scope, links local, browses offline"

    def after(self, run: ScenarioRun, stage: Any) -> None:
        return None

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        m, site = runbook_mirror(run), run.facts["origin"]
        return [
            Expect(MirrorComplete(m, WHOLE_SITE)),
            Expect(MirrorInScope(m, site), robust=True),
            Expect(LinksRewrittenToLocal(m)),
            Expect(LinksResolveOffline(m)),
            Expect(BrowsesOffline(m, site, offsite=(run.facts["external"],))),
            Expect(ServerErrorsExplained(m, KNOWN_BROKEN)),
        ]

    def record(self, run: ScenarioRun, results: Mapping[str, CheckResult]) -> None:
        m = runbook_mirror(run)
        saved = set(results["MirrorComplete"].evidence.get("saved", []))
        run.metric("pages_mirrored", len(saved & PAGES))
        run.metric("requisites_mirrored", len(saved - PAGES - LARGE))
        run.metric("broken_local_links", len(results["LinksResolveOffline"].evidence.get("broken", [])))
        run.metric("offsite_requisites_left", len(results["BrowsesOffline"].evidence.get("offsite", [])))
        run.metric("wget_exit_status", m.step.rc if m.step else -1)
        reqs = requests_of(run.view, m)
        if len(reqs) > 1:
            run.metric("requests_per_s_at_origin", len(reqs) / (reqs[-1].end - reqs[0].start))


MIRROR_SITE = MirrorSite()
PLANS: dict[str, Plan] = {"mirror_site": MIRROR_SITE}
DEFAULT: Plan = MIRROR_SITE

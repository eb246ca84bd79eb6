"""How the keepalived runbook is staged and judged (see lab.plan), for its scenarios and `opslab rehearse`.

Staged: the client asking the VIP, answered by lb1 (the MASTER). After the procedure: the lab settles until the
client is answered by lb2 (or the master-down interval and a margin pass), then the client stops. The goal: lb2
serves, and the client was never without an answer for SILENCE_LIMIT_S (2 s) or more.
"""

from __future__ import annotations

from typing import Any

from lab.checks import Invariant
from lab.plan import Expect, Plan, settled
from lab.scenario import ScenarioRun

from keepalived.checks import AnsweredThroughout, ServedBy
from keepalived.workloads import AskTheVip

WATCH: list[type[Invariant]] = []
# A graceful failover costs the backup's skew time (0.4 s) and a request cut off (0.5 s); a crash waits out the
# master-down interval (3.6 s at advert_int 1) and the client's ARP entry for the VIP.
SILENCE_LIMIT_S = 2.0


def answered_by(run: ScenarioRun, client: AskTheVip, host: str, since: float) -> bool:
    ops = client.ops_so_far(run)
    return len([op for op in ops if op.ok and op.t > since and op.value == host]) >= 5


class Failover(Plan):
    """The VIP moves from lb1 to lb2 and the service keeps answering."""

    title = "failover: lb2 serves the VIP, no silence of a second"

    def before(self, run: ScenarioRun) -> Any:
        client = AskTheVip()
        run.start(client)
        what = "lb1 (the master) answering on the VIP"
        run.wait_for(lambda: answered_by(run, client, "lb1", 0), what=what, timeout=20)
        return client

    def after(self, run: ScenarioRun, stage: Any) -> None:
        import time

        t = time.time()
        settled(
            run,
            lambda: run.wait_for(
                lambda: answered_by(run, stage, "lb2", t),
                what="lb2 answering on the VIP",
                timeout=run.facts["master_down_s"] + 5,
            ),
        )
        run.stop(stage)

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [Expect(ServedBy("lb2")), Expect(AnsweredThroughout(SILENCE_LIMIT_S))]


FAILOVER = Failover()
PLANS: dict[str, Plan] = {"failover": FAILOVER}
DEFAULT: Plan = FAILOVER

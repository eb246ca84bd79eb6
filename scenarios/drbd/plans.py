"""What the drbd lab's runbook is staged and judged with (see lab.plan): one plan for replacing both nodes, used by
the scenario `replace_both_nodes` and by `opslab rehearse drbd <procedure>`.

Staged (`begin`): the volume's first sync, heartbeat on both nodes, alpha holding the resource group (DRBD
Primary, the floating IP, the record service), and the client writing a numbered record every 100 ms through
the floating IP. The client's view (acknowledged and failed writes over time) is the availability of the service;
its longest silence is the failover window (`failover_s`). The goal: one failover's outage at most, nothing
acknowledged lost, each resync moving only the blocks changed while its node was away, beta serving after the
takeover, the pair redundant again. Watched throughout: one Primary, one owner of the service.

Robust (they hold whatever a fault schedule did, once healed; `opslab explore` judges by them and `WATCH`): nothing
acknowledged lost (`AckedWritesKept`), and a write acknowledged within one failover's bound (deadtime + 1 s) of the
last step or of the last heal, whichever is later (`ServiceBackWithin`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from lab.checks import CheckResult, OutageBelow, ServiceBackWithin, last_heal
from lab.plan import Expect, Plan, procedure_end, settled
from lab.scenario import ScenarioRun
from lab.workloads import silence
from scenarios.drbd.checks import (
    WRITER_NAME,
    AckedWritesKept,
    HeartbeatTookOver,
    Redundant,
    ResyncMovedOnlyChangedBlocks,
    SinglePrimary,
    SingleServiceOwner,
)
from scenarios.drbd.procedures import PREPARE, SYNCED
from scenarios.drbd.workloads import RecordWriter, writes

WATCH = [SinglePrimary, SingleServiceOwner]


def begin(run: ScenarioRun, *, watch: bool = True) -> RecordWriter:
    """Volume synced, heartbeat up, alpha serving, the client writing; invariants watched from here."""
    for step in PREPARE:
        run.step(step)
    if watch:
        for inv in WATCH:
            run.watch(inv())
    writer = RecordWriter()
    run.start(writer)
    return writer


def finish(run: ScenarioRun, writer: RecordWriter) -> None:
    """Stop the client; record availability, the failover window and how many records were written."""
    ops = run.stop(writer)
    ws = writes(ops)
    run.metric("writes_attempted", len(ws))
    run.metric("writes_acked", sum(w.ok for w in ws))
    run.metric("availability", sum(w.ok for w in ws) / max(1, len(ws)))


def failover(run: ScenarioRun) -> float:
    """The client's longest silence (between two acknowledged writes): the failover window."""
    gap = silence(run.ops.get(RecordWriter().name, []))[1]
    run.metric("failover_s", gap)
    return gap


def away_window(run: ScenarioRun, node: str) -> tuple[float, float]:
    """From `drbdadm down r0` on the node to the end of its resync wait (from the steps run); a procedure of the
    user's that has no such steps gives the whole run."""
    down = next((s.started for s in run.steps if s.host == node and s.command == "drbdadm down r0"), run.started)
    synced = next(
        (s.started + s.duration_s for s in run.steps if s.host == node and s.command == SYNCED and s.started > down),
        time.time(),
    )
    return down, synced


class ReplaceBothNodes(Plan):
    """Replace both nodes under the client's writes; judged by the client's outage, its records and the pair."""

    title = "replace both nodes: one failover's outage, nothing acknowledged lost, resyncs minimal, redundant again"

    def before(self, run: ScenarioRun) -> RecordWriter:
        return begin(run, watch=False)  # the walk (scenario or rehearsal) watches WATCH

    def after(self, run: ScenarioRun, stage: Any) -> None:
        since = max(run.steps[-1].started if run.steps else run.started, last_heal(run.view) or 0.0)
        settled(
            run,
            lambda: run.wait_for(
                lambda: stage.acked_since(run, since), what="a write acknowledged after the runbook", timeout=10
            ),
        )
        finish(run, stage)
        run.note(f"failover window seen by the client: {failover(run):.2f}s")

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [
            Expect(OutageBelow(WRITER_NAME, run.facts["deadtime_s"] + 1)),
            Expect(AckedWritesKept(), robust=True),
            Expect(
                ServiceBackWithin(RecordWriter().name, run.facts["deadtime_s"] + 1, procedure_end(run)),
                robust=True,
            ),
            *(Expect(ResyncMovedOnlyChangedBlocks(node, *away_window(run, node))) for node in ("beta", "alpha")),
            Expect(HeartbeatTookOver("beta")),
            Expect(Redundant("beta")),
        ]

    def record(self, run: ScenarioRun, results: Mapping[str, CheckResult]) -> None:
        if (kept := results.get("AckedWritesKept")) is not None:
            run.metric("acked_writes_lost", len(kept.evidence.get("lost", [])))
        for node in ("beta", "alpha"):
            if (r := results.get(f"ResyncMovedOnlyChangedBlocks({node})")) is not None:
                run.metric(f"resynced_blocks_{node}", r.evidence.get("bits", -1))
                run.metric(f"resync_moves_{node}", r.evidence.get("moved", -1))


REPLACE_BOTH_NODES = ReplaceBothNodes()
PLANS: dict[str, Plan] = {"replace_both_nodes": REPLACE_BOTH_NODES}
DEFAULT: Plan = REPLACE_BOTH_NODES

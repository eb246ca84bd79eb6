"""The keepalived lab's judges. Each check judges what it read with a pure function of canned-data shape, so its
judgement is unit-tested (tests/test_checks.py) and each is shown to fail in a scenario.

- `AnsweredThroughout(limit_s)`: the client was never without an answer for `limit_s` or longer (fails when the
  master crashes: the backup waits out the master-down interval);
- `ServedBy(host)`: the client's last answers all came from `host` (fails when the wrong node was stopped).
"""

from __future__ import annotations

from collections.abc import Sequence

from lab.checks import Check, CheckResult
from lab.view import RunView
from lab.workloads import Op

from keepalived.workloads import AskTheVip

LAST = 5  # answers that must all come from the expected balancer


def longest_silence(ops: Sequence[Op]) -> tuple[float, float, int]:
    """(start, length, requests) of the longest run of unanswered requests: from the first request that got no
    answer to the next one that did (or the last request, when none did). Measured from a failed request, not from
    the answer before it, so a client loop slowed by a loaded machine is not taken for an outage; (0, 0, 0) when
    every request was answered. Requests before the first answer are not counted: the service was still coming up
    (the workload's start waits for that first answer)."""
    best = (0.0, 0.0, 0)
    first: Op | None = None
    count = 0
    ordered = sorted(ops, key=lambda o: o.t)
    answered = [i for i, op in enumerate(ordered) if op.ok]
    for op in ordered[answered[0] :] if answered else ordered:
        if not op.ok:
            first, count = first or op, count + 1
        elif first is not None:
            if op.t - first.t > best[1]:
                best = (first.t, op.t - first.t, count)
            first, count = None, 0
    if first is not None:
        last = max(o.t for o in ops)
        if last - first.t >= best[1]:
            best = (first.t, last - first.t, count)
    return best


class AnsweredThroughout(Check):
    """The client was never without answers for `limit_s` or more (see `longest_silence`)."""

    from_history = True  # reads only the run's record: `opslab rejudge` judges it again

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s

    def evaluate(self, run: RunView) -> CheckResult:
        return self.judge(run.ops.get(AskTheVip().name, []))

    def judge(self, ops: Sequence[Op]) -> CheckResult:
        answered = [op for op in ops if op.ok]
        if len(answered) < 2:
            return self.unknown(f"the client got {len(answered)} answers: too few to measure a silence")
        start, gap, unanswered = longest_silence(ops)
        return self.result(
            gap < self.limit_s,
            f"longest silence {gap:.2f}s ({unanswered} requests unanswered; limit {self.limit_s:g}s) "
            f"over {len(ops)} requests",
            silence_s=round(gap, 3),
            silence_start=start,
            failed_requests=sum(1 for op in ops if not op.ok),
        )


class ServedBy(Check):
    """The client's last answers all came from `host` (the balancer that should hold the VIP now)."""

    from_history = True  # reads only the run's record: `opslab rejudge` judges it again

    def __init__(self, host: str) -> None:
        self.host = host

    def evaluate(self, run: RunView) -> CheckResult:
        return self.judge(run.ops.get(AskTheVip().name, []))

    def judge(self, ops: Sequence[Op]) -> CheckResult:
        last = [op.value for op in ops if op.ok][-LAST:]
        if len(last) < LAST:
            return self.unknown(f"only {len(last)} answers at the end: too few to say who serves")
        others = sorted(set(last) - {self.host})
        return self.result(
            not others,
            f"the last {LAST} answers came from {', '.join(sorted(set(last)))} (expected {self.host})",
            served_by=sorted(set(last)),
        )

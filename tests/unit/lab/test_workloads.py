from typing import Any

import pytest

from lab.errors import WaitTimeout
from lab.scenario import ScenarioRun
from lab.workloads import BackgroundWorkload, Op, silence


def test_a_silence_is_between_consecutive_acknowledged_operations() -> None:
    ops = [Op(0.0, True), Op(0.1, True), Op(0.2, False), Op(0.3, False), Op(2.1, True), Op(2.2, True)]
    assert silence(ops) == (0.1, 2.0)


def test_the_silence_right_after_since_counts_and_until_closes_the_window() -> None:
    ops = [Op(0.0, True), Op(5.0, True), Op(5.1, True), Op(5.5, True), Op(9.0, True)]
    start, length = silence(ops, since=4.0, until=6.0)
    assert (start, round(length, 3)) == (4.0, 1.0)  # from the move at 4.0 to the first answer at 5.0
    start, length = silence(ops, since=4.9, until=6.0)
    assert (start, round(length, 3)) == (5.1, 0.4)


def test_no_answer_after_since_is_silence_until_the_last_operation() -> None:
    ops = [Op(1.0, True), Op(2.0, False), Op(8.5, False)]
    assert silence(ops, since=2.0) == (2.0, pytest.approx(6.5))


def test_no_success_means_no_gap_measured() -> None:
    assert silence([Op(1.0, False)]) == (0.0, 0.0)


class Counter(BackgroundWorkload):
    """A fake program whose log lines are 'ok' or 'err'."""

    started_after = 2

    def command(self, run: ScenarioRun) -> str:
        return "count --forever"

    def parse(self, text: str) -> list[Op]:
        return [Op(float(i), line == "ok", line) for i, line in enumerate(text.split())]


def test_a_background_workload_starts_by_pid_waits_for_its_first_acks_and_stops_by_pid(fake_lab: Any) -> None:
    run = ScenarioRun("fake/x", fake_lab)
    t = fake_lab.transports["client"]
    w = Counter("client")
    t.replies["cat " + w.log] = (0, "ok\nerr\nok\n")
    w.start(run)
    [launch] = [c for c in t.commands if "nohup" in c]
    assert f"echo $$ > {w.pidfile}; exec count --forever" in launch and f"> {w.log} 2>&1" in launch
    assert w.acked(run) == 2
    t.replies = {"/proc/$pid/status": (1, ""), **t.replies}  # gone (asked before the log's `cat` matches)
    ops = w.stop(run)
    assert any(c == f"kill -TERM $(cat {w.pidfile})" for c in t.commands)
    assert [o.ok for o in ops] == [True, False, True]


def test_two_instances_never_share_a_log_and_a_slow_start_is_a_timeout(fake_lab: Any) -> None:
    assert Counter("client").log != Counter("client").log
    run = ScenarioRun("fake/x", fake_lab)
    w = Counter("client")
    w.start_timeout_s = 0.2
    fake_lab.transports["client"].replies["cat " + w.log] = (0, "ok\n")  # one ack, two wanted
    with pytest.raises(WaitTimeout):
        w.start(run)

"""The keepalived lab's judges on canned data: the client's log as busybox wget writes it."""

import pytest
from lab.checks import Verdict
from lab.workloads import Op

from keepalived.checks import AnsweredThroughout, ServedBy, longest_silence
from keepalived.lab import master_down_s
from keepalived.workloads import parse_requests

LOG = "\n".join(
    [
        "100.0 ok lb1",
        "100.1 ok lb1",
        "100.2 fail",
        "100.4 ok lb2",
        *[f"{100.5 + i / 10:.1f} ok lb2" for i in range(6)],
        "101.1 o",  # a torn last line
    ]
)


def test_the_clients_log_as_operations() -> None:
    ops = parse_requests(LOG)
    assert len(ops) == 10 and ops[2].ok is False and ops[3].value == "lb2"


def test_a_short_silence_passes_and_a_long_one_fails() -> None:
    ops = parse_requests(LOG)
    assert AnsweredThroughout(1.0).judge(ops).verdict == Verdict.PASS
    crashed = parse_requests("100.0 ok lb1\n100.1 fail\n102.0 fail\n103.7 ok lb2\n103.8 ok lb2")
    result = AnsweredThroughout(1.0).judge(crashed)
    assert result.verdict == Verdict.FAIL and result.evidence["silence_s"] == 3.6


def test_a_slow_client_loop_is_no_silence() -> None:
    """A loaded machine slows the client's loop (1.3 s between answers) but nothing went unanswered."""
    slow = parse_requests("100.0 ok lb1\n101.3 ok lb1\n102.6 ok lb1\n102.7 ok lb1")
    result = AnsweredThroughout(1.0).judge(slow)
    assert result.verdict == Verdict.PASS and result.evidence["silence_s"] == 0


def test_a_silence_to_the_end_counts() -> None:
    ops = parse_requests("100.0 ok lb1\n100.2 ok lb1\n100.5 fail\n103.0 fail")
    assert longest_silence(ops)[1:] == (2.5, 2)


def test_too_few_answers_is_unknown_never_pass() -> None:
    assert AnsweredThroughout(1.0).judge(parse_requests("1.0 ok lb1\n2.0 fail")).verdict == Verdict.UNKNOWN


def test_served_by_the_backup_passes_and_by_the_master_fails() -> None:
    ops = parse_requests(LOG)
    assert ServedBy("lb2").judge(ops).verdict == Verdict.PASS
    result = ServedBy("lb1").judge(ops)
    assert result.verdict == Verdict.FAIL and "from lb2" in result.detail
    assert ServedBy("lb2").judge(ops[:3]).verdict == Verdict.UNKNOWN


def test_the_master_down_interval_of_rfc_5798() -> None:
    assert master_down_s(1) == 3 + 156 / 256


def test_requests_before_the_first_answer_are_the_service_coming_up_not_a_silence() -> None:
    ops = [Op(1.0, False), Op(1.6, False), Op(2.2, False), Op(2.8, True), Op(2.9, True), Op(3.0, False), Op(3.6, True)]
    assert longest_silence(ops)[1:] == (pytest.approx(0.6), 1)

import pytest

from lab.workloads import Op, silence


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

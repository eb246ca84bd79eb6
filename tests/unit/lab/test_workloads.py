from lab.workloads import Op, longest_gap


def test_longest_gap_is_between_consecutive_successes() -> None:
    ops = [Op(0.0, True), Op(0.1, True), Op(0.2, False), Op(0.3, False), Op(2.1, True), Op(2.2, True)]
    assert longest_gap(ops) == (0.1, 2.0)


def test_longest_gap_honours_the_window() -> None:
    ops = [Op(0.0, True), Op(5.0, True), Op(5.1, True), Op(5.5, True)]
    start, length = longest_gap(ops, start=4.0)
    assert (start, round(length, 3)) == (5.1, 0.4)


def test_no_success_means_no_gap_measured() -> None:
    assert longest_gap([Op(1.0, False)]) == (0.0, 0.0)

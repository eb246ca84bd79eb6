import pytest

from lab.history import History


def test_events_are_appended_with_time_and_read_by_kind() -> None:
    ticks = iter([1.0, 2.0, 3.0])
    h = History(clock=lambda: next(ticks))
    h.add("step", "a", host="old", ok=True)
    h.add("check", "b", ok=False, detail="x", verdict="fail")
    h.add("step", "c", host="new", ok=True)
    assert [e.name for e in h.events("step")] == ["a", "c"]
    assert [e.t for e in h] == [1.0, 2.0, 3.0]
    assert h.to_dicts()[1]["verdict"] == "fail"


def test_dicts_are_sorted_by_time_even_when_ops_come_late() -> None:
    h = History(clock=lambda: 10.0)
    h.add("step", "later")
    h.add("op", "ping", ok=True, t=5.0)
    assert [d["name"] for d in h.to_dicts()] == ["ping", "later"]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        History().add("nonsense", "x")

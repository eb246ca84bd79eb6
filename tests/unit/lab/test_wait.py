import pytest

from lab.errors import WaitTimeout
from lab.wait import wait_until


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds


def test_returns_the_first_truthy_value() -> None:
    clock = FakeClock()
    values = iter([None, 0, "ready"])
    assert wait_until(lambda: next(values), what="x", timeout=5, clock=clock, pause=clock.pause) == "ready"
    assert clock.now == pytest.approx(0.2)


def test_times_out_naming_what_and_the_last_value_or_error() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise RuntimeError("connection refused")

    with pytest.raises(WaitTimeout) as e:
        wait_until(probe, what="the engine", timeout=1, clock=clock, pause=clock.pause, hint="start it")
    text = str(e.value)
    assert "waiting for the engine" in text and "connection refused" in text and "Hint: start it" in text

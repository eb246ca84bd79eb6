"""The warm pool (lab.pool) with labs that only record what was done to them."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any, cast

from lab.lifecycle import Lab
from lab.pool import WarmPool


class FakeLab:
    def __init__(self, project: str, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.spec = SimpleNamespace(name="arp")
        self.project = project
        self.fail = fail
        self.gate = gate
        self.done: list[str] = []

    def up(self) -> Any:
        if self.gate is not None:
            self.gate.wait(5)
        self.done.append("up")
        if self.fail:
            raise RuntimeError("compose up failed")
        return self

    def down(self) -> None:
        self.done.append("down")


def test_the_next_scenario_takes_the_lab_brought_up_for_it() -> None:
    said: list[str] = []
    pool, lab = WarmPool(), FakeLab("opslab-arp-1")
    pool.start("t::next", cast(Lab, lab), said.append)
    assert pool.take("t::other", said.append) is None  # nothing was started for another scenario
    assert pool.take("t::next", said.append) is lab and lab.done == ["up"]
    assert any("was prefetched" in m for m in said)
    assert pool.take("t::next", said.append) is None  # taken once
    assert pool.drain() == []


def test_a_lab_that_did_not_come_up_is_removed_and_the_scenario_starts_its_own() -> None:
    said: list[str] = []
    pool, lab = WarmPool(), FakeLab("opslab-arp-2", fail=True)
    pool.start("t::next", cast(Lab, lab), said.append)
    assert pool.take("t::next", said.append) is None
    assert lab.done == ["up", "down"]
    assert any("did not come up (RuntimeError: compose up failed)" in m for m in said)


def test_drain_waits_for_a_start_in_flight_and_removes_what_nobody_took() -> None:
    gate = threading.Event()
    pool, lab = WarmPool(), FakeLab("opslab-arp-3", gate=gate)
    pool.start("t::next", cast(Lab, lab), lambda m: None)
    threading.Timer(0.05, gate.set).start()
    assert pool.drain() == ["opslab-arp-3"]
    assert lab.done == ["up", "down"]

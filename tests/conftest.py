"""Shared fixtures of opslab's own tests: a fake lab whose hosts answer from canned replies (no Docker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from lab.host import FakeTransport, Host


@dataclass
class FakeSpec:
    name: str = "fake"
    hosts: list[str] = field(default_factory=lambda: ["gateway", "old", "new", "client"])
    watch_interval_s: float = 0.05
    keep_files: tuple[tuple[str, str], ...] = ()


class FakeLab:
    """Duck-types the part of `lab.lifecycle.Lab` a ScenarioRun uses; each host has its own FakeTransport."""

    def __init__(self, facts: dict[str, Any] | None = None, replies: dict[str, dict[str, Any]] | None = None):
        self.spec = FakeSpec()
        self.project = "opslab-fake-000000"
        self.keep = False
        self.state = "created"  # up / down, as a rehearsal left it
        self.params: dict[str, str] = {}
        self._facts = dict(facts or {})
        self.host_logs: dict[str, str] = {}  # what logs() says of a host (default: one line)
        self.transports = {h: FakeTransport((replies or {}).get(h)) for h in self.spec.hosts}
        self._hosts = {h: Host(h, f"{self.project}-{h}-1", t) for h, t in self.transports.items()}

    def add_host(self, name: str, replies: dict[str, Any] | None = None) -> FakeTransport:
        """Another host (a lab with other hosts than the default four); returns its transport."""
        self.spec.hosts.append(name)
        t = self.transports[name] = FakeTransport(replies)
        self._hosts[name] = Host(name, f"{self.project}-{name}-1", t)
        return t

    def up(self) -> FakeLab:
        self.state = "up"
        return self

    def down(self) -> None:
        self.state = "down"

    def keep_from_now(self) -> None:
        self.keep = True

    def host(self, name: str) -> Host:
        return self._hosts[name]

    def container_name(self, name: str) -> str:
        return self._hosts[name].container

    def facts(self) -> dict[str, Any]:
        return dict(self._facts)

    def logs(self) -> dict[str, str]:
        return {**{h: f"log of {h}\n" for h in self.spec.hosts}, **self.host_logs}


@pytest.fixture
def fake_lab() -> FakeLab:
    return FakeLab({"vip": "10.9.0.100", "gateway_ip": "10.9.0.10", "prefix": 24, "lifetime_s": 6.0})

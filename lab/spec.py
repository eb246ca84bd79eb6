"""What a lab is: its name, its compose folder, its parameters and the facts its procedures use.

Each lab declares one `LabSpec` in `scenarios/<lab>/lab.py` as `SPEC`. The compose file is the one source
of truth for hosts, networks and addresses; the spec adds only what the compose file cannot say: parameters
(with defaults, passed to compose as variables) and facts derived from the running lab (`facts(lab)`, e.g. the
service IP), which fill the `{fields}` of procedure steps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from lab.errors import UsageError

if TYPE_CHECKING:
    from lab.lifecycle import Lab

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    help: str
    env: str  # the compose variable it sets


@dataclass(frozen=True)
class LabSpec:
    name: str
    title: str
    params: tuple[Param, ...] = ()
    facts: Callable[[Lab], dict[str, Any]] = field(default=lambda lab: {})
    ready_timeout: float = 60.0
    scenario_timeout_s: float = 600.0  # a scenario's deadline (`--timeout` overrides): past it, error and down
    watch_interval_s: float = 1.0  # how often watched invariants are sampled between steps

    @property
    def compose_dir(self) -> Path:
        return ROOT / "compose" / self.name

    @property
    def compose_file(self) -> Path:
        return self.compose_dir / "compose.yaml"

    def compose(self) -> dict[str, Any]:
        return yaml.safe_load(self.compose_file.read_text())

    @property
    def hosts(self) -> list[str]:
        return list(self.compose().get("services", {}))

    @property
    def networks(self) -> list[str]:
        return list(self.compose().get("networks", {}) or {})

    def param_env(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        overrides = dict(overrides or {})
        unknown = set(overrides) - {p.name for p in self.params}
        if unknown:
            names = ", ".join(p.name for p in self.params) or "none"
            raise UsageError(f"lab {self.name} has no parameter {sorted(unknown)[0]!r}", f"its parameters: {names}")
        return {p.env: str(overrides.get(p.name, p.default)) for p in self.params}


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (`--param`) as a dict; anything else is a clear error."""
    out = {}
    for kv in pairs:
        key, sep, value = kv.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {kv!r} is not KEY=VALUE", "for example --param delay_first_probe_s=10")
        out[key.strip()] = value.strip()
    return out


def lab_names() -> list[str]:
    return sorted(
        p.parent.name for p in (ROOT / "scenarios").glob("*/lab.py") if (ROOT / "compose" / p.parent.name).is_dir()
    )


def get_spec(name: str) -> LabSpec:
    names = lab_names()
    if name not in names:
        raise UsageError(f"no lab named {name!r}", f"labs are: {', '.join(names)} (see `opslab list`)")
    module = importlib.import_module(f"scenarios.{name}.lab")
    spec: LabSpec = module.SPEC
    return spec

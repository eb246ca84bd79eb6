"""The keepalived lab as opslab sees it: the entry point `opslab.labs: keepalived` names `LAB` (see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition

from keepalived.lab import SPEC
from keepalived.plans import DEFAULT, PLANS, WATCH
from keepalived.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent / "scenarios",
)

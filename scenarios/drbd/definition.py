"""The drbd lab as opslab registers it (entry point `opslab.labs: drbd`, see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition
from scenarios.drbd.faults import FAULTS
from scenarios.drbd.lab import SPEC
from scenarios.drbd.plans import DEFAULT, PLANS, WATCH
from scenarios.drbd.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent,
    faults=FAULTS,
)

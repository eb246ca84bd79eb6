"""The mirror lab as opslab registers it (entry point `opslab.labs: mirror`, see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition
from scenarios.mirror.faults import FAULTS
from scenarios.mirror.lab import SPEC
from scenarios.mirror.plans import DEFAULT, PLANS, WATCH
from scenarios.mirror.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent,
    faults=FAULTS,
)

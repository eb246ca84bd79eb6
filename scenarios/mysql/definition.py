"""The mysql lab as opslab registers it (entry point `opslab.labs: mysql`, see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition
from scenarios.mysql.faults import FAULTS
from scenarios.mysql.lab import SPEC
from scenarios.mysql.plans import DEFAULT, PLANS, WATCH
from scenarios.mysql.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent,
    faults=FAULTS,
)

"""The arp lab as opslab registers it (entry point `opslab.labs: arp`, see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition
from scenarios.arp.faults import FAULTS
from scenarios.arp.lab import SPEC
from scenarios.arp.plans import DEFAULT, PLANS, WATCH
from scenarios.arp.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent,
    faults=FAULTS,
)

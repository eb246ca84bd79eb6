"""The openvpn lab as opslab registers it (entry point `opslab.labs: openvpn`, see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition
from scenarios.openvpn.faults import FAULTS
from scenarios.openvpn.lab import SPEC
from scenarios.openvpn.plans import DEFAULT, PLANS, WATCH
from scenarios.openvpn.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent,
    faults=FAULTS,
)

"""Which labs there are: every lab, opslab's own and other packages', is a plugin registered by an entry point.

A package makes a lab known to opslab with an entry point in the group `opslab.labs`, named after the lab and
pointing at a `LabDefinition` (pyproject.toml):

    [project.entry-points."opslab.labs"]
    demolab = "demolab.definition:LAB"

A `LabDefinition` says everything opslab needs to run the lab: its `LabSpec` (name, title, parameters, facts,
timeouts and its compose folder), its procedures, the plan that stages and judges each procedure (lab.plan), the
plan a procedure without one is judged with, the invariants watched all through a scenario or a rehearsal, and
the folder of its scenarios (`test_*.py` files whose tests take the `scenario` fixture). opslab's five labs
register the same way (`scenarios/<lab>/definition.py`, in opslab's own pyproject.toml), so a lab from another
package runs exactly as a built-in one: `opslab list`, `run`, `rehearse`, `images`, `up` and the pytest plugin
all go through `labs()` / `get_lab()`. Where a lab comes from (its distribution, version and entry point) is its
`origin`, shown by `opslab list`.

Loading is lazy and cached; a broken plugin (its entry point does not import, or points at something else) is an
`EnvironmentProblem` naming the entry point and its distribution, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from lab.errors import EnvironmentProblem, UsageError
from lab.spec import LabSpec

if TYPE_CHECKING:
    from lab.checks import Invariant
    from lab.faults import FaultKind
    from lab.plan import Plan
    from lab.procedure import Procedure

GROUP = "opslab.labs"


@dataclass(frozen=True)
class LabDefinition:
    """One lab, as its package registers it (entry point group `opslab.labs`)."""

    spec: LabSpec  # name, title, parameters, facts, timeouts, compose folder (`spec.compose_folder`)
    procedures: Mapping[str, Procedure]  # {name: procedure}; `opslab rehearse LAB NAME`, `run.procedure(NAME)`
    plans: Mapping[str, Plan]  # {procedure name: the plan its scenario and its rehearsal walk}
    default_plan: Plan  # judges a procedure that has no plan of its own (a rehearsal says so)
    invariants: Sequence[type[Invariant]]  # watched all through every scenario and rehearsal of the lab
    scenarios: Path  # the folder of the lab's scenario files (test_*.py)
    faults: Sequence[FaultKind] = ()  # the lab's fault library (lab.faults): what `opslab explore` may inject
    origin: str = field(default="", compare=False)  # where it was registered from; set by the registry

    @property
    def name(self) -> str:
        return self.spec.name

    def scenario_files(self) -> list[Path]:
        return sorted(self.scenarios.glob("test_*.py"))


def _origin(ep: EntryPoint) -> str:
    dist = ep.dist
    where = f"{dist.name} {dist.version}" if dist is not None else "an unnamed distribution"
    return f"{where} ({GROUP}: {ep.name} = {ep.value})"


def _load(ep: EntryPoint) -> LabDefinition:
    origin = _origin(ep)
    try:
        found = ep.load()
    except Exception as exc:
        raise EnvironmentProblem(
            f"the lab plugin {ep.name} from {origin} does not load: {type(exc).__name__}: {exc}",
            f"fix or uninstall the package that registers it (`pip show {ep.dist.name if ep.dist else ep.name}`)",
        ) from exc
    if not isinstance(found, LabDefinition):
        raise EnvironmentProblem(
            f"the lab plugin {ep.name} from {origin} points at a {type(found).__name__}, not a LabDefinition",
            "an `opslab.labs` entry point names a lab.registry.LabDefinition (see ARCHITECTURE.md)",
        )
    if found.spec.name != ep.name:
        raise EnvironmentProblem(
            f"the lab plugin {ep.name} from {origin} defines a lab named {found.spec.name!r}",
            "name the entry point after the lab it registers",
        )
    return replace(found, origin=origin, scenarios=found.scenarios.resolve())


@cache
def labs() -> dict[str, LabDefinition]:
    """{name: definition} of every registered lab."""
    out: dict[str, LabDefinition] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if ep.name in out:
            other = out[ep.name].origin
            if other == _origin(ep):  # one distribution seen twice on sys.path (a checkout and its install)
                continue
            raise EnvironmentProblem(
                f"two packages register a lab named {ep.name}: {other} and {_origin(ep)}",
                "uninstall one of them (`pip uninstall NAME`)",
            )
        out[ep.name] = _load(ep)
    if not out:
        raise EnvironmentProblem(
            "no lab is registered (entry point group opslab.labs)",
            "install opslab with pip (`pip install .` or `make`), which registers its labs",
        )
    return out


def get_lab(name: str) -> LabDefinition:
    """The lab called `name`; an unknown name is a `UsageError` listing the labs there are."""
    found = labs()
    if name not in found:
        raise UsageError(f"no lab named {name!r}", f"labs are: {', '.join(sorted(found))} (see `opslab list`)")
    return found[name]


def lab_of_file(path: Path) -> str | None:
    """The lab whose scenario folder holds `path`, if any."""
    folder = Path(path).resolve().parent
    return next((name for name, d in labs().items() if d.scenarios == folder), None)

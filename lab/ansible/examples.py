"""The example playbooks (examples/ansible/<lab>/, installed with the lab files) as procedures for scenarios.

`use_example(run, procedure, playbook)` puts examples/ansible/<lab>/<playbook> in the place of the lab's procedure
`procedure` in this run, as `--procedure procedure=PATH` does (loaded and checked against the lab's hosts and
groups the same way), so the scenario judges it with the checks of the built-in procedure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab.files import files_root
from lab.procedure import load_user_procedure

if TYPE_CHECKING:
    from lab.scenario import ScenarioRun



def use_example(run: ScenarioRun, procedure: str, playbook: str) -> None:
    spec = run.lab.spec
    path = files_root() / "examples" / "ansible" / spec.name / playbook  # installed as package data too
    run.procedures[procedure] = load_user_procedure(path, spec.hosts, groups=spec.groups)

"""What there is to run: labs, their scenario ids and procedures, read without starting anything.

Scenario ids are found by reading the lab's scenario files (`test_*.py` in the folder its definition names, see
lab.registry; functions `test_<name>` taking the `scenario` fixture), so `opslab list` and target checking need
neither Docker nor a pytest run. `expecting_failure(lab)` reads them the same way: the scenarios that expect some
judgement to fail (`expect="fail"`, or `expect={...: "fail"}` given to a plan), which a user's procedure put in
place of every procedure would silently turn into failures.
"""

from __future__ import annotations

import ast
from pathlib import Path

from lab.errors import UsageError
from lab.procedure import Procedure
from lab.registry import get_lab
from lab.spec import lab_names


def scenario_files(lab: str) -> list[Path]:
    return get_lab(lab).scenario_files()


def scenario_ids(lab: str) -> list[str]:
    ids = []
    for path in scenario_files(lab):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                if any(a.arg == "scenario" for a in node.args.args):
                    ids.append(f"{lab}/{node.name[len('test_') :]}")
    return ids


def procedures(lab: str) -> dict[str, Procedure]:
    return dict(get_lab(lab).procedures)


def split_target_params(targets: list[str], params: list[str]) -> tuple[list[str], list[str]]:
    """Targets as a report names them, `lab/scenario[KEY=VALUE,...]` (a matrix run's ids), taken apart: the ids
    without their brackets, and `params` with the bracketed `KEY=VALUE`s added, so a scenario copied from a report
    runs again as it ran. Two targets (or a target and `--param`) that set one parameter to different values are
    refused: one run has one value per parameter (`--matrix` runs several)."""
    out: list[str] = []
    chosen: dict[str, str] = {}
    for kv in params:
        key, _, value = kv.partition("=")
        chosen[key.strip()] = value.strip()
    added: list[str] = []
    for t in targets:
        name, bracket, rest = t.partition("[")
        if not bracket:
            out.append(t)
            continue
        if not rest.endswith("]") or not rest[:-1].strip():
            raise UsageError(
                f"the target {t!r} is not LAB/SCENARIO[KEY=VALUE,...]",
                "copy the id as the report shows it, e.g. 'mysql/rebuild_from_master[engine=mariadb-11.8]' (quoted)",
            )
        for kv in rest[:-1].split(","):
            key, sep, value = kv.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise UsageError(f"the target {t!r} has {kv!r}, not KEY=VALUE", "e.g. mysql/x[engine=mariadb-11.8]")
            if chosen.get(key, value) != value:
                raise UsageError(
                    f"the target {t!r} sets {key}={value}, but this run already has {key}={chosen[key]}",
                    f"one run has one value per parameter: run them apart, or use --matrix {key}={chosen[key]},{value}",
                )
            if key not in chosen:
                chosen[key] = value
                added.append(f"{key}={value}")
        out.append(name)
    return out, [*params, *added]


def resolve_targets(targets: list[str]) -> list[str]:
    """Check each target (a lab or a scenario id) exists; the error lists what does."""
    labs = lab_names()
    out = []
    for t in targets:
        lab = t.split("/")[0]
        if lab not in labs:
            raise UsageError(
                f"no lab or scenario named {t!r}", f"labs: {', '.join(labs)}; `opslab list` shows every scenario id"
            )
        if "/" in t and t not in scenario_ids(lab):
            raise UsageError(f"lab {lab} has no scenario {t!r}", f"its scenarios: {', '.join(scenario_ids(lab))}")
        out.append(t)
    return out


def _expects_fail(fn: ast.FunctionDef) -> bool:
    for node in ast.walk(fn):
        if isinstance(node, ast.keyword) and node.arg == "expect":
            if any(isinstance(c, ast.Constant) and c.value == "fail" for c in ast.walk(node.value)):
                return True
    return False


def expecting_failure(lab: str) -> list[str]:
    """Ids of the lab's scenarios that expect a judgement to fail (they reproduce a failure on purpose)."""
    ids = []
    for path in scenario_files(lab):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and _expects_fail(node):
                if any(a.arg == "scenario" for a in node.args.args):
                    ids.append(f"{lab}/{node.name[len('test_') :]}")
    return ids

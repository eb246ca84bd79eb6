"""Bad input is refused before any lab starts: the checks `opslab` and the pytest plugin share.

Contract: every function here reads only the lab specs, the scenario files and the files it is given (no Docker,
no container, nothing left behind) and raises `UsageError` with a `Hint:` for anything a person has to change.
The command line calls them before it runs pytest (or brings a lab up); the plugin calls them again in
`pytest_configure` and at collection, so `pytest scenarios --opslab-...` refuses the same input the same way.

- `check_report_dir(path)`: a folder that exists or can be made, and can be written; not a file;
- `check_procedure(value, labs, scenarios=None, check=False)`: `[NAME=]PATH` loads (lab.procedure) against each
  lab's hosts and groups (a playbook's host patterns too), NAME is one of each lab's procedures; a PATH without
  NAME is refused when `scenarios` (the selected ids) include one that expects a failure (it would replace that
  scenario's failing procedure too and turn it into a failure); `check` (Ansible's `--check`) needs a playbook;
- `check_matrix(params, combos)`: a matrix (`--matrix`) names no parameter also given alone (`--param`);
- `check_run(labs, params, procedure, report, matrix=None, scenarios=None, check=False)`: those and the parameters
  (`LabSpec.param_values`, the one parser of parameters), every matrix combination included, for `opslab run`;
- `lab_of(target)`: the lab of a lab name or of an instance's project name (`opslab-<lab>-<token>`);
- `check_host(lab, host)`: the lab has that host (`opslab shell`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from lab.catalog import expecting_failure, procedures
from lab.errors import UsageError
from lab.lifecycle import PROJECT_PREFIX
from lab.procedure import load_user_procedure, split_override
from lab.spec import get_spec, lab_names


def check_report_dir(path: str | os.PathLike[str], option: str = "--report") -> Path:
    """The report folder, resolved, once shown writable (by making it, as the run would, and removing what was
    made, so a refused run leaves nothing)."""
    folder = Path(path).expanduser().resolve()
    hint = f"give {option} a folder you can write (it is made if missing), e.g. {option} reports/mine"
    for d in [folder, *folder.parents]:
        if d.exists() and not d.is_dir():
            raise UsageError(f"the report folder {folder} cannot be made: {d} is a file", hint)
    made: list[Path] = []
    try:
        for d in [*reversed(folder.parents), folder]:
            if not d.is_dir():
                d.mkdir()
                made.append(d)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".opslab-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        doing = "make" if made or not folder.is_dir() else "write in"
        raise UsageError(f"cannot {doing} the report folder {folder}: {exc.strerror or exc}", hint) from None
    finally:
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
    return folder


def check_procedure(value: str, labs: list[str], scenarios: list[str] | None = None, check: bool = False) -> None:
    """`--procedure [NAME=]PATH`: the file loads for each lab (its hosts), NAME is one of its procedures; without
    NAME, no selected scenario expects a failure."""
    name, path = split_override(value)
    for lab in labs:
        known = procedures(lab)
        if name and name not in known:
            raise UsageError(f"lab {lab} has no procedure {name!r} to replace", f"its procedures: {', '.join(known)}")
        spec = get_spec(lab)
        load_user_procedure(path, spec.hosts, groups=spec.groups, check=check)
    if name is None and scenarios:
        negative = [s for lab in sorted({s.split("/")[0] for s in scenarios}) for s in expecting_failure(lab)]
        chosen = [s for s in scenarios if s in negative]
        if chosen:
            lab = chosen[0].split("/")[0]
            shown = ", ".join(chosen[:3]) + (f" and {len(chosen) - 3} more" if len(chosen) > 3 else "")
            raise UsageError(
                f"--procedure {path} would replace every procedure, also in scenarios that expect a failure: {shown}",
                f"name the procedure it replaces, --procedure NAME={path} ({lab}'s procedures: "
                f"{', '.join(procedures(lab))}), or select only scenarios that expect success",
            )


def check_matrix(params: Mapping[str, object], combos: list[dict[str, str]]) -> None:
    both = sorted(set(params) & {k for c in combos for k in c})
    if both:
        raise UsageError(
            f"the parameter {both[0]} is given both alone (--param) and as a matrix (--matrix)", "give it once"
        )


def check_run(
    labs: list[str],
    params: Mapping[str, object],
    procedure: str | None,
    report: str | Path,
    matrix: list[dict[str, str]] | None = None,
    scenarios: list[str] | None = None,
    check: bool = False,
) -> Path:
    """Everything `opslab run` is given, for the labs it runs (and OPSLAB_RESOLVER); returns the report folder."""
    from lab.lifecycle import resolver_mode

    resolver_mode()
    check_matrix(params, matrix or [])
    for lab in labs:
        for combo in matrix or [{}]:
            get_spec(lab).param_values({**params, **combo})
    if procedure:
        check_procedure(procedure, labs, scenarios, check=check)
    elif check:
        no_playbook_to_check()
    return check_report_dir(report)


def no_playbook_to_check(option: str = "--check") -> None:
    """Refuse Ansible's dry run when no playbook procedure is given."""
    raise UsageError(
        f"{option} is Ansible's dry run of a playbook given as the procedure", "add --procedure PLAYBOOK.yml"
    )


def lab_of(target: str) -> str:
    """The lab a target names: a lab (`arp`) or an instance's project (`opslab-arp-1a2b3c`)."""
    labs = lab_names()
    if target in labs:
        return target
    m = re.fullmatch(rf"{re.escape(PROJECT_PREFIX)}(.+)-[0-9a-f]+", target)
    if m and m.group(1) in labs:
        return m.group(1)
    raise UsageError(
        f"no lab or instance named {target!r}",
        f"labs: {', '.join(labs)}; instances are named opslab-<lab>-<token> (`opslab status` lists them)",
    )


def check_host(lab: str, host: str) -> None:
    hosts = get_spec(lab).hosts
    if host not in hosts:
        raise UsageError(f"lab {lab} has no host {host!r}", f"its hosts: {', '.join(hosts)}")

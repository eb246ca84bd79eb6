"""`opslab new lab NAME`: writes ./NAME/, a pip-installable package holding a new lab that runs as is.

What it writes (every file a lab needs, following opslab's conventions; LABNAME stands for NAME):

    NAME/pyproject.toml                 package `opslab-NAME`; entry point `opslab.labs: NAME = NAME.definition:LAB`;
                                        the compose folder as package data
    NAME/README.md                      what the lab is, how to run it and how to grow it
    NAME/NAME/lab.py                    the LabSpec: one typed parameter, facts, the compose folder
    NAME/NAME/procedures.py             one procedure (`deploy`: unpack the next release, switch to it) and its
                                        broken variant (`deploy_without_switch`)
    NAME/NAME/checks.py                 one check (`RunsRelease`), its judgement a pure function of what it read
    NAME/NAME/plans.py                  the plan that stages and judges `deploy` (lab.plan)
    NAME/NAME/definition.py             the LabDefinition the entry point names (lab.registry)
    NAME/NAME/compose/                  compose.yaml (subnet variables with defaults, a readiness file and a
                                        healthcheck on it, an image built here and never pulled), Dockerfile,
                                        entrypoint.sh
    NAME/NAME/scenarios/test_NAME.py    two scenarios: the runbook passes its check; the variant that forgets a
                                        step is shown to fail it
    NAME/tests/test_checks.py           unit tests of the check on canned data (no Docker)

After `pip install ./NAME`, `opslab list` shows the lab and `opslab run NAME` passes. The name must be a Python
identifier in lower case that no installed lab has, and ./NAME must not exist: anything else is refused with a
`Hint:` before a file is written.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from lab.errors import UsageError

NAME_FORM = r"[a-z][a-z0-9_]{1,30}"

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "opslab-LABNAME"
version = "0.1.0"
description = "An opslab lab: LABNAME"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["opslab"]

# how opslab finds the lab: `opslab list` shows it, `opslab run LABNAME` runs it
[project.entry-points."opslab.labs"]
LABNAME = "LABNAME.definition:LAB"

[tool.setuptools]
packages = ["LABNAME", "LABNAME.scenarios"]

[tool.setuptools.package-data]
LABNAME = ["compose/*"]

[tool.ruff]
line-length = 120
target-version = "py311"
src = ["."]

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP"]
"""

README = """\
# LABNAME: an opslab lab

A lab for opslab, made by `opslab new lab LABNAME`: one host, `server`, on
one network, and a runbook that deploys the next release of an application by unpacking it beside the running
one and switching the `current` link to it.

```sh
pip install ./LABNAME              # registers the lab with opslab (entry point opslab.labs)
opslab list                        # LABNAME, from opslab-LABNAME 0.1.0
opslab run LABNAME                 # builds its image, runs both scenarios, writes ./reports/<time>/
opslab rehearse LABNAME deploy     # walk the runbook one step at a time
python -m pytest LABNAME/tests     # the check's unit tests (no Docker)
```

| file | what it holds |
| --- | --- |
| `LABNAME/lab.py` | the lab's spec: title, parameters (typed, checked before a lab starts), facts (filled into steps) |
| `LABNAME/compose/` | the hosts: `compose.yaml`, the image's `Dockerfile` and `entrypoint.sh` |
| `LABNAME/procedures.py` | the runbook (`deploy`) and a variant that forgets its last step (`deploy_without_switch`) |
| `LABNAME/checks.py` | `RunsRelease`: the server runs the release the runbook deployed |
| `LABNAME/plans.py` | how `deploy` is staged and judged, for its scenario and for `opslab rehearse` alike |
| `LABNAME/definition.py` | what the entry point hands opslab: spec, procedures, plans, invariants, scenarios |
| `LABNAME/scenarios/` | the scenarios: `deploy` passes its check; `deploy_without_switch` is shown to fail it |
| `tests/` | unit tests of the check's judgement on canned data |

The compose file follows opslab's conventions: every address comes from a subnet variable (`LAN_NET`: opslab
gives each instance its own /24, the default serves a plain `docker compose up`), a host is ready when its
entrypoint has written `/run/opslab-ready` (the healthcheck tests it), the image is built locally
(`pull_policy: never`; `opslab images LABNAME`) and opslab labels every container, network and volume itself.

To grow it: replace the image's software (install real packages from Debian in the Dockerfile), write the
runbook's commands as steps, and for each thing the runbook promises a check, with a scenario in which the check
says `fail` and unit tests of its judgement.
"""

LAB = '''\
"""The LABNAME lab: one host, `server`, running release `first_release` of an application in /srv/app.

Releases live in /srv/app/releases/<n>/ (each with a VERSION file); /srv/app/current links to the one that runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

APP = "/srv/app"


def facts(lab: Lab) -> dict[str, Any]:
    """What the procedure's steps are filled with (`{next_release}`)."""
    first = int(lab.env["FIRST_RELEASE"])
    return {"app": APP, "first_release": first, "next_release": first + 1, "server_ip": lab.ip("server", "lan")}


SPEC = LabSpec(
    name="LABNAME",
    title="deploy the next release of an application and switch to it",
    params=(
        Param(
            "first_release",
            "1",
            "the release the server runs when the lab starts",
            "FIRST_RELEASE",
            type="int",
            min=1,
            max=998,
        ),
    ),
    facts=facts,
    ready_timeout=30.0,
    scenario_timeout_s=120.0,
    compose_folder=Path(__file__).parent / "compose",
)
'''

PROCEDURES = '''\
"""The LABNAME lab's runbook: unpack the next release beside the running one, then switch `current` to it."""

from lab.procedure import Procedure, Step

UNPACK = Step(
    "server",
    "mkdir -p {app}/releases/{next_release} && echo 'release {next_release}' > {app}/releases/{next_release}/VERSION",
    "unpack release {next_release}",
    verify="test -s {app}/releases/{next_release}/VERSION",
)
SWITCH = Step(
    "server",
    "ln -sfn {app}/releases/{next_release} {app}/current",
    "switch current to release {next_release}",
    verify="test \\"$(readlink {app}/current)\\" = {app}/releases/{next_release}",
)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure("deploy", "deploy the next release (the runbook)", (UNPACK, SWITCH)),
        Procedure("deploy_without_switch", "unpack the next release and forget to switch to it", (UNPACK,)),
    )
}
'''

CHECKS = '''\
"""The LABNAME lab's judges. A check reads the lab and judges what it read with a pure function, so the judgement
is unit-tested on canned data (tests/test_checks.py) and shown to fail in a scenario (deploy_without_switch)."""

from __future__ import annotations

import re

from lab.checks import Check, CheckResult
from lab.view import RunView

from LABNAME.lab import APP


def running_release(version_file: str) -> int | None:
    """The release a VERSION file names (`release 2`), or None when it names none."""
    m = re.fullmatch(r"release (\\d+)", version_file.strip())
    return int(m.group(1)) if m else None


class RunsRelease(Check):
    """The server runs release `release`: the VERSION file behind /srv/app/current names it."""

    def __init__(self, release: int) -> None:
        self.release = release

    def evaluate(self, run: RunView) -> CheckResult:
        read = run.host("server").run(f"cat {APP}/current/VERSION")
        return self.judge(read.rc, read.stdout)

    def judge(self, rc: int, version_file: str) -> CheckResult:
        if rc != 0:
            return self.result(False, f"{APP}/current/VERSION cannot be read (exit {rc}): no release runs")
        found = running_release(version_file)
        if found is None:
            return self.unknown(f"{APP}/current/VERSION names no release: {version_file.strip()!r}")
        return self.result(
            found == self.release, f"the server runs release {found} (expected {self.release})", release=found
        )
'''

PLANS = '''\
"""How the LABNAME lab's runbook is staged and judged (see lab.plan), for its scenarios and `opslab rehearse`."""

from __future__ import annotations

from typing import Any

from lab.checks import Invariant
from lab.plan import Expect, Plan
from lab.scenario import ScenarioRun

from LABNAME.checks import RunsRelease

WATCH: list[type[Invariant]] = []  # invariants watched all through a scenario or a rehearsal (none yet)


class Deploy(Plan):
    """Nothing to stage: the server runs its first release. The goal: it runs the next one."""

    title = "deploy: the server runs the next release"

    def judgements(self, run: ScenarioRun, stage: Any) -> list[Expect]:
        return [Expect(RunsRelease(run.facts["next_release"]))]


DEPLOY = Deploy()
PLANS: dict[str, Plan] = {"deploy": DEPLOY}
DEFAULT: Plan = DEPLOY
'''

DEFINITION = '''\
"""The LABNAME lab as opslab sees it: the entry point `opslab.labs: LABNAME` names `LAB` (see lab.registry)."""

from pathlib import Path

from lab.registry import LabDefinition

from LABNAME.lab import SPEC
from LABNAME.plans import DEFAULT, PLANS, WATCH
from LABNAME.procedures import PROCEDURES

LAB = LabDefinition(
    spec=SPEC,
    procedures=PROCEDURES,
    plans=PLANS,
    default_plan=DEFAULT,
    invariants=WATCH,
    scenarios=Path(__file__).parent / "scenarios",
)
'''

SCENARIOS = '''\
"""The LABNAME lab's scenarios: the runbook reaches its goal; the variant that forgets a step is shown to fail."""

from lab.scenario import ScenarioRun

from LABNAME.plans import DEPLOY, WATCH


def test_deploy(scenario: ScenarioRun) -> None:
    """The runbook: the next release is unpacked and switched to; the server runs it."""
    DEPLOY.walk(scenario, "deploy", watch=WATCH)


def test_deploy_without_switch(scenario: ScenarioRun) -> None:
    """Unpacking without switching leaves the first release running: RunsRelease says fail."""
    DEPLOY.walk(scenario, "deploy_without_switch", watch=WATCH, expect={"RunsRelease": "fail"})
'''

UNIT_TESTS = '''\
"""RunsRelease judged on canned data: what `cat /srv/app/current/VERSION` can answer."""

from lab.checks import Verdict

from LABNAME.checks import RunsRelease, running_release


def test_the_release_a_version_file_names() -> None:
    assert running_release("release 2\\n") == 2
    assert running_release("garbage") is None


def test_the_expected_release_passes() -> None:
    assert RunsRelease(2).judge(0, "release 2\\n").verdict == Verdict.PASS


def test_another_release_fails() -> None:
    result = RunsRelease(2).judge(0, "release 1\\n")
    assert result.verdict == Verdict.FAIL and "runs release 1" in result.detail


def test_no_current_release_fails() -> None:
    assert RunsRelease(2).judge(1, "").verdict == Verdict.FAIL


def test_an_unreadable_version_is_unknown_never_pass() -> None:
    assert RunsRelease(2).judge(0, "2.0-beta").verdict == Verdict.UNKNOWN
'''

COMPOSE = """\
# The LABNAME lab: one host, `server`, on the network `lan`.
#
#   server (${LAN_NET}.10) ── lan
#
# opslab's conventions: every address comes from a subnet variable (opslab sets LAN_NET per instance; the default
# serves a plain `docker compose up`); a host is ready when its entrypoint wrote /run/opslab-ready, which the
# healthcheck tests; the image is built here (`opslab images LABNAME`) and never pulled; opslab puts its labels
# (org.opslab.lab, org.opslab.owner, org.opslab.keep) on every container, network and volume itself.
services:
  server:
    image: opslab/LABNAME-server:latest
    build: {context: .}
    pull_policy: never
    init: true
    hostname: server
    stop_grace_period: 1s
    environment:
      FIRST_RELEASE: "${FIRST_RELEASE:-1}"
    healthcheck:
      test: ["CMD", "test", "-f", "/run/opslab-ready"]
      interval: 300ms
      timeout: 2s
      retries: 30
      start_period: 0s
    networks:
      lan: {ipv4_address: "${LAN_NET:-10.213.250}.10"}

networks:
  lan:
    ipam:
      config: [{subnet: "${LAN_NET:-10.213.250}.0/24", gateway: "${LAN_NET:-10.213.250}.254"}]
"""

DOCKERFILE = """\
# The LABNAME lab's image: Debian (opslab's base image, built locally) and the entrypoint. Install the lab's real
# software here: `RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends PACKAGE ...`.
ARG BASE=opslab/base:bookworm
FROM ${BASE}
COPY entrypoint.sh /usr/local/sbin/opslab-entrypoint
ENTRYPOINT ["/usr/local/sbin/opslab-entrypoint"]
CMD ["sleep", "infinity"]
"""

ENTRYPOINT = """\
#!/bin/sh
# Installs release $FIRST_RELEASE of the application and makes it current, then says the host is ready.
set -e
mkdir -p "/srv/app/releases/$FIRST_RELEASE"
echo "release $FIRST_RELEASE" > "/srv/app/releases/$FIRST_RELEASE/VERSION"
ln -sfn "/srv/app/releases/$FIRST_RELEASE" /srv/app/current
touch /run/opslab-ready
exec "$@"
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "LABNAME/__init__.py": '"""The LABNAME lab for opslab."""\n',
    "LABNAME/lab.py": LAB,
    "LABNAME/procedures.py": PROCEDURES,
    "LABNAME/checks.py": CHECKS,
    "LABNAME/plans.py": PLANS,
    "LABNAME/definition.py": DEFINITION,
    "LABNAME/scenarios/__init__.py": '"""The LABNAME lab\'s scenarios (test_*.py)."""\n',
    "LABNAME/scenarios/test_LABNAME.py": SCENARIOS,
    "LABNAME/compose/compose.yaml": COMPOSE,
    "LABNAME/compose/Dockerfile": DOCKERFILE,
    "LABNAME/compose/entrypoint.sh": ENTRYPOINT,
    "tests/test_checks.py": UNIT_TESTS,
}
EXECUTABLE = {"LABNAME/compose/entrypoint.sh"}


def check_name(name: str, where: Path) -> None:
    """Refuse a name that cannot be a lab's (a package's) name, one that is taken, or a folder that exists."""
    from lab.registry import labs

    if not re.fullmatch(NAME_FORM, name) or keyword.iskeyword(name):
        raise UsageError(
            f"{name!r} cannot name a lab",
            "a lab's name is also its Python package's: lower-case letters, digits and _, starting with a letter "
            "(2 to 31 characters), e.g. keepalived",
        )
    if name in labs():
        raise UsageError(f"a lab named {name} is installed already", "choose another name (`opslab list`)")
    if (where / name).exists():
        raise UsageError(f"{where / name} exists already", "choose another name, or remove it first")


def new_lab(name: str, where: Path) -> list[Path]:
    """Write the lab `name` into `where/name/`; returns the files written."""
    check_name(name, where)
    root = where / name
    written = []
    for rel, text in FILES.items():
        path = root / rel.replace("LABNAME", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("LABNAME", name))
        if rel in EXECUTABLE:
            path.chmod(0o755)
        written.append(path)
    return written

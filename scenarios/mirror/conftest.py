"""Keeps every mirror the client made in the report folder, browsable: <report>/mirror/<scenario>/<folder>/.

The framework's report has no place for a lab's files yet; this fixture copies /srv/mirror out of the client
(docker's archive API, read-only) before the lab is taken down, when a report folder was asked for.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import dockerapi
from lab.scenario import ScenarioRun
from scenarios.mirror.lab import MIRRORS


def copy_mirrors(run: ScenarioRun, dest: Path) -> None:
    container = dockerapi.client().containers.get(run.lab.container_name("client"))
    stream, _ = container.get_archive(MIRRORS + "/.")
    data = io.BytesIO(b"".join(stream))
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=data) as tar:
        tar.extractall(dest, filter="data")


@pytest.fixture(autouse=True)
def keep_mirrors(request: pytest.FixtureRequest) -> Iterator[None]:
    if "scenario" not in request.fixturenames:
        yield
        return
    run: ScenarioRun = request.getfixturevalue("scenario")
    yield
    folder = request.config.getoption("--opslab-report", default=None)
    if not folder or run.lab.started is None:
        return
    try:
        copy_mirrors(run, Path(folder) / "mirror" / run.id.split("/", 1)[1])
    except Exception as exc:  # a copy that fails is noted, never a verdict
        run.note(f"could not keep the mirrors in the report: {exc}")

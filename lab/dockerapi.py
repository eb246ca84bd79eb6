"""The Docker engine, reached through the docker SDK; a missing or stopped engine is a clear error."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from lab.errors import EnvironmentProblem

HINT = "start it with `opslab doctor --fix` (installs Docker from Debian and starts dockerd), or `make demo`"


@lru_cache(maxsize=1)
def client() -> Any:
    try:
        import docker

        c = docker.from_env(timeout=120)
        c.ping()
        return c
    except Exception as exc:
        raise EnvironmentProblem(f"the Docker engine is not reachable ({type(exc).__name__})", HINT) from None

"""The Docker engine, reached through the docker SDK; a missing or stopped engine is a clear error.

Which engine: the one the docker CLI would use, so the SDK client, `docker compose` and `docker exec` (testinfra)
always talk to the same one: `DOCKER_HOST` when set (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), else the
current docker context's endpoint (`DOCKER_CONTEXT`, else the CLI's current context), else the local socket.
`engine()` says which engine and why (`Engine.url`, `Engine.source`); `client()` is its SDK client, made once
per engine URL.

Several engines (`opslab run --engines URL,URL`): `parse_engines` checks the list's form (unix://, tcp://,
ssh:// URLs), `check_reachable` asks each engine for its version with a short timeout (before any lab starts), and
`bind(url)` makes this process and every command it starts use one of them (`DOCKER_HOST`, no `DOCKER_CONTEXT`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lab.errors import EnvironmentProblem, UsageError

HINT = "start it with `opslab doctor --fix` (installs Docker from Debian and starts dockerd), or `make demo`"
DEFAULT_URL = "unix:///var/run/docker.sock"
SCHEMES = ("unix://", "tcp://", "ssh://")
ENGINE_HINT = "an engine is unix:///path/to/docker.sock, tcp://HOST:2375 (or :2376 with DOCKER_TLS_VERIFY) or ssh://USER@HOST"


@dataclass(frozen=True)
class Engine:
    url: str
    source: str  # why this engine: "DOCKER_HOST", "docker context NAME", "the default socket"
    context: str = ""  # the docker context it came from (its TLS material is used too)


def _context_endpoint(name: str | None) -> tuple[str, str] | None:
    """(context name, its docker endpoint) of `name` or the CLI's current context; None for the default one."""
    if shutil.which("docker") is None:
        return None
    argv = ["docker", "context", "inspect", "--format", "{{.Name}} {{.Endpoints.docker.Host}}"]
    try:
        env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
        r = subprocess.run(
            argv + ([name] if name else []), capture_output=True, text=True, timeout=10, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = r.stdout.split()
    if r.returncode != 0 or len(parts) != 2 or parts[0] == "default":
        if name and name != "default":
            raise UsageError(
                f"docker context {name!r} (DOCKER_CONTEXT) does not exist", "`docker context ls` lists them"
            )
        return None
    return parts[0], parts[1]


def engine() -> Engine:
    """The engine opslab uses now, and why (worked out once per DOCKER_HOST / DOCKER_CONTEXT value)."""
    return _engine(os.environ.get("DOCKER_HOST", "").strip(), os.environ.get("DOCKER_CONTEXT", "").strip())


@lru_cache(maxsize=8)
def _engine(host: str, context: str) -> Engine:
    if host:
        return Engine(host, "DOCKER_HOST")
    ctx = _context_endpoint(context or None)
    if ctx is not None:
        return Engine(ctx[1], f"docker context {ctx[0]}", context=ctx[0])
    return Engine(DEFAULT_URL, "the default socket")


def _make(url: str, timeout: int, context: str = "") -> Any:
    import docker

    if context:  # the context's endpoint with its TLS material, as the docker CLI uses it
        from docker.context import ContextAPI

        ctx = ContextAPI.get_context(context)
        tls = ctx.TLSConfig if ctx is not None and ctx.TLSConfig else False
        return docker.DockerClient(base_url=url, timeout=timeout, tls=tls, use_ssh_client=url.startswith("ssh://"))
    if os.environ.get("DOCKER_HOST", "").strip() == url:
        return docker.from_env(timeout=timeout, use_ssh_client=url.startswith("ssh://"))
    return docker.DockerClient(base_url=url, timeout=timeout, use_ssh_client=url.startswith("ssh://"))


@lru_cache(maxsize=8)
def _client(url: str, context: str) -> Any:
    try:
        c = _make(url, 120, context)
        c.ping()
        return c
    except Exception as exc:
        raise EnvironmentProblem(
            f"the Docker engine is not reachable at {url} ({type(exc).__name__})",
            HINT if url == DEFAULT_URL else f"check it with `DOCKER_HOST={url} docker version` or `opslab doctor`",
        ) from None


def client() -> Any:
    """The SDK client of the engine in effect (`engine()`), made once per engine."""
    eng = engine()
    return _client(eng.url, eng.context)


def parse_engines(value: str, option: str = "--engines") -> list[str]:
    """The engine URLs of a comma-separated list, checked for form (nothing is contacted)."""
    urls = [u.strip() for u in value.split(",")]
    if not value.strip() or any(not u for u in urls):
        raise UsageError(f"{option} {value!r}: an empty engine in the list", f"{option} URL,URL; {ENGINE_HINT}")
    for u in urls:
        rest = next((u[len(s) :] for s in SCHEMES if u.startswith(s)), None)
        if rest is None or not rest.strip("/"):
            raise UsageError(f"{option}: {u!r} is not a Docker engine URL", ENGINE_HINT)
    if len(set(urls)) != len(urls):
        raise UsageError(f"{option}: an engine is named twice in {value!r}", "name each engine once")
    return urls


def check_reachable(urls: list[str], option: str = "--engines") -> dict[str, str]:
    """{url: server version} of every engine, each asked with a short timeout; an engine that does not answer is
    a UsageError (bad input, refused before any lab starts)."""
    out: dict[str, str] = {}
    for url in urls:
        try:
            c = _make(url, 10)
            out[url] = str(c.version().get("Version", "?"))
            c.close()
        except Exception as exc:
            why = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise UsageError(
                f"{option}: the engine {url} does not answer ({why})",
                f"check it with `DOCKER_HOST={url} docker version`, or leave it out of {option}",
            ) from None
    return out


def bind(url: str) -> None:
    """Use engine `url` from now on in this process and every command it starts (compose, docker exec)."""
    os.environ["DOCKER_HOST"] = url
    os.environ.pop("DOCKER_CONTEXT", None)


@contextmanager
def bound(url: str | None) -> Iterator[None]:
    """`bind(url)` for the block only (None: the engine in effect); the engine in effect before comes back after."""
    saved = {key: os.environ.get(key) for key in ("DOCKER_HOST", "DOCKER_CONTEXT")}
    if url is not None:
        bind(url)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

"""Running commands on the machine that drives the labs (docker, compose, apt-get).

`run(argv)` returns the completed process or raises `CommandError` naming the command exactly as run,
its exit code and the tail of its output. Arguments are a list, never a shell string.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence

from lab.errors import CommandError, EnvironmentProblem


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stream: bool = False,
    hint: str | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv; with stream=True its output goes straight to the terminal (progress a person sees)."""
    try:
        proc = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            timeout=timeout,
            text=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=None if stream else subprocess.PIPE,
            stderr=None if stream else subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise EnvironmentProblem(
            f"{argv[0]} is not installed", hint or "run `opslab doctor --fix` (or `make demo`)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(shlex.join(argv), -1, "", f"timed out after {timeout}s", hint) from exc
    if check and proc.returncode != 0:
        raise CommandError(shlex.join(argv), proc.returncode, proc.stdout or "", proc.stderr or "", hint)
    return proc

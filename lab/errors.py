"""The one root error of opslab and its kinds.

Every error a person can cause or fix (bad input, a missing Docker engine, a command that failed, a wait
that ran out) is an `OpslabError`: a one-line message, an optional `Hint:` that says what to do, and the
exit code the command line returns. The CLI prints `str(error)` and never a traceback for these.
"""

from __future__ import annotations


class OpslabError(Exception):
    """A failure with a message for a person and a hint on what to do next."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class UsageError(OpslabError):
    """The command line or a file given to it is wrong."""


class EnvironmentProblem(OpslabError):
    """The machine lacks something opslab needs (Docker engine, Compose v2, binfmt, /dev/net/tun)."""

    exit_code = 3


class CommandError(OpslabError):
    """A command ran and failed; names the command exactly as run, its exit code and output."""

    def __init__(self, command: str, rc: int, stdout: str = "", stderr: str = "", hint: str | None = None) -> None:
        out = (stderr or stdout).strip()
        tail = "\n".join(out.splitlines()[-8:])
        super().__init__(f"command failed (exit {rc}): {command}" + (f"\n{tail}" if tail else ""), hint)
        self.command = command
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class WaitTimeout(OpslabError):
    """A wait ran out: says what it waited for and what it saw last."""

    def __init__(self, what: str, timeout: float, last: object = None, hint: str | None = None) -> None:
        seen = f"; last seen: {last!r}" if last is not None else ""
        super().__init__(f"timed out after {timeout:g}s waiting for {what}{seen}", hint)
        self.what = what
        self.last = last


class DeadlinePassed(BaseException):
    """A scenario ran past its deadline (`--timeout`). A BaseException, like Ctrl-C, so that no `except Exception`
    in a scenario, check or wait swallows it: it unwinds to the engine, which records `error` and takes the lab
    down."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the scenario ran past its deadline of {seconds:g} s (--timeout)")
        self.seconds = seconds


def describe(exc: BaseException) -> str:
    """An exception as a verdict's `error` says it: an OpslabError's own message, anything else with its type
    (`KeyError: 'boom'`), so a crash is never mistaken for a judgement."""
    if isinstance(exc, OpslabError):
        return str(exc)
    if isinstance(exc, DeadlinePassed):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception as one line (an `OpslabError`'s message without its hint; output lines joined by ' / ')."""
    text = exc.message if isinstance(exc, OpslabError) else describe(exc)
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())

"""Host: one container of a lab, as testinfra sees it, with small modules for what tests ask of it.

`Host.run("ip addr add %s dev %s", ip, dev)` quotes its arguments (testinfra style) and returns a
`Result` (rc, stdout, stderr, succeeded). Questions a scenario asks are small modules attached to the host:
`host.net.neigh("10.0.0.1")`, `host.net.mac()`, `host.net.has_address(ip)`, `host.sysctl(name)`; a log that grows
is read from a mark on (`mark = host.log_mark(path)` ... `host.log_since(path, mark)`). They parse
machine-readable output (`ip -j`), so callers never scrape text.

The transport is the only part that touches Docker: `DockerTransport` goes through testinfra's docker
backend; unit tests give a `FakeTransport` that records commands and replays canned answers.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lab.errors import CommandError


@dataclass(frozen=True)
class Result:
    command: str
    rc: int
    stdout: str
    stderr: str

    @property
    def succeeded(self) -> bool:
        return self.rc == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Reader(Protocol):
    """What a judge may do with a host: ask it (see lab/view.py). `Host` is one; so is a test's fake."""

    @property
    def name(self) -> str: ...

    @property
    def net(self) -> Net: ...

    def run(self, command: str, *args: object, timeout: float | None = None) -> Result: ...

    def check_output(self, command: str, *args: object) -> str: ...

    def read_file(self, path: str) -> str: ...

    def sysctl(self, name: str) -> str: ...

    def log_mark(self, path: str) -> int: ...

    def log_since(self, path: str, mark: int = 0) -> str: ...


class Transport(Protocol):
    def run(self, command: str, timeout: float | None = None) -> Result: ...


TIMED_OUT_RC = 124  # coreutils timeout's exit status when the deadline killed the command
KILL_GRACE_S = 5  # after the deadline's TERM, KILL whatever of the command still runs this much later


def with_deadline(command: str, timeout: float) -> str:
    """`command` wrapped so the host itself kills it (and what it started in its process group) after `timeout`
    seconds: TERM, then KILL after KILL_GRACE_S. Exit status TIMED_OUT_RC (124) then says it was cut short."""
    return f"timeout -k {KILL_GRACE_S} {timeout:g} /bin/sh -c {shlex.quote(command)}"


class DockerTransport:
    """Commands through testinfra's docker backend (`docker exec <container> /bin/sh -c <command>`)."""

    def __init__(self, container: str) -> None:
        import testinfra  # imported here: unit tests with a fake transport need no Docker

        self.container = container
        self._host = testinfra.get_host(f"docker://{container}")

    def run(self, command: str, timeout: float | None = None) -> Result:
        r = self._host.run(with_deadline(command, timeout) if timeout is not None else command)
        return Result(command, r.rc, r.stdout, r.stderr)


class FakeTransport:
    """Records every command; answers from `replies` (first matching substring wins), else rc 0 and ''."""

    def __init__(self, replies: dict[str, tuple[int, str] | Callable[[str], tuple[int, str]]] | None = None):
        self.replies = dict(replies or {})
        self.commands: list[str] = []
        self.timeouts: list[float | None] = []

    def run(self, command: str, timeout: float | None = None) -> Result:
        self.commands.append(command)
        self.timeouts.append(timeout)
        for key, reply in self.replies.items():
            if key in command:
                rc, out = reply(command) if callable(reply) else reply
                return Result(command, rc, out if rc == 0 else "", "" if rc == 0 else out)
        return Result(command, 0, "", "")


@dataclass(frozen=True)
class NeighEntry:
    ip: str
    mac: str | None
    state: str
    dev: str


class Net:
    """Addresses, links and the neighbour (ARP) table of a host, read with `ip -j`."""

    def __init__(self, host: Reader) -> None:
        self._host = host

    def _json(self, command: str) -> Any:
        out = self._host.check_output(command)
        return json.loads(out) if out.strip() else []

    def addresses(self, dev: str | None = None) -> list[str]:
        links = self._json("ip -j addr show" + (f" dev {shlex.quote(dev)}" if dev else ""))
        return [a["local"] for link in links for a in link.get("addr_info", []) if a.get("family") == "inet"]

    def has_address(self, ip: str) -> bool:
        return ip in self.addresses()

    def mac(self, dev: str = "eth0") -> str:
        links = self._json(f"ip -j link show dev {shlex.quote(dev)}")
        return str(links[0]["address"]).lower()

    def dev_for(self, ip_prefix: str) -> str:
        """The interface whose address starts with ip_prefix (e.g. the LAN's '10.213.4.')."""
        for link in self._json("ip -j addr show"):
            for a in link.get("addr_info", []):
                if a.get("family") == "inet" and str(a.get("local", "")).startswith(ip_prefix):
                    return str(link["ifname"])
        raise CommandError(f"ip -j addr show  (on {self._host.name})", 1, "", f"no interface in {ip_prefix}*")

    def neigh(self, ip: str) -> NeighEntry | None:
        entries = self._json(f"ip -j neigh show {shlex.quote(ip)}")
        for e in entries:
            if e.get("dst") == ip:
                state = e.get("state") or ["NONE"]
                return NeighEntry(ip, (e.get("lladdr") or "").lower() or None, str(state[0]), str(e.get("dev")))
        return None


class Host:
    def __init__(self, name: str, container: str, transport: Transport) -> None:
        self.name = name
        self.container = container
        self.transport = transport
        self.net = Net(self)

    def __repr__(self) -> str:
        return f"<Host {self.name} ({self.container})>"

    def run(self, command: str, *args: object, timeout: float | None = None) -> Result:
        """Run a command; `%s` placeholders are filled with shell-quoted args. With `timeout`, the host kills the
        command after that many seconds and the result's rc is TIMED_OUT_RC (see `with_deadline`)."""
        if args:
            command = command % tuple(shlex.quote(str(a)) for a in args)
        return self.transport.run(command, timeout=timeout)

    def check_output(self, command: str, *args: object) -> str:
        r = self.run(command, *args)
        if not r.succeeded:
            raise CommandError(f"{r.command}  (on {self.name})", r.rc, r.stdout, r.stderr)
        return r.stdout

    def run_background(self, command: str, log: str) -> None:
        """Start a long-running command in the host, detached, its output in `log` (inside the host)."""
        self.check_output(f"nohup sh -c {shlex.quote(command)} > {shlex.quote(log)} 2>&1 &")

    def sysctl(self, name: str) -> str:
        return self.check_output("cat %s", "/proc/sys/" + name.replace(".", "/")).strip()

    def read_file(self, path: str) -> str:
        return self.check_output("cat %s", path)

    def log_mark(self, path: str) -> int:
        """A mark in a log that grows: its length now (0 when there is no log yet), for `log_since`."""
        r = self.run("stat -c %%s %s", path)
        return int(r.stdout.strip()) if r.succeeded and r.stdout.strip().isdigit() else 0

    def log_since(self, path: str, mark: int = 0) -> str:
        """What the log says after `mark` (all of it from 0); empty when there is no log."""
        r = self.run("tail -c +%s %s", mark + 1, path)
        return r.stdout if r.succeeded else ""

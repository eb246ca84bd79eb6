"""The local API of the volume, for the service that stores its data on it and for drbdadm: the control socket.

Contract: `Volume(socket_path)` speaks JSON lines to the daemon (sims.drbd.daemon). `read_block(n) -> bytes`,
`write_block(n, data)` (returns once the write is done as protocol C defines it; refused unless Primary),
`status() -> dict`, and `request(cmd, **args) -> dict` for administration. `open()` holds the device as a process
holding /dev/drbd0 open does (only on a Primary; while held, the node cannot be demoted: "(-12) Device is held open
by someone"); `release()` or `close()` (the end of the connection, as at a process's exit) lets go. A refusal
raises `VolumeError` carrying DRBD's message and the exit code drbdadm would use; a daemon that cannot be reached
raises `DaemonUnavailable`.
"""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path
from typing import Any


class VolumeError(Exception):
    def __init__(self, message: str, exit_code: int, code: int | None = None, info: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code
        self.info = info


class DaemonUnavailable(VolumeError):
    pass


class Volume:
    def __init__(self, socket_path: str | Path, timeout: float = 60.0) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: Any = None

    def _connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError as e:
            sock.close()
            raise DaemonUnavailable(f"cannot reach the drbd daemon at {self.socket_path}: {e.strerror}", 10) from e
        self._sock = sock
        self._file = sock.makefile("rwb")

    def request(self, cmd: str, **args: Any) -> dict[str, Any]:
        if self._sock is None:
            self._connect()
        try:
            self._file.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as e:
            self.close()
            raise DaemonUnavailable(f"lost the drbd daemon at {self.socket_path}: {e}", 10) from e
        if not line:
            self.close()
            raise DaemonUnavailable(f"the drbd daemon at {self.socket_path} hung up", 10)
        reply: dict[str, Any] = json.loads(line)
        if reply.get("rc", 0) != 0:
            raise VolumeError(reply.get("err", "failed"), int(reply["rc"]), reply.get("code"), reply.get("info") or "")
        return reply

    def read_block(self, block: int, *, inspect: bool = False) -> bytes:
        return base64.b64decode(self.request("read", block=block, inspect=inspect)["data"])

    def write_block(self, block: int, data: bytes) -> None:
        self.request("write", block=block, data=base64.b64encode(data).decode())

    def open(self) -> None:
        """Hold the device open on this connection (refused unless the node is Primary)."""
        self.request("open")

    def release(self) -> None:
        """Let go of one hold made by `open` on this connection."""
        self.request("close")

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.request("status")["status"]
        return status

    def close(self) -> None:
        if self._sock is not None:
            self._file.close()
            self._sock.close()
        self._sock = None
        self._file = None

    def __enter__(self) -> Volume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

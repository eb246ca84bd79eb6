"""The record service: numbered records kept on the DRBD volume, served over HTTP on the floating IP.

`PUT /records/<n>` with a short body stores record n and answers `200 stored <n> on <host>` once the volume has
it (protocol C: both disks, or the bitmap when the peer is away); `GET /records/<n>` answers its body or 404.
A record is a 64-byte slot, 64 to a 4 KiB block (record n in block 1 + n // 64), so a few seconds of writes dirty
a handful of blocks. The service holds nothing in memory: a node that takes over reads what the disk has.
Like a service on /dev/drbd0 it holds the device open while it runs (`Volume.open()` at start; the hold ends with
the process), so the node cannot be demoted under it: `drbdadm secondary r0` fails with "(-12) Device is held open
by someone" until the service is stopped, which is why heartbeat stops it before drbddisk. It refuses to start on
a node that is not Primary.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from sims.drbd.client import DaemonUnavailable, Volume, VolumeError

SLOT = 64
PER_BLOCK = 4096 // SLOT
LOCK = threading.Lock()
HOST = socket.gethostname()
VOLUME = Volume("/run/drbd-sim/r0.sock", timeout=30.0)


def locate(n: int) -> tuple[int, int]:
    return 1 + n // PER_BLOCK, (n % PER_BLOCK) * SLOT


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def _answer(self, code: int, text: str) -> None:
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> int | None:
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "records" and parts[1].isdigit():
            return int(parts[1])
        return None

    def do_PUT(self) -> None:  # noqa: N802
        n = self._record()
        if n is None:
            return self._answer(404, "no such path")
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))[: SLOT - 1]
        block, off = locate(n)
        try:
            with LOCK:
                buf = bytearray(VOLUME.read_block(block))
                buf[off : off + SLOT] = data.ljust(SLOT, b"\0")
                VOLUME.write_block(block, bytes(buf))
        except VolumeError as e:
            if isinstance(e, DaemonUnavailable):
                VOLUME.close()  # the daemon is gone, and the hold with it; only a refusal keeps the connection
            return self._answer(503, f"volume refused: {e}")
        self._answer(200, f"stored {n} on {HOST}")

    def do_GET(self) -> None:  # noqa: N802
        n = self._record()
        if n is None:
            return self._answer(200 if self.path == "/" else 404, f"recordd on {HOST}")
        block, off = locate(n)
        try:
            with LOCK:
                raw = VOLUME.read_block(block)[off : off + SLOT].rstrip(b"\0")
        except VolumeError as e:
            if isinstance(e, DaemonUnavailable):
                VOLUME.close()
            return self._answer(503, f"volume refused: {e}")
        self._answer(200 if raw else 404, raw.decode(errors="replace"))

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(HTTPServer):
    def server_bind(self) -> None:
        # HTTPServer's own server_bind asks socket.getfqdn(<floating IP>): a reverse DNS lookup, which takes the
        # resolver's whole timeout where it does not answer, longer than heartbeat's resource script waits
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", required=True)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--ready", help="a file created once the service listens")
    a = p.parse_args()
    try:
        VOLUME.open()
    except VolumeError as e:
        raise SystemExit(
            f"recordd: cannot hold the volume open: {e}\nHint: start it after drbddisk made r0 Primary"
        ) from None
    server = Server((a.listen, a.port), Handler)
    if a.ready:
        open(a.ready, "w").close()
    server.serve_forever()


if __name__ == "__main__":
    main()

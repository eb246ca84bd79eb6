"""Packet capture on a lab network, inside the lab: tcpdump in a host on that network, read back through the engine.

`Capture(lab, "lan", keep, host=None, bpf="")` runs `tcpdump` in one host of the lab attached to the network (by
default the first one the compose file puts on it; a lab names the one that sees what it judges) on that host's
interface in the network. Nothing is sniffed on this machine, so a capture works the same against a Docker engine
elsewhere (`DOCKER_HOST=tcp://…`, `ssh://…`, a docker context): the frames are written to a pcap file in the host
and read back through the engine's archive API (binary-safe, no `docker exec` output decoding).

What it sees: what that host's interface sees, without promiscuous mode (`-p`, so capturing changes nothing in the
lab): every broadcast, and every frame to or from the host. It is taken before the host's netfilter hooks, so a
frame a fault drops in that host is still seen arriving. Times are the engine's kernel clock (pcap timestamps), as
every other in-lab time (`date` in a host, the workloads' logs).

- `start()` returns once tcpdump says it listens (a wait with a deadline); the image needs `tcpdump`.
- `packets` are the frames seen so far (scapy `Ether` packets with `.time`), `keep` applied in Python; the pcap is
  re-read at each call while running (a record still being written is left for the next read).
- `stop()` stops tcpdump by its pid, waits until it is gone, reads the file a last time and returns the frames;
  calling it again returns the same frames. `ScenarioRun.capture` stops every capture at the end of the run.
`read_pcap(data)` is the pcap reader (classic format, micro- or nanosecond timestamps, either byte order).
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lab.errors import EnvironmentProblem
from lab.wait import wait_until

if TYPE_CHECKING:
    from lab.lifecycle import Lab

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


def read_pcap(data: bytes) -> list[tuple[float, bytes]]:
    """The (time, frame) records of a pcap file's bytes; a torn last record (still being written) is left out,
    and a file shorter than its header (tcpdump has not flushed it yet) holds none."""
    if len(data) < 24:
        return []
    if data[:4] not in _MAGIC:
        raise EnvironmentProblem("the capture file is not a pcap file", "the lab's image needs tcpdump")
    order, unit = _MAGIC[data[:4]]
    out: list[tuple[float, bytes]] = []
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(f"{order}IIII", data[pos : pos + 16])
        if pos + 16 + incl > len(data):
            break
        out.append((sec + frac * unit, data[pos + 16 : pos + 16 + incl]))
        pos += 16 + incl
    return out


def frames(data: bytes) -> list[Any]:
    """The pcap's frames as scapy Ethernet packets, each with its capture time in `.time`."""
    from scapy.layers.l2 import Ether

    packets = []
    for t, raw in read_pcap(data):
        p = Ether(raw)
        p.time = t
        packets.append(p)
    return packets


class Capture:
    def __init__(
        self,
        lab: Lab,
        network: str,
        keep: Callable[[Any], bool] | None = None,
        *,
        host: str | None = None,
        bpf: str = "",
    ) -> None:
        self.lab = lab
        self.network = network
        self.host = host or lab.first_host_on(network)
        self.bpf = bpf
        self._keep = keep
        base = f"/tmp/opslab-capture-{network}-{secrets.token_hex(3)}"
        self.path, self.log, self.pidfile = f"{base}.pcap", f"{base}.log", f"{base}.pid"
        self.dev = ""
        self._running = False
        self._final: list[Any] | None = None

    def __repr__(self) -> str:
        return f"<Capture {self.network} on {self.host}:{self.dev or '?'}>"

    def start(self) -> Capture:
        h = self.lab.host(self.host)
        self.dev = h.net.dev_for(self.lab.net_prefix(self.network) + ".")
        bpf = f" {self.bpf}" if self.bpf else ""
        if not h.run("command -v tcpdump").succeeded:
            raise EnvironmentProblem(
                f"host {self.host} has no tcpdump, so it cannot capture on {self.network}",
                "add tcpdump to the lab's image (a Debian package in its Dockerfile)",
            )
        h.run_background(
            f"echo $$ > {self.pidfile}; exec tcpdump -Z root -i {self.dev} -p -n -U -w {self.path}{bpf}", self.log
        )
        wait_until(
            lambda: "listening on" in h.run("cat %s", self.log).stdout,
            what=f"tcpdump on {self.host}:{self.dev} ({self.network}) to listen",
            timeout=START_TIMEOUT_S,
            interval=0.05,
            hint=f"its log is {self.log} in {self.host}",
        )
        self._running = True
        return self

    def _read(self) -> list[Any]:
        data = self.lab.read_bytes(self.host, self.path)
        return [p for p in frames(data) if self._keep is None or self._keep(p)]

    def _alive(self) -> bool:
        alive = f"pid=$(cat {self.pidfile}) && grep -q '^State:[[:space:]]*[^Z]' /proc/$pid/status"
        return self.lab.host(self.host).run(alive).succeeded

    def stop(self) -> list[Any]:
        if self._final is not None:
            return list(self._final)
        if not self._running:
            return []
        try:
            self.lab.host(self.host).run(f"kill -TERM $(cat {self.pidfile})")
            wait_until(
                lambda: not self._alive(),
                what=f"tcpdump on {self.host} to stop",
                timeout=STOP_TIMEOUT_S,
                interval=0.05,
            )
            self._final = self._read()
        except Exception as exc:
            raise EnvironmentProblem(
                f"packet capture on {self.host}:{self.dev} ({self.network}) failed: {exc}",
                f"read its log {self.log} in {self.host} (opslab run --keep, then opslab shell)",
            ) from exc
        finally:
            self._running = False
        return list(self._final)

    @property
    def packets(self) -> list[Any]:
        """The frames seen so far (while running too)."""
        if self._final is not None:
            return list(self._final)
        return self._read() if self._running else []


def arp_only(packet: Any) -> bool:
    from scapy.layers.l2 import ARP

    return ARP in packet


def arp_fields(packet: Any) -> dict[str, Any]:
    """The fields of an ARP frame that matter to a neighbour cache, as plain values."""
    from scapy.layers.l2 import ARP

    a = packet[ARP]
    return {
        "t": float(packet.time),
        "op": "request" if a.op == 1 else "reply" if a.op == 2 else str(a.op),
        "eth_dst": str(packet.dst).lower(),
        "sender_mac": str(a.hwsrc).lower(),
        "sender_ip": str(a.psrc),
        "target_mac": str(a.hwdst).lower(),
        "target_ip": str(a.pdst),
        "gratuitous": a.psrc == a.pdst,
    }

"""Packet capture on a lab network, from this machine, with scapy.

Each lab network is a Linux bridge on this machine; `Capture(lab, "lan")` sniffs it (promiscuous, so frames
between two hosts are seen too) from start to stop. It only reads: capturing changes nothing in the lab.
Filtering is done in Python (`lfilter`), so no libpcap is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lab.errors import EnvironmentProblem
from lab.wait import wait_until

if TYPE_CHECKING:
    from lab.lifecycle import Lab


class Capture:
    def __init__(self, lab: Lab, network: str, keep: Callable[[Any], bool] | None = None) -> None:
        self.iface = lab.bridge(network)
        self.network = network
        self._keep = keep
        self._sniffer: Any = None
        self._packets: list[Any] = []

    def start(self) -> Capture:
        try:
            from scapy.all import AsyncSniffer
        except ImportError as exc:  # pragma: no cover - scapy is a dependency
            raise EnvironmentProblem("scapy is not installed", "pip install -e . (or make demo)") from exc
        self._sniffer = AsyncSniffer(iface=self.iface, lfilter=self._keep, store=False, prn=self._packets.append)
        self._sniffer.start()
        # scapy gives no event for "socket open": poll its flag
        wait_until(
            lambda: getattr(self._sniffer, "running", False),
            what=f"the capture on {self.iface} to start",
            timeout=5,
            interval=0.01,
        )
        return self

    def stop(self) -> list[Any]:
        if self._sniffer is not None:
            try:
                self._sniffer.stop()
            except Exception as exc:
                raise EnvironmentProblem(
                    f"packet capture on {self.iface} failed: {exc}", "captures need root on this machine"
                ) from exc
            self._sniffer = None
        return self._packets

    @property
    def packets(self) -> list[Any]:
        """The frames seen so far (while running too)."""
        return list(self._packets)


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

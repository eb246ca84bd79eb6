"""Two node cores joined by an in-memory link: the transport used by unit and property tests, no sockets.

Contract: `Pair` owns nodes `a` and `b` (a holds the tiebreak) built on `MemoryDevice` / `MemoryMetaStore`.
`deliver(limit)` moves queued messages in order, alternating directions, and returns how many it moved;
`settle()` delivers (and pumps resync) until nothing moves. `cut()` breaks the link, dropping what was in flight;
`heal()` brings it up when both sides want it; a side that hangs up (split brain, disconnect) still gets its last
words delivered, as TCP would. `crash(name)` throws a node away and boots a new core from the same disk and meta
data (what a power cut leaves). Completed writes are recorded in `acked[name]` as seq numbers, completed reads in
`reads[name]` (seq -> data, None for a read that failed).
"""

from __future__ import annotations

import random

from sims.drbd.node import Node, NodeConfig
from sims.drbd.storage import MemoryDevice, MemoryMetaStore


class Pair:
    def __init__(
        self, blocks: int = 16, block_size: int = 512, config: NodeConfig | None = None, seed: int = 0
    ) -> None:
        self.blocks = blocks
        self.block_size = block_size
        self.config = config or NodeConfig()
        self.rng = random.Random(seed)
        self.devices = {n: MemoryDevice(blocks, block_size) for n in ("a", "b")}
        self.stores = {n: MemoryMetaStore() for n in ("a", "b")}
        self.logs: dict[str, list[str]] = {"a": [], "b": []}
        self.acked: dict[str, set[int]] = {"a": set(), "b": set()}
        self.reads: dict[str, dict[int, bytes | None]] = {"a": {}, "b": {}}
        self.nodes: dict[str, Node] = {}
        self.linked = False
        self.wire: dict[str, list[dict[str, object]]] = {"a": [], "b": []}
        for name in ("a", "b"):
            self._boot(name)

    def _boot(self, name: str) -> Node:
        node = Node(
            self.devices[name],
            self.stores[name],
            self.config,
            log=self.logs[name].append,
            rng=random.Random(self.rng.getrandbits(32)),
        )
        node.write_done = self.acked[name].add
        node.read_done = self.reads[name].__setitem__
        self.nodes[name] = node
        return node

    @property
    def a(self) -> Node:
        return self.nodes["a"]

    @property
    def b(self) -> Node:
        return self.nodes["b"]

    def peer_of(self, name: str) -> Node:
        return self.nodes["b" if name == "a" else "a"]

    def heal(self) -> bool:
        if self.linked or not (self.a.wants_link and self.b.wants_link):
            return False
        self.linked = True
        self.wire = {"a": [], "b": []}
        self.a.link_up(tiebreak=True)
        self.b.link_up(tiebreak=False)
        self._flush()
        return True

    def cut(self) -> None:
        """A network failure: the link breaks and whatever was in flight is lost."""
        if self.linked:
            self.linked = False
            self.wire = {"a": [], "b": []}
            self.a.link_down()
            self.b.link_down()
        self._flush()

    def _flush(self) -> None:
        for name, node in self.nodes.items():
            if self.linked:
                self.wire[name].extend(node.outbox)
            node.outbox.clear()

    def deliver(self, limit: int | None = None) -> int:
        """Move messages one at a time, alternating directions like two busy sockets would."""
        self._flush()
        moved = 0
        while self.linked and (limit is None or moved < limit):
            progressed = False
            for src, dst in (("a", "b"), ("b", "a")):
                if self.linked and self.wire[src] and (limit is None or moved < limit):
                    self.nodes[dst].receive(self.wire[src].pop(0))
                    moved += 1
                    progressed = True
                    self._flush()
            if not (self.a.wants_link and self.b.wants_link):
                moved += self._close_gracefully()
            elif not progressed:
                break
        return moved

    def _close_gracefully(self) -> int:
        """One side hung up: the other still reads what was sent before the close, then sees the link drop."""
        moved = 0
        for src, dst in (("a", "b"), ("b", "a")):
            while self.linked and self.wire[src] and self.nodes[dst].wants_link:
                self.nodes[dst].receive(self.wire[src].pop(0))
                moved += 1
                self._flush()
        self.cut()
        return moved

    def settle(self, max_rounds: int = 10_000) -> None:
        for _ in range(max_rounds):
            pumped = self.a.pump_resync(1_000_000) + self.b.pump_resync(1_000_000)
            if self.deliver() == 0 and pumped == 0 and not self.a.outbox and not self.b.outbox:
                return
        raise AssertionError("the pair did not settle")

    def crash(self, name: str) -> Node:
        """Power cut: the node stops dead (no state change of its own), its peer sees the link drop."""
        if self.linked:
            self.linked = False
            self.wire = {"a": [], "b": []}
            self.peer_of(name).link_down()
        self._flush()
        node = self._boot(name)
        node.up()
        return node

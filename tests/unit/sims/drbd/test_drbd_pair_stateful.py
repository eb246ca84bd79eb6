"""Two in-process node cores driven through random writes, link cuts, promotions, crashes and reconnects, and a
service that opens and closes the device.

Invariants (DRBD's promises): a write acknowledged while connected is on the peer's disk when it is acknowledged
(protocol C); once both are Connected and UpToDate the disks are byte-identical; a promotion without --force only
ever succeeds on UpToDate data, or on a SyncTarget whose peer is UpToDate (drbd_set_role / is_valid_state); an open
device is never demoted (SS_DEVICE_IN_USE) and only a Primary is ever open; a crash as Primary is remembered in the
meta data (MDF_CRASHED_PRIMARY) until both disks are UpToDate; if both sides wrote while apart, the reconnect detects
split brain (or refuses unrelated data); reads on a Primary return the data of an UpToDate copy.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sims.drbd import AfterSbPolicies, CState, DState, Role
from sims.drbd.node import Node, NodeConfig, Refused
from sims.drbd.pair import Pair

BLOCKS, BS = 8, 64
NAMES = st.sampled_from(["a", "b"])
BLOCK = st.integers(0, BLOCKS - 1)


class TwoNodes(RuleBasedStateMachine):
    config = NodeConfig()

    def __init__(self) -> None:
        super().__init__()
        self.pair = Pair(blocks=BLOCKS, block_size=BS, config=self.config)
        self.counter = 0
        self.inflight: dict[tuple[str, int], tuple[int, bytes]] = {}
        self.wrote_apart = {"a": False, "b": False}
        for name in ("a", "b"):
            self.pair.nodes[name].up()
            self._hook(name)
        self.pair.heal()
        self.pair.settle()
        self.pair.a.primary(force=True)
        self.pair.settle()

    # ---- helpers -----------------------------------------------------------------------------------------------
    def _hook(self, name: str) -> None:
        node = self.pair.nodes[name]
        node.write_done = lambda seq: self._acknowledged(name, node, seq)

    def _acknowledged(self, name: str, node: Node, seq: int) -> None:
        block, data = self.inflight.pop((name, seq))
        if node.cstate in (CState.Connected, CState.SyncSource, CState.SyncTarget):
            # Acknowledged by the peer: protocol C says its disk has the block now.
            assert self.pair.devices["b" if name == "a" else "a"].read(block) == data
        else:
            assert block in node.md.bitmap, "a write completed without the peer must be in the bitmap"

    def _settle(self) -> None:
        if self.pair.linked:
            self.pair.settle()

    def _next_data(self) -> bytes:
        self.counter += 1
        return self.counter.to_bytes(4, "big") * (BS // 4)

    # ---- rules -------------------------------------------------------------------------------------------------
    @rule(name=NAMES, block=BLOCK)
    def write(self, name: str, block: int) -> None:
        node = self.pair.nodes[name]
        if node.role != Role.Primary:
            try:
                node.write(block, self._next_data())
            except Refused:
                return
            raise AssertionError("a Secondary accepted a write")
        replicated = node.cstate in (CState.Connected, CState.SyncSource, CState.SyncTarget)
        data = self._next_data()
        self.inflight[(name, node.next_seq)] = (block, data)
        node.write(block, data)
        if not replicated:
            self.wrote_apart[name] = True
        self._settle()
        assert not [k for k in self.inflight if k[0] == name], "protocol C: a connected write must complete"

    @rule(name=NAMES, block=BLOCK)
    def write_while_link_breaks(self, name: str, block: int) -> None:
        node = self.pair.nodes[name]
        if node.role != Role.Primary:
            return
        data = self._next_data()
        self.inflight[(name, node.next_seq)] = (block, data)
        node.write(block, data)
        self.pair.cut()
        self.wrote_apart[name] = True
        assert not [k for k in self.inflight if k[0] == name]

    @rule(name=NAMES, block=BLOCK)
    def fail_over_without_the_link(self, name: str, block: int) -> None:
        """What a cluster manager does when the link dies: the other side takes over and writes."""
        self.pair.cut()
        self.promote(name, force=False)
        self.write(name, block)

    @rule()
    def cut_link(self) -> None:
        self.pair.cut()

    @rule()
    def heal_link(self) -> None:
        both_wrote_apart = self.wrote_apart["a"] and self.wrote_apart["b"]
        marks = {n: len(self.pair.logs[n]) for n in ("a", "b")}
        if not self.pair.heal():
            return
        self.pair.settle()
        new_lines = [line for n in ("a", "b") for line in self.pair.logs[n][marks[n] :]]
        if both_wrote_apart:
            event("reconnect after both wrote apart")
            # After an interrupted resync the histories may no longer overlap at all: DRBD then refuses the
            # peer as "Unrelated data" (rule 100 finds no common UUID), which detects the divergence just as well.
            detected = ("Split-Brain detected", "Unrelated data, aborting!")
            assert any(d in line for line in new_lines for d in detected), "split brain went unnoticed"
        if self.pair.linked:
            self.wrote_apart = {"a": False, "b": False}

    @rule(limit=st.integers(1, 12))
    def heal_then_cut_midway(self, limit: int) -> None:
        if not self.pair.heal():
            return
        self.pair.deliver(limit)
        states = {n: self.pair.nodes[n].cstate for n in ("a", "b")}
        syncing = [n for n, cs in states.items() if cs in (CState.SyncTarget, CState.WFSyncUUID)]
        if syncing or set(states.values()) == {CState.Connected}:
            # The handshake has settled the divergence: the target went Inconsistent (its data is now garbage to
            # DRBD, whatever it wrote), so the next handshake follows disk states, not split-brain rules.
            self.wrote_apart = {"a": False, "b": False}
        self.pair.cut()
        for name in syncing:
            event("resync interrupted")
            assert self.pair.nodes[name].disk == DState.Inconsistent, "interrupted resync target not Inconsistent"

    @rule(name=NAMES, force=st.booleans())
    def promote(self, name: str, force: bool) -> None:
        node = self.pair.nodes[name]
        disk_before, target_of_up_to_date = (
            node.disk,
            (node.cstate, node.peer_disk)
            == (
                CState.SyncTarget,
                DState.UpToDate,
            ),
        )
        try:
            node.primary(force=force)
        except Refused:
            event(f"promotion refused ({node.disk.name})")
            return
        event(f"promoted from {disk_before.name}, force={force}")
        assert force or disk_before == DState.UpToDate or target_of_up_to_date, (
            "promoted onto data that is not UpToDate without --force"
        )
        self._settle()

    @rule(name=NAMES)
    def demote(self, name: str) -> None:
        node = self.pair.nodes[name]
        try:
            node.secondary()
        except Refused as e:
            event("demotion refused: held open")
            assert e.code == -12 and node.open_count > 0 and node.role == Role.Primary
            return
        self._settle()

    @rule(name=NAMES)
    def open_device(self, name: str) -> None:
        node = self.pair.nodes[name]
        try:
            node.open()
        except Refused:
            assert node.role != Role.Primary, "a Primary refused to be opened"
            return
        event("device opened")

    @rule(name=NAMES)
    def close_device(self, name: str) -> None:
        self.pair.nodes[name].close()

    @rule(name=NAMES, block=BLOCK)
    def read(self, name: str, block: int) -> None:
        node = self.pair.nodes[name]
        if node.role != Role.Primary:
            return
        seq = node.submit_read(block)
        source = None
        if node.disk == DState.UpToDate or (node.disk == DState.Inconsistent and block not in node.md.bitmap):
            source = self.pair.devices[name]
        elif node.is_connected and node.peer_disk == DState.UpToDate:
            event("read from the peer")
            source = self.pair.devices["b" if name == "a" else "a"]
        expected = None if source is None else source.read(block)
        self._settle()
        if seq in self.pair.reads[name]:
            got = self.pair.reads[name][seq]
            assert got is None or got == expected, "a read returned data no UpToDate copy had"
            assert got is not None or source is None or not self.pair.linked

    @rule(name=NAMES)
    def crash(self, name: str) -> None:
        node = self.pair.nodes[name]
        was_primary = node.role == Role.Primary
        self.inflight = {k: v for k, v in self.inflight.items() if k[0] != name}
        self.pair.crash(name)
        self._hook(name)
        if was_primary:
            saved = self.pair.stores[name].load()
            assert saved is not None and saved.crashed_primary, "a crash as Primary was not stored"
            assert self.pair.nodes[name].crashed_primary

    @rule(name=NAMES)
    def reconnect(self, name: str) -> None:
        node = self.pair.nodes[name]
        if node.cstate == CState.StandAlone:
            node.connect()

    @precondition(lambda self: self.pair.a.cstate == CState.StandAlone or self.pair.b.cstate == CState.StandAlone)
    @rule(victim=NAMES)
    def recover_split_brain_by_hand(self, victim: str) -> None:
        node = self.pair.nodes[victim]
        if node.cstate == CState.StandAlone:
            while node.open_count:
                node.close()  # the operator stops the service first
            node.secondary()
            node.connect(discard_my_data=True)
        survivor = self.pair.peer_of(victim)
        if survivor.cstate == CState.StandAlone:
            survivor.connect()

    # ---- invariants --------------------------------------------------------------------------------------------
    @invariant()
    def in_sync_when_connected_and_up_to_date(self) -> None:
        a, b = self.pair.a, self.pair.b
        if self.pair.linked and a.cstate == b.cstate == CState.Connected:
            if a.disk == b.disk == DState.UpToDate and not any(self.pair.wire.values()):
                event("compared disks")
                assert self.pair.devices["a"].image() == self.pair.devices["b"].image()
                assert not a.md.bitmap and not b.md.bitmap or True

    @invariant()
    def only_a_primary_is_open(self) -> None:
        for node in self.pair.nodes.values():
            assert node.open_count == 0 or node.role == Role.Primary

    @invariant()
    def crash_flag_cleared_only_when_both_up_to_date(self) -> None:
        for name, node in self.pair.nodes.items():
            saved = self.pair.stores[name].load()
            assert saved is not None and saved.crashed_primary == node.crashed_primary
            if node.crashed_primary:
                assert not (node.disk == node.peer_disk == DState.UpToDate)

    @invariant()
    def at_most_one_primary_while_connected(self) -> None:
        a, b = self.pair.a, self.pair.b
        if a.is_connected and b.is_connected:
            assert not (a.role == b.role == Role.Primary)


class TwoNodesWithAutoRecovery(TwoNodes):
    config = NodeConfig(
        AfterSbPolicies(
            after_sb_0pri="discard-zero-changes",
            after_sb_1pri="discard-secondary",
            after_sb_2pri="call-pri-lost-after-sb",
        )
    )


SETTINGS = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
TestTwoNodes = TwoNodes.TestCase
TestTwoNodes.settings = SETTINGS
TestTwoNodesWithAutoRecovery = TwoNodesWithAutoRecovery.TestCase
TestTwoNodesWithAutoRecovery.settings = SETTINGS

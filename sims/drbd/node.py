"""The core of one DRBD-style node for resource r0: its states and how they change; no sockets, no clock.

Contract (sans-I/O): the node is driven by calls, and answers by appending messages for the peer to `outbox`
(plain dicts; a transport moves them, in order, and calls `receive` on the other side), by calling `write_done(seq)`
when a local write may be acknowledged to its caller, and by log lines in DRBD's wording through `log`.

- Administration: `up`, `down`, `connect(discard_my_data)`, `disconnect`, `primary(force)`, `secondary`,
  `outdate`; refusals come back as `Refused(code, message, exit_code)` with DRBD's text and drbdsetup's exit code.
- Link: the transport calls `link_up(tiebreak)` when a connection to the peer won, and `link_down()` when it broke;
  it keeps trying to connect while `wants_link` is true and drops the link when it turns false.
- Data: `submit_read(block) -> seq` and `write(block, data) -> seq` (Primary only; `read(block)` is the local,
  synchronous read). Protocol C: `write_done(seq)` fires when the peer's disk has the block, or at once when there is
  no peer to wait for (the block then goes into the bitmap). `read_done(seq, data)` fires when the data is there: at
  once, or, for a block a promoted SyncTarget does not have yet, when the UpToDate peer sent it.
- Holders: `open()` / `close()` count the processes holding the device (DRBD's open_cnt); only a Primary can be
  opened, and an open device cannot be demoted ("(-12) Device is held open by someone").
- Meta data remembers a crash as Primary (`crashed_primary`, DRBD's MDF_CRASHED_PRIMARY) until both disks are
  UpToDate, across any number of restarts.
- Resync: the sync source queues the dirty blocks; the transport calls `pump_resync(n)` to send up to n of them.
Every change of meta data is saved through the `MetaStore` before the node acts on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sims.drbd.handshake import AfterSbPolicies, HandshakeSide, HandshakeVerdict, sync_handshake
from sims.drbd.states import (
    CONNECTED_OR_SYNCING,
    ERR_DISCARD_IMPOSSIBLE,
    ERR_MINOR_INVALID,
    SS,
    STATE_ERRORS,
    CState,
    DState,
    Role,
    drbdsetup_exit,
)
from sims.drbd.storage import BlockDevice, Metadata, MetaStore
from sims.drbd.uuids import (
    Uuids,
    adopt_sync_uuid,
    new_data_generation,
    resync_finished_source,
    resync_finished_target,
    resync_start_source,
    self_correction,
    with_role,
)

Message = dict[str, Any]
AL_EXTENT_BLOCKS = 64  # 256 KiB activity-log extents at 4 KiB blocks (DRBD: 4 MiB)


@dataclass
class Refused(Exception):
    """A request DRBD refuses: `code` and `message` as in "0: State change failed: (-2) Need access ...".

    `exit_code` defaults to what drbdsetup's print_config_error gives `code`; `obj` is drbdsetup's object name
    ("0" for the minor, "r0" for the resource); `info` is the "additional info from kernel" line, if any.
    """

    code: int
    message: str
    exit_code: int = 0
    obj: str = ""
    info: str = ""

    def __post_init__(self) -> None:
        if not self.exit_code:
            self.exit_code = drbdsetup_exit(self.code)
        if not self.obj:
            self.obj = "0" if self.code < 0 else "r0"

    @classmethod
    def state(cls, rv: SS, *, obj: str = "", info: str = "") -> Refused:
        return cls(int(rv), STATE_ERRORS[rv], obj=obj, info=info)

    def __str__(self) -> str:
        if self.code < 0:
            return f"{self.obj}: State change failed: ({self.code}) {self.message}"
        return f"{self.obj}: Failure: ({self.code}) {self.message}"


@dataclass
class Counters:
    """The /proc/drbd counters (kept in bytes, shown in KiB like DRBD), plus resync progress in blocks."""

    ns: int = 0
    nr: int = 0
    dw: int = 0
    dr: int = 0
    al: int = 0
    bm: int = 0
    resync_total: int = 0
    resync_done: int = 0
    resync_moved_total: int = 0
    split_brains: int = 0


@dataclass
class NodeConfig:
    policies: AfterSbPolicies = field(default_factory=AfterSbPolicies)
    al_extents: int = 1237  # DRBD_AL_EXTENTS_DEF


class Node:
    def __init__(
        self,
        device: BlockDevice,
        store: MetaStore,
        config: NodeConfig | None = None,
        *,
        log: Callable[[str], None] = lambda line: None,
        rng: random.Random | None = None,
    ) -> None:
        self.device = device
        self.store = store
        self.config = config or NodeConfig()
        self._log = log
        self.rng = rng or random.Random()
        self.outbox: list[Message] = []
        self.write_done: Callable[[int], None] = lambda seq: None
        self.configured = False
        self.md = Metadata(Uuids.just_created())
        self.role = Role.Secondary
        self.cstate = CState.StandAlone
        self.disk = DState.Diskless
        self.peer_role = Role.Unknown
        self.peer_disk = DState.DUnknown
        self.tiebreak = False
        self.discard_my_data = False
        self.open_count = 0  # DRBD's device->open_cnt: holders of /dev/drbd0
        self.read_done: Callable[[int, bytes | None], None] = lambda seq, data: None
        self._remote_reads: dict[int, int] = {}
        self.counters = Counters()
        self.last_handshake: HandshakeVerdict | None = None
        self._pending: dict[int, int] = {}
        self._next_seq = 1
        self._resync_queue: list[int] = []
        self._peer_params: Message | None = None

    # ---- logging -----------------------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        self._log(f"block drbd0: {text}")

    def log_conn(self, text: str) -> None:
        self._log(f"d-con r0: {text}")

    def _set_cstate(self, new: CState) -> None:
        if new != self.cstate:
            self.log_conn(f"conn( {self.cstate.name} -> {new.name} )")
            self.cstate = new

    def _set_disk(self, new: DState) -> None:
        if new != self.disk:
            self.log(f"disk( {self.disk.name} -> {new.name} )")
            self.disk = new
            self.md.consistent = new >= DState.Outdated
            self.md.outdated = new == DState.Outdated
            self._both_up_to_date()

    def _both_up_to_date(self) -> None:
        # after_state_ch: reaching UpToDate/UpToDate is the only thing that clears CRASHED_PRIMARY.
        if self.disk == self.peer_disk == DState.UpToDate and self.md.crashed_primary:
            self.md.crashed_primary = False
            self._save()

    def _set_role(self, new: Role) -> None:
        if new != self.role:
            self.log(f"role( {self.role.name} -> {new.name} )")
            self.role = new
            self.md.uuids = with_role(self.md.uuids, new == Role.Primary)
            self.md.primary = new == Role.Primary
            if new == Role.Secondary:
                self.md.activity_log.clear()

    def _save(self) -> None:
        self.store.save(self.md)

    # ---- queries -----------------------------------------------------------------------------------------------
    @property
    def crashed_primary(self) -> bool:
        """DRBD's CRASHED_PRIMARY, kept in the meta data (MDF_CRASHED_PRIMARY) so it outlives restarts."""
        return self.md.crashed_primary

    @property
    def is_connected(self) -> bool:
        return self.cstate in CONNECTED_OR_SYNCING

    @property
    def wants_link(self) -> bool:
        return self.configured and self.cstate not in (CState.StandAlone, CState.Disconnecting)

    @property
    def next_seq(self) -> int:
        """The sequence number the next `write` will return (and report through `write_done`)."""
        return self._next_seq

    @property
    def out_of_sync_blocks(self) -> int:
        return len(self.md.bitmap)

    # ---- administration ----------------------------------------------------------------------------------------
    def up(self) -> None:
        """drbdadm up: attach the disk (create-md on first use), then connect."""
        if self.configured:
            raise Refused(161, "Minor or volume exists already (delete it first)", exit_code=10)
        md = self.store.load()
        if md is None:
            md = Metadata(Uuids.just_created())
            self.store.save(md)
            self.log("New drbd meta data block successfully created.")
        self.md = md
        self.configured = True
        self.open_count = 0
        if md.primary:
            # A Primary went away without demoting (MDF_PRIMARY_IND still set): it crashed as Primary, which
            # drbd_adm_attach remembers as MDF_CRASHED_PRIMARY until the pair is UpToDate/UpToDate again.
            md.crashed_primary = True
            # Whatever its activity log covered may differ from the peer.
            for extent in md.activity_log:
                start = extent * AL_EXTENT_BLOCKS
                self.md.bitmap.update(range(start, min(start + AL_EXTENT_BLOCKS, self.device.blocks)))
            self.log(f"Found {len(md.activity_log)} transactions ({len(md.activity_log)} active extents)")
            md.primary = False
            md.activity_log.clear()
        self.role = Role.Secondary
        self.md.uuids = with_role(self.md.uuids, False)
        attach = DState.Inconsistent
        if md.consistent:
            # fencing dont-care: a consistent, not outdated disk is taken as UpToDate (drbd_nl attach)
            attach = DState.Outdated if md.outdated else DState.UpToDate
        self.disk = DState.Diskless
        self._set_disk(attach)
        self._save()
        self.log(f"attached to UUIDs {self.md.uuids.dump()}")
        self._set_cstate(CState.StandAlone)
        self.connect()

    def down(self) -> None:
        """drbd_adm_down: demote (refused while the device is open), disconnect, detach."""
        if not self.configured:
            return
        if self.role == Role.Primary:
            try:
                self.secondary()
            except Refused as e:
                raise Refused(e.code, e.message, obj="r0", info="failed to demote") from None
        self.disconnect()
        self._save()
        self._set_disk(DState.Diskless)
        self.configured = False

    def flush(self) -> None:
        """Save the meta data now (the daemon calls this when it stops)."""
        if self.configured:
            self._save()

    def connect(self, discard_my_data: bool = False) -> None:
        self._require_configured()
        if self.cstate != CState.StandAlone:
            raise Refused(102, "Local address(port) already in use.")
        if discard_my_data and self.role == Role.Primary:
            # check_net_options in drbd_nl.c: the victim of a split brain must be demoted first.
            raise Refused(ERR_DISCARD_IMPOSSIBLE, "--discard-my-data not allowed when primary.")
        self.discard_my_data = discard_my_data
        self._set_cstate(CState.Unconnected)
        self._set_cstate(CState.WFConnection)

    def disconnect(self) -> None:
        self._require_configured()
        if self.cstate == CState.StandAlone:
            return
        was_linked = self.cstate not in (CState.WFConnection, CState.Unconnected)
        self._set_cstate(CState.Disconnecting)
        if was_linked:
            self._lose_peer()
        self._set_cstate(CState.StandAlone)

    def _valid_state(self, role: Role, disk: DState) -> SS | None:
        """is_valid_state (drbd_state.c) for the states modelled here, then is_valid_soft_transition's promotion
        rule; None when DRBD would allow `role` and `disk` with the present connection."""
        conn, pdsk = self.cstate, self.peer_disk
        connected = self.is_connected  # conn >= C_CONNECTED
        if role == Role.Primary and self.peer_role == Role.Primary and connected:
            return SS.TWO_PRIMARIES
        if role == Role.Secondary and self.open_count:
            return SS.DEVICE_IN_USE
        if role == Role.Primary and not connected and disk < DState.UpToDate:
            return SS.NO_UP_TO_DATE_DISK
        if role == Role.Primary and disk <= DState.Inconsistent and pdsk <= DState.Inconsistent:
            return SS.NO_UP_TO_DATE_DISK
        if conn > CState.Connected and disk < DState.UpToDate and pdsk < DState.UpToDate:
            return SS.NO_UP_TO_DATE_DISK
        if conn in (CState.Connected, CState.WFBitMapS, CState.SyncSource) and disk == DState.Outdated:
            return SS.CONNECTED_OUTDATES
        if role == Role.Primary and disk < DState.UpToDate and pdsk < DState.UpToDate:
            return SS.NO_UP_TO_DATE_DISK
        if (
            role == Role.Primary
            and self.role != Role.Primary
            and pdsk == DState.UpToDate
            and disk not in (DState.UpToDate, DState.Diskless)
            and conn <= CState.WFSyncUUID
        ):
            # While the handshake runs, a target-to-be cannot be promoted yet; a SyncTarget can (see primary).
            return SS.IN_TRANSIENT_STATE
        return None

    def primary(self, force: bool = False) -> None:
        """drbd_set_role(R_PRIMARY): allowed on UpToDate data, or on a SyncTarget while the peer is UpToDate
        (its missing blocks are then read from the peer). `force` raises an Inconsistent/Outdated disk to UpToDate
        only when that is what stood in the way; only then does it start a new data generation."""
        self._require_configured()
        if self.role == Role.Primary:
            return
        refusal = self._valid_state(Role.Primary, self.disk)
        forced = False
        if refusal == SS.NO_UP_TO_DATE_DISK and force and DState.Inconsistent <= self.disk < DState.UpToDate:
            refusal = self._valid_state(Role.Primary, DState.UpToDate)
            forced = refusal is None
        if refusal is not None:
            raise Refused.state(refusal)
        if forced:
            self.log("Forced to consider local data as UpToDate!")
        if forced or (not self.is_connected and self.md.uuids.bitmap == 0):
            # Before the role bit is set, as drbd_set_role does: the bitmap UUID keeps bit 0 clear, which marks
            # this node as the younger primary (promoted after the link broke).
            self._new_data_generation()
        self.discard_my_data = False  # drbd_set_role clears net_conf->discard_my_data on promotion
        self._set_role(Role.Primary)
        if forced:
            self._set_disk(DState.UpToDate)
        self._save()
        if self.is_connected:
            if forced:
                self._start_handshake()
            else:
                self._send_state()

    def secondary(self) -> None:
        self._require_configured()
        if self.role == Role.Secondary:
            return
        refusal = self._valid_state(Role.Secondary, self.disk)
        if refusal is not None:
            self.log(f"State change failed: {STATE_ERRORS[refusal]}")  # print_st_err: the kernel log says so too
            raise Refused.state(refusal)
        self._set_role(Role.Secondary)
        self._save()
        if self.is_connected:
            self._send_state()

    def outdate(self) -> None:
        """drbd_adm_outdate: NS(disk, D_OUTDATED), judged by is_valid_state then is_valid_soft_transition."""
        self._require_configured()
        if self.disk == DState.Outdated:
            return
        refusal = self._valid_state(self.role, DState.Outdated)
        if refusal is None and self.disk < DState.Outdated:
            refusal = SS.LOWER_THAN_OUTDATED
        if refusal is not None:
            raise Refused.state(refusal)
        self._set_disk(DState.Outdated)
        self._save()

    def open(self) -> None:
        """drbd_open: a process opens /dev/drbd0 (for writing). Only a Primary can be opened; while it is open,
        the node cannot be demoted (SS_DEVICE_IN_USE)."""
        self._require_configured()
        if self.role != Role.Primary:
            raise Refused(30, "Read-only file system (only a Primary can be opened for writing)", exit_code=30)
        self.open_count += 1

    def close(self) -> None:
        """drbd_release: one holder lets go (the daemon also calls it for a holder that died)."""
        if self.open_count > 0:
            self.open_count -= 1

    def _require_configured(self) -> None:
        if not self.configured:
            raise Refused(ERR_MINOR_INVALID, "Device minor not allocated", obj="0")

    # ---- data --------------------------------------------------------------------------------------------------
    def read(self, block: int, *, inspect: bool = False) -> bytes:
        """Read a block from the local disk. Like /dev/drbd0, only a Primary can be read; `inspect` reads the
        backing disk anyway. A block this disk does not have yet (SyncTarget) must be read with `submit_read`."""
        self._check_block(block)
        if inspect:
            return self.device.read(block)
        if self.role != Role.Primary:
            raise Refused(124, "Wrong medium type (only a Primary can be read)", exit_code=5)
        if not self._may_read_locally(block):
            raise Refused(5, f"Input/output error: block {block} is not UpToDate here (submit_read)", exit_code=5)
        self.counters.dr += self.device.block_size
        return self.device.read(block)

    def submit_read(self, block: int) -> int:
        """Read a block as an application does; `read_done(seq, data)` reports it. A block that is out of sync on
        this SyncTarget is read from the UpToDate peer, as drbd_request_prepare does when drbd_may_do_local_read
        says no; `data` is None when no UpToDate copy can be reached (DRBD fails that read with EIO)."""
        self._check_block(block)
        if self.role != Role.Primary:
            raise Refused(124, "Wrong medium type (only a Primary can be read)", exit_code=5)
        seq = self._next_seq
        self._next_seq += 1
        if self._may_read_locally(block):
            self.counters.dr += self.device.block_size
            self.read_done(seq, self.device.read(block))
        elif self.is_connected and self.peer_disk == DState.UpToDate:
            self._remote_reads[seq] = block
            self.outbox.append({"t": "read_req", "seq": seq, "block": block})
        else:
            self.read_done(seq, None)
        return seq

    def _may_read_locally(self, block: int) -> bool:
        """drbd_may_do_local_read: an UpToDate disk, or an Inconsistent one where this block's bit is clear."""
        if self.disk == DState.UpToDate:
            return True
        return self.disk == DState.Inconsistent and block not in self.md.bitmap

    def write(self, block: int, data: bytes) -> int:
        """Write locally and replicate (protocol C). Returns the sequence number `write_done` will report."""
        self._check_block(block)
        if self.role != Role.Primary:
            raise Refused(30, "Device is not Primary (writes are refused on a Secondary)", exit_code=30)
        if len(data) != self.device.block_size:
            raise ValueError(f"a block is {self.device.block_size} bytes, got {len(data)}")
        self._activate_extent(block // AL_EXTENT_BLOCKS)
        self.device.write(block, data)
        self.counters.dw += len(data)
        seq = self._next_seq
        self._next_seq += 1
        mirrored = (CState.Connected, CState.SyncSource, CState.SyncTarget)
        if self.cstate in mirrored and self.peer_disk >= DState.Inconsistent:
            if self.cstate == CState.SyncTarget:
                # A whole block written on both sides is in sync once acknowledged; resync data for it that
                # arrives later is older and must not overwrite it (see _on_rs_data).
                self.md.bitmap.discard(block)
            self._pending[seq] = block
            self.outbox.append({"t": "data", "seq": seq, "block": block, "data": data})
            self.counters.ns += len(data)
        else:
            self._mark_out_of_sync(block)
            self.write_done(seq)
        return seq

    def _check_block(self, block: int) -> None:
        if not 0 <= block < self.device.blocks:
            raise ValueError(f"block {block} out of range 0..{self.device.blocks - 1}")
        if not self.configured or self.disk == DState.Diskless:
            raise Refused(ERR_MINOR_INVALID, "Device minor not allocated", obj="0")

    def _activate_extent(self, extent: int) -> None:
        al = self.md.activity_log
        if al and al[-1] == extent:
            return
        if extent in al:
            al.remove(extent)
        al.append(extent)
        del al[: -self.config.al_extents]
        self.counters.al += 1
        self._save()

    def _mark_out_of_sync(self, block: int) -> None:
        # Saved lazily, as DRBD writes bitmap pages: every activity-log change saves the whole meta data, and after
        # a crash as Primary the extents still in the activity log are marked out of sync again (see `up`).
        if block not in self.md.bitmap:
            self.md.bitmap.add(block)
            self.counters.bm += 1

    def _new_data_generation(self) -> None:
        self.md.uuids = new_data_generation(self.md.uuids, primary=self.role == Role.Primary, rng=self.rng)
        self.log(f"new current UUID {self.md.uuids.dump()}")

    # ---- link --------------------------------------------------------------------------------------------------
    def link_up(self, tiebreak: bool) -> None:
        """The transport connected us to the peer; `tiebreak` marks the fixed side that resolves conflicts."""
        if not self.wants_link:
            return
        self.tiebreak = tiebreak
        self.log_conn("Handshake successful: Agreed network protocol version 101")
        self._start_handshake()

    def _start_handshake(self) -> None:
        self._set_cstate(CState.WFReportParams)
        self._peer_params = None
        self.outbox.append(self._params())

    def _params(self) -> Message:
        p = self.config.policies
        return {
            "t": "params",
            "uuids": self.md.uuids.as_list(),
            "role": self.role.name,
            "disk": self.disk.name,
            "bits": len(self.md.bitmap),
            "crashed_primary": self.crashed_primary,
            "discard_my_data": self.discard_my_data,
            "blocks": self.device.blocks,
            "after_sb": [p.after_sb_0pri, p.after_sb_1pri, p.after_sb_2pri],
        }

    def link_down(self) -> None:
        """The link to the peer broke (or the transport gave up on it)."""
        if self.cstate in (CState.StandAlone, CState.WFConnection, CState.Unconnected):
            return
        self._set_cstate(CState.NetworkFailure)
        self._lose_peer()
        self._set_cstate(CState.Unconnected)
        self._set_cstate(CState.WFConnection)

    def _lose_peer(self) -> None:
        if self.cstate == CState.SyncTarget or self._resync_queue:
            self.log("Resync aborted.")
        for seq, block in sorted(self._pending.items()):
            self._mark_out_of_sync(block)
            self.write_done(seq)
        self._pending.clear()
        for seq in sorted(self._remote_reads):
            self.read_done(seq, None)
        self._remote_reads.clear()
        self._resync_queue.clear()
        self.outbox.clear()
        if self.role == Role.Primary and self.md.uuids.bitmap == 0 and self.peer_disk != DState.DUnknown:
            self._new_data_generation()
        self._set_peer(Role.Unknown, DState.DUnknown)
        self._save()

    def _set_peer(self, role: Role, disk: DState) -> None:
        if role != self.peer_role:
            self.log(f"peer( {self.peer_role.name} -> {role.name} )")
            self.peer_role = role
        if disk != self.peer_disk:
            self.log(f"pdsk( {self.peer_disk.name} -> {disk.name} )")
            self.peer_disk = disk
            self._both_up_to_date()

    def _send_state(self) -> None:
        self.outbox.append({"t": "state", "role": self.role.name, "disk": self.disk.name})

    # ---- messages from the peer --------------------------------------------------------------------------------
    def receive(self, msg: Message) -> None:
        if not self.configured or self.cstate in (CState.StandAlone, CState.WFConnection):
            return
        handler = getattr(self, f"_on_{msg['t']}")
        handler(msg)

    def _incompatible(self, msg: Message) -> str | None:
        """receive_protocol (drbd_receiver.c): both nodes must agree on the after-sb policies (the peer's
        discard-remote is my discard-local) and only one may be told to discard its data."""
        swap = {"discard-local": "discard-remote", "discard-remote": "discard-local"}
        p = self.config.policies
        for name, mine, theirs in zip(
            ("after-sb-0pri", "after-sb-1pri", "after-sb-2pri"),
            (p.after_sb_0pri, p.after_sb_1pri, p.after_sb_2pri),
            msg.get("after_sb", [p.after_sb_0pri, p.after_sb_1pri, p.after_sb_2pri]),
            strict=True,
        ):
            if swap.get(theirs, theirs) != mine:
                return name
        if self.discard_my_data and msg["discard_my_data"]:
            return "discard-my-data"
        return None

    def _on_params(self, msg: Message) -> None:
        if self.cstate != CState.WFReportParams:
            self._start_handshake()  # the peer renegotiates (e.g. after primary --force)
        incompatible = self._incompatible(msg)
        if incompatible:
            self.log_conn(f"incompatible {incompatible} settings")
            self.outbox.clear()
            self.disconnect()
            return
        self._peer_params = msg
        me = HandshakeSide(
            self.md.uuids,
            self.role,
            self.disk,
            len(self.md.bitmap),
            crashed_primary=self.crashed_primary,
            discard_my_data=self.discard_my_data,
            held_open=self.open_count > 0,
        )
        peer = HandshakeSide(
            Uuids.from_list(msg["uuids"]),
            Role[msg["role"]],
            DState[msg["disk"]],
            int(msg["bits"]),
            crashed_primary=bool(msg["crashed_primary"]),
            discard_my_data=bool(msg["discard_my_data"]),
        )
        verdict = sync_handshake(me, peer, self.config.policies, tiebreak_self=self.tiebreak)
        self.last_handshake = verdict
        for line in verdict.log:
            self.log(line)
        if "Split-Brain detected" in " ".join(verdict.log):
            self.counters.split_brains += 1
        if verdict.aborted:
            self.outbox.clear()
            self.disconnect()
            return
        self.discard_my_data = False
        self.md.uuids = self_correction(self.md.uuids, verdict.rule)
        self._set_peer(peer.role, peer.disk)
        if verdict.give_up_primary:
            self._set_role(Role.Secondary)
            self._send_state()
        if verdict.full_sync:
            self.md.bitmap = set(range(self.device.blocks))
        self._save()
        if verdict.conn == CState.Connected:
            if self.md.bitmap:
                self.log(f"No resync, but {len(self.md.bitmap)} bits in bitmap!")
            self._set_cstate(CState.Connected)
            if self.disk >= DState.Outdated and self.peer_disk >= DState.Outdated:
                self._set_disk(DState.UpToDate)
                self._set_peer(self.peer_role, DState.UpToDate)
                self._save()
            return
        self._set_cstate(verdict.conn)
        self.outbox.append({"t": "bitmap", "bits": sorted(self.md.bitmap)})

    def _on_read_req(self, msg: Message) -> None:
        data = self.device.read(int(msg["block"])) if self.disk == DState.UpToDate else None
        self.outbox.append({"t": "read_reply", "seq": msg["seq"], "data": data})

    def _on_read_reply(self, msg: Message) -> None:
        if self._remote_reads.pop(int(msg["seq"]), None) is not None:
            data = msg["data"]
            self.read_done(int(msg["seq"]), None if data is None else bytes(data))

    def _on_ping(self, msg: Message) -> None:
        self.outbox.append({"t": "ping_ack"})

    def _on_ping_ack(self, msg: Message) -> None:
        pass

    def _on_state(self, msg: Message) -> None:
        self._set_peer(Role[msg["role"]], DState[msg["disk"]])

    def _on_bitmap(self, msg: Message) -> None:
        self.md.bitmap.update(int(b) for b in msg["bits"])
        if self.cstate == CState.WFBitMapT:
            self._set_disk(DState.Inconsistent)
            self._save()
            self._set_cstate(CState.WFSyncUUID)
        elif self.cstate == CState.WFBitMapS:
            self.md.uuids = resync_start_source(self.md.uuids, self.rng)
            self._save()
            self.log(f"updated sync uuid {self.md.uuids.dump()}")
            self.outbox.append({"t": "sync_uuid", "uuid": self.md.uuids.bitmap})
            self._set_cstate(CState.SyncSource)
            self._set_peer(self.peer_role, DState.Inconsistent)
            self._begin_resync()

    def _on_sync_uuid(self, msg: Message) -> None:
        self.md.uuids = adopt_sync_uuid(self.md.uuids, int(msg["uuid"]))
        self.md.uuids = with_role(self.md.uuids, self.role == Role.Primary)
        self._save()
        self._set_cstate(CState.SyncTarget)
        self._begin_resync()

    def _begin_resync(self) -> None:
        bits = len(self.md.bitmap)
        kib = bits * self.device.block_size // 1024
        self.counters.resync_total = bits
        self.counters.resync_done = 0
        self.log(f"Began resync as {self.cstate.name} (will sync {kib} KB [{bits} bits set]).")
        if self.cstate == CState.SyncSource:
            self._resync_queue = sorted(self.md.bitmap, reverse=True)
            if not self._resync_queue:
                self._finish_resync_as_source()

    def pump_resync(self, limit: int) -> int:
        """Queue up to `limit` resync blocks for the peer (sync source only); returns how many were queued."""
        sent = 0
        while self._resync_queue and sent < limit and self.cstate == CState.SyncSource:
            block = self._resync_queue.pop()
            if block not in self.md.bitmap:
                continue
            self.outbox.append({"t": "rs_data", "block": block, "data": self.device.read(block)})
            self.counters.ns += self.device.block_size
            sent += 1
        return sent

    @property
    def resync_pending(self) -> int:
        return len(self._resync_queue)

    def _on_rs_data(self, msg: Message) -> None:
        if self.cstate != CState.SyncTarget:
            return
        block = int(msg["block"])
        if block in self.md.bitmap:  # else a newer application write (made as Primary) already covers it
            self.device.write(block, msg["data"])
            self.counters.nr += self.device.block_size
            self.counters.dw += self.device.block_size
        self._progress(block)
        self.outbox.append({"t": "rs_ack", "block": block})

    def _on_rs_ack(self, msg: Message) -> None:
        if self.cstate != CState.SyncSource:
            return
        self._progress(int(msg["block"]))
        if not self.md.bitmap:
            self._finish_resync_as_source()

    def _progress(self, block: int) -> None:
        if block in self.md.bitmap:
            self.md.bitmap.discard(block)
            self.counters.resync_done += 1
            self.counters.resync_moved_total += 1
            if not self.md.bitmap or self.counters.resync_done % 256 == 0:
                self._save()

    def _finish_resync_as_source(self) -> None:
        self.md.uuids = resync_finished_source(self.md.uuids)
        self._save()
        self.log(f"Resync done (total {self.counters.resync_done} blocks)")
        self.outbox.append({"t": "rs_finished", "uuids": self.md.uuids.as_list()})
        self._set_cstate(CState.Connected)
        self._set_peer(self.peer_role, DState.UpToDate)

    def _on_rs_finished(self, msg: Message) -> None:
        if self.cstate != CState.SyncTarget:
            return
        source = Uuids.from_list(msg["uuids"])
        self.md.uuids = resync_finished_target(source, primary=self.role == Role.Primary)
        self.md.bitmap.clear()
        self._set_disk(DState.UpToDate)
        self._save()
        self.log(f"Resync done (total {self.counters.resync_done} blocks)")
        self._set_cstate(CState.Connected)

    def _on_data(self, msg: Message) -> None:
        block = int(msg["block"])
        self.device.write(block, msg["data"])
        self.counters.nr += self.device.block_size
        self.counters.dw += self.device.block_size
        if self.cstate == CState.Connected and block in self.md.bitmap:
            self.md.bitmap.discard(block)
        self.outbox.append({"t": "ack", "seq": msg["seq"]})

    def _on_ack(self, msg: Message) -> None:
        seq = int(msg["seq"])
        if self._pending.pop(seq, None) is not None:
            self.write_done(seq)

    # ---- status ------------------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        c = self.counters
        return {
            "name": "r0",
            "minor": 0,
            "configured": self.configured,
            "role": self.role.name,
            "peer_role": self.peer_role.name,
            "cstate": self.cstate.name if self.configured else "Unconfigured",
            "disk": self.disk.name,
            "peer_disk": self.peer_disk.name,
            "uuids": [f"{v:016X}" for v in self.md.uuids.as_list()],
            "out_of_sync_blocks": len(self.md.bitmap),
            "block_size": self.device.block_size,
            "blocks": self.device.blocks,
            "resync": {
                "total": c.resync_total,
                "done": c.resync_done,
                "moved_total": c.resync_moved_total,
                "left": len(self.md.bitmap) if self.cstate in (CState.SyncSource, CState.SyncTarget) else 0,
            },
            "split_brains": c.split_brains,
            "counters": {
                "ns": c.ns // 1024,
                "nr": c.nr // 1024,
                "dw": c.dw // 1024,
                "dr": c.dr // 1024,
                "al": c.al,
                "bm": c.bm,
            },
        }

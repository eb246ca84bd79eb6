"""DRBD 8.4 generation identifiers: how they compare at connect time and how they move.

Contract: pure functions over `Uuids(current, bitmap, history)` (64-bit ints, history a pair), no I/O.
`uuid_compare` returns DRBD's `(hg, rule)` exactly as `drbd_uuid_compare` in drbd_receiver.c decides it
(see /work/shared/DRBD.md): hg > 0 means "I am sync source", |hg| == 1 bitmap-based, |hg| == 2 full,
+100 split brain that automatic recovery may settle, -100 split brain that needs a human, -1000 unrelated data
(the rule logged then stays 100). The movers (`new_data_generation`, `resync_start_source`, ...) are the
UUID setters of drbd_main.c, returning new tuples instead of mutating.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

UUID_JUST_CREATED = 0x4
UUID_NEW_BM_OFFSET = 0x0001000000000000
ROLE_BIT = 0x1
_MASK64 = (1 << 64) - 1

HG_UNRELATED = -1000
HG_SPLIT_BRAIN_AUTO = 100
HG_SPLIT_BRAIN_MANUAL = -100


def masked(value: int) -> int:
    """The UUID with the role bit (bit 0) cleared: what every comparison but rules 34-37 looks at."""
    return value & ~ROLE_BIT & _MASK64


@dataclass(frozen=True)
class Uuids:
    """One node's generation identifiers: `[current, bitmap, history0, history1]` of DRBD's meta data."""

    current: int
    bitmap: int
    history: tuple[int, int]

    @classmethod
    def just_created(cls) -> Uuids:
        """What `drbdadm create-md` writes: current = UUID_JUST_CREATED, everything else zero."""
        return cls(UUID_JUST_CREATED, 0, (0, 0))

    def as_list(self) -> list[int]:
        return [self.current, self.bitmap, self.history[0], self.history[1]]

    @classmethod
    def from_list(cls, values: list[int]) -> Uuids:
        current, bitmap, h0, h1 = (int(v) for v in values)
        return cls(current, bitmap, (h0, h1))

    def dump(self) -> str:
        """DRBD's `drbd_uuid_dump` layout: `CURRENT:BITMAP:HISTORY0:HISTORY1` in upper-case hex."""
        return ":".join(f"{v:016X}" for v in self.as_list())


def uuid_compare(
    me: Uuids,
    peer: Uuids,
    *,
    crashed_self: bool = False,
    crashed_peer: bool = False,
    tiebreak_self: bool = False,
    primary_self: bool = False,
    primary_peer: bool = False,
) -> tuple[int, int]:
    """DRBD's drbd_uuid_compare: `(hg, rule)` for `me` against `peer`, rules tested in DRBD's order.

    `crashed_self` / `crashed_peer` are the "crashed primary" flags (rules 40/41); `tiebreak_self` says this side
    holds DRBD's RESOLVE_CONFLICTS bit (the holder becomes sync target when both crashed as primary);
    `primary_self` / `primary_peer` are the roles now (rule 41, in 8.4 since 8.4.7: equal current UUIDs, a crash
    flag, and a Primary present: the Primary is the source; both Primary is -100).
    """
    s_cur, p_cur = masked(me.current), masked(peer.current)

    if s_cur == UUID_JUST_CREATED and p_cur == UUID_JUST_CREATED:
        return 0, 10
    if s_cur in (UUID_JUST_CREATED, 0) and p_cur != UUID_JUST_CREATED:
        return -2, 20
    if s_cur != UUID_JUST_CREATED and p_cur in (UUID_JUST_CREATED, 0):
        return 2, 30

    if s_cur == p_cur:
        # Rules 34-37 test the raw bitmap UUIDs for zero, as DRBD does.
        if peer.bitmap == 0 and me.bitmap != 0:
            lined_up = masked(me.bitmap) == masked(peer.history[0]) and masked(me.history[0]) == masked(peer.history[1])
            return 1, (34 if lined_up else 36)
        if me.bitmap == 0 and peer.bitmap != 0:
            lined_up = masked(me.history[0]) == masked(peer.bitmap) and masked(me.history[1]) == masked(peer.history[0])
            return -1, (35 if lined_up else 37)
        crashed = (1 if crashed_self else 0) + (2 if crashed_peer else 0)
        if crashed == 0:
            return 0, 40
        if primary_self or primary_peer:
            # I/O may have been frozen, so no UUID bump happened: whoever is Primary now has the data.
            if primary_self and primary_peer:
                return HG_SPLIT_BRAIN_MANUAL, 41
            return (1 if primary_self else -1), 41
        if crashed == 1:
            return 1, 40
        if crashed == 2:
            return -1, 40
        return (-1 if tiebreak_self else 1), 40

    if s_cur == masked(peer.bitmap):
        return -1, 50
    p_h0 = masked(peer.history[0])
    if s_cur == p_h0 and p_h0 + UUID_NEW_BM_OFFSET == masked(peer.bitmap):
        return -1, 51
    if s_cur in (masked(peer.history[0]), masked(peer.history[1])):
        return -2, 60
    if masked(me.bitmap) == p_cur:
        return 1, 70
    s_h0 = masked(me.history[0])
    if s_h0 == p_cur and s_h0 + UUID_NEW_BM_OFFSET == masked(me.bitmap):
        return 1, 71
    if p_cur in (masked(me.history[0]), masked(me.history[1])):
        return 2, 80
    if masked(me.bitmap) == masked(peer.bitmap) and masked(me.bitmap) != 0:
        return HG_SPLIT_BRAIN_AUTO, 90
    mine = {masked(h) for h in me.history}
    theirs = {masked(h) for h in peer.history}
    if mine & theirs:
        return HG_SPLIT_BRAIN_MANUAL, 100
    return HG_UNRELATED, 100


def self_correction(me: Uuids, rule: int) -> Uuids:
    """My UUIDs as DRBD rewrites them when `uuid_compare` matched by rule 34 or 71; unchanged otherwise.

    34: I was sync source and missed "resync finished" (finish the rotation). 71: my last P_SYNC_UUID never reached
    the peer (undo the rotation). Rules 35/51 are the same repairs seen from the other side, which the peer makes.
    """
    if rule == 34:
        return Uuids(me.current, 0, (me.bitmap, me.history[0]))
    if rule == 71:
        return Uuids(me.current, me.history[0], (me.history[1], me.history[1]))
    return me


def random_uuid(rng: random.Random) -> int:
    """A fresh 64-bit generation identifier with bit 0 clear, never 0 or UUID_JUST_CREATED."""
    while True:
        value = rng.getrandbits(64) & ~ROLE_BIT
        if value not in (0, UUID_JUST_CREATED):
            return value


def with_role(uuids: Uuids, primary: bool) -> Uuids:
    """Bit 0 of the current UUID follows the role: set on promotion, cleared on demotion."""
    current = (uuids.current | ROLE_BIT) if primary else masked(uuids.current)
    return Uuids(current, uuids.bitmap, uuids.history)


def new_data_generation(uuids: Uuids, *, primary: bool, rng: random.Random) -> Uuids:
    """drbd_uuid_new_current: bitmap <- current (raw, bit 0 kept), current <- random (+ role bit).

    As in DRBD, an old bitmap UUID is overwritten, not moved into history (DRBD only warns about it).
    """
    current = random_uuid(rng) | (ROLE_BIT if primary else 0)
    return Uuids(current, uuids.current, uuids.history)


def resync_start_source(uuids: Uuids, rng: random.Random) -> Uuids:
    """Sync source at resync start: bm <- old bm + OFFSET (random if old bm was 0 or 0x4).

    As drbd_uuid_set(UI_BITMAP) does, a non-zero old bitmap UUID first moves into history (h1 <- h0, h0 <- bm).
    The target's current UUID becomes the new bitmap UUID (P_SYNC_UUID).
    """
    old_bm = uuids.bitmap
    if old_bm in (0, UUID_JUST_CREATED):
        new_bm = random_uuid(rng)
    else:
        new_bm = (old_bm + UUID_NEW_BM_OFFSET) & _MASK64
    history = (old_bm, uuids.history[0]) if old_bm else uuids.history
    return Uuids(uuids.current, new_bm, history)


def resync_finished_source(uuids: Uuids) -> Uuids:
    """Sync source at resync end (drbd_uuid_set_bm(0)): h1 <- h0, h0 <- bm, bm <- 0; nothing if bm is 0.

    The target then adopts the source's whole tuple.
    """
    if uuids.bitmap == 0:
        return uuids
    return Uuids(uuids.current, 0, (uuids.bitmap, uuids.history[0]))


def adopt_sync_uuid(uuids: Uuids, sync_uuid: int) -> Uuids:
    """Sync target on P_SYNC_UUID: its current becomes the source's new bitmap UUID (bitmap cleared)."""
    return Uuids(sync_uuid, 0, uuids.history)


def resync_finished_target(source: Uuids, *, primary: bool) -> Uuids:
    """Sync target at resync end: adopt the source's tuple, with my own role bit on the current UUID."""
    return with_role(source, primary)

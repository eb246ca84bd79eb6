"""The connect-time decision of DRBD 8.4: after-split-brain policies and drbd_sync_handshake, as pure functions.

Contract:
- `after_split_brain(policy, me, peer, *, tiebreak_self, after_sb_0pri)` -> "discard-local" | "discard-peer" |
  "disconnect", following drbd_asb_recover_0p/1p/2p. Which table applies is given by the number of Primaries
  among `me.role` and `peer.role`; `policy` is the policy configured for that count. A policy that DRBD does not
  allow for that count is DRBD's "Configuration error." and gives "disconnect". The 1pri/2pri policies that
  consult the 0pri verdict (consensus, violently-as0p, call-pri-lost-after-sb) use `after_sb_0pri` (DRBD's
  default is "disconnect").
- `sync_handshake(me, peer, policies, *, tiebreak_self)` -> `HandshakeVerdict`: the connection state this side
  goes to (WFBitMapS / WFBitMapT / Connected, or StandAlone when DRBD aborts), whether the whole bitmap must be
  set (full sync), whether this Primary must give up its role (call-pri-lost-after-sb; a Primary whose device is
  held open cannot, and then the split brain stays unresolved), and the log lines DRBD prints on the way. Both
  sides run it on their own view and reach mirrored verdicts.
Nothing here does I/O or mutates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sims.drbd.states import CState, DState, Role
from sims.drbd.uuids import HG_SPLIT_BRAIN_AUTO, HG_SPLIT_BRAIN_MANUAL, HG_UNRELATED, Uuids, uuid_compare

DISCARD_LOCAL = "discard-local"
DISCARD_PEER = "discard-peer"
DISCONNECT = "disconnect"

POLICIES_0PRI = (
    "disconnect",
    "discard-younger-primary",
    "discard-older-primary",
    "discard-zero-changes",
    "discard-least-changes",
    "discard-local",
    "discard-remote",
)
POLICIES_1PRI = ("disconnect", "consensus", "discard-secondary", "call-pri-lost-after-sb", "violently-as0p")
POLICIES_2PRI = ("disconnect", "violently-as0p", "call-pri-lost-after-sb")
RR_CONFLICT_POLICIES = ("disconnect", "call-pri-lost", "violently")
ALLOWED_BY_PRIMARIES = (POLICIES_0PRI, POLICIES_1PRI, POLICIES_2PRI)
HELPER = "helper command: /sbin/drbdadm"  # DRBD calls these handlers; the stand-in only logs the call


@dataclass(frozen=True)
class SplitSide:
    """One side of a split brain as the policies see it: set bits in its bitmap, bit 0 of its bitmap UUID, role."""

    changed_blocks: int
    bitmap_bit0: int
    role: str


def _hg(verdict: str) -> int:
    return {DISCARD_LOCAL: -1, DISCARD_PEER: 1}.get(verdict, HG_SPLIT_BRAIN_MANUAL)


def _verdict(hg: int) -> str:
    return {-1: DISCARD_LOCAL, 1: DISCARD_PEER}.get(hg, DISCONNECT)


def _recover_0pri(policy: str, me: SplitSide, peer: SplitSide, tiebreak_self: bool) -> int:
    """drbd_asb_recover_0p, including its deliberate fall-throughs."""
    if policy not in POLICIES_0PRI or policy == "disconnect":
        return HG_SPLIT_BRAIN_MANUAL
    if policy == "discard-local":
        return -1
    if policy == "discard-remote":
        return 1
    mine, theirs = me.bitmap_bit0 & 1, peer.bitmap_bit0 & 1
    if policy == "discard-younger-primary" and mine != theirs:
        return -1 if mine == 0 else 1
    if policy == "discard-older-primary" and mine != theirs:
        return 1 if mine == 0 else -1
    tiebreak = -1 if tiebreak_self else 1
    if policy != "discard-least-changes":
        # discard-zero-changes, or the younger/older-primary rules that found no decision.
        if me.changed_blocks == 0 and peer.changed_blocks == 0:
            return tiebreak
        if peer.changed_blocks == 0:
            return 1
        if me.changed_blocks == 0:
            return -1
        if policy == "discard-zero-changes":
            return HG_SPLIT_BRAIN_MANUAL
    if me.changed_blocks < peer.changed_blocks:
        return -1
    if me.changed_blocks > peer.changed_blocks:
        return 1
    return tiebreak


def after_split_brain(
    policy: str, me: SplitSide, peer: SplitSide, *, tiebreak_self: bool, after_sb_0pri: str = "disconnect"
) -> str:
    """Which side's data an automatic split-brain recovery discards, or "disconnect" (see the module contract)."""
    primaries = (me.role == "Primary") + (peer.role == "Primary")
    if policy not in ALLOWED_BY_PRIMARIES[primaries] or policy == "disconnect":
        return DISCONNECT
    if primaries == 0:
        return _verdict(_recover_0pri(policy, me, peer, tiebreak_self))
    as0p = _recover_0pri(after_sb_0pri, me, peer, tiebreak_self)
    if primaries == 1:
        if policy == "consensus":
            if (as0p == -1 and me.role == "Secondary") or (as0p == 1 and me.role == "Primary"):
                return _verdict(as0p)
            return DISCONNECT
        if policy == "discard-secondary":
            return DISCARD_PEER if me.role == "Primary" else DISCARD_LOCAL
    # violently-as0p, call-pri-lost-after-sb (a Primary that loses gives up its role: see sync_handshake)
    return _verdict(as0p)


@dataclass(frozen=True)
class AfterSbPolicies:
    """The `net { }` options of a resource that steer the handshake (DRBD's defaults)."""

    after_sb_0pri: str = "disconnect"
    after_sb_1pri: str = "disconnect"
    after_sb_2pri: str = "disconnect"
    rr_conflict: str = "disconnect"
    always_asbp: bool = False

    def for_primaries(self, count: int) -> str:
        return (self.after_sb_0pri, self.after_sb_1pri, self.after_sb_2pri)[count]


@dataclass(frozen=True)
class HandshakeSide:
    """What one side knows of itself, or has been told of the peer in P_UUIDS / P_STATE."""

    uuids: Uuids
    role: Role
    disk: DState
    changed_blocks: int
    crashed_primary: bool = False
    discard_my_data: bool = False
    held_open: bool = False  # own side only: a Primary whose device is open cannot give up its role


@dataclass(frozen=True)
class HandshakeVerdict:
    hg: int
    rule: int
    conn: CState
    full_sync: bool = False
    give_up_primary: bool = False
    log: tuple[str, ...] = field(default=())

    @property
    def aborted(self) -> bool:
        return self.conn == CState.StandAlone


def sync_handshake(
    me: HandshakeSide, peer: HandshakeSide, policies: AfterSbPolicies, *, tiebreak_self: bool
) -> HandshakeVerdict:
    """drbd_sync_handshake steps 1-6 (DRBD.md), from this side's point of view."""
    log: list[str] = [
        "drbd_sync_handshake:",
        f"self {me.uuids.dump()} bits:{me.changed_blocks} flags:0",
        f"peer {peer.uuids.dump()} bits:{peer.changed_blocks} flags:{int(peer.discard_my_data)}",
    ]
    hg, rule = uuid_compare(
        me.uuids,
        peer.uuids,
        crashed_self=me.crashed_primary,
        crashed_peer=peer.crashed_primary,
        tiebreak_self=tiebreak_self,
        primary_self=me.role == Role.Primary,
        primary_peer=peer.role == Role.Primary,
    )
    first_hg = hg
    log.append(f"uuid_compare()={hg} by rule {rule}")
    if rule == 41 and hg == HG_SPLIT_BRAIN_MANUAL:
        log.append("Equivalent unrotated UUIDs, but both are primary. Can not resolve this.")

    def done(conn: CState, *, full: bool = False, give_up: bool = False) -> HandshakeVerdict:
        return HandshakeVerdict(first_hg, rule, conn, full, give_up, tuple(log))

    if hg == HG_UNRELATED:
        log.append("Unrelated data, aborting!")
        return done(CState.StandAlone)

    if (me.disk == DState.Inconsistent and peer.disk > DState.Inconsistent) or (
        peer.disk == DState.Inconsistent and me.disk > DState.Inconsistent
    ):
        full = hg == HG_SPLIT_BRAIN_MANUAL or abs(hg) == 2
        hg = 1 if me.disk > DState.Inconsistent else -1
        if full:
            hg *= 2
        log.append(f"Becoming sync {'source' if hg > 0 else 'target'} due to disk states.")

    if abs(hg) == HG_SPLIT_BRAIN_AUTO:
        log.append(f"{HELPER} initial-split-brain minor-0")
    give_up = False
    if hg == HG_SPLIT_BRAIN_AUTO or (hg == HG_SPLIT_BRAIN_MANUAL and policies.always_asbp):
        primaries = (me.role == Role.Primary) + (peer.role == Role.Primary)
        forced = hg == HG_SPLIT_BRAIN_MANUAL
        decision = after_split_brain(
            policies.for_primaries(primaries),
            SplitSide(me.changed_blocks, me.uuids.bitmap & 1, me.role.name),
            SplitSide(peer.changed_blocks, peer.uuids.bitmap & 1, peer.role.name),
            tiebreak_self=tiebreak_self,
            after_sb_0pri=policies.after_sb_0pri,
        )
        if policies.for_primaries(primaries) not in ALLOWED_BY_PRIMARIES[primaries]:
            log.append("Configuration error.")
        hg = _hg(decision)
        if hg < 0 and me.role == Role.Primary and policies.for_primaries(primaries) == "call-pri-lost-after-sb":
            # drbd_asb_recover_1p/2p try to demote right here; an open device refuses (is_valid_state), and then
            # the pri-lost-after-sb handler runs and the split brain stays unresolved.
            if me.held_open:
                log.append("State change failed: Device is held open by someone")
                log.append(f"{HELPER} pri-lost-after-sb minor-0")
                hg = HG_SPLIT_BRAIN_MANUAL
            else:
                log.append("Successfully gave up primary role.")
                give_up = True
        if abs(hg) < 100:
            log.append(
                f"Split-Brain detected, {primaries} primaries, automatically solved. "
                f"Sync from {'peer' if hg < 0 else 'this'} node"
            )
            if forced:
                log.append("Doing a full sync, since UUIDs where ambiguous.")
                hg *= 2

    if hg == HG_SPLIT_BRAIN_MANUAL:
        if me.discard_my_data and not peer.discard_my_data:
            hg = -1
        if not me.discard_my_data and peer.discard_my_data:
            hg = 1
        if abs(hg) < 100:
            log.append(f"Split-Brain detected, manually solved. Sync from {'peer' if hg < 0 else 'this'} node")

    if hg == HG_SPLIT_BRAIN_MANUAL:
        log.append("Split-Brain detected but unresolved, dropping connection!")
        log.append(f"{HELPER} split-brain minor-0")
        return done(CState.StandAlone)

    if hg > 0 and me.disk <= DState.Inconsistent:
        log.append("I shall become SyncSource, but I am inconsistent!")
        return done(CState.StandAlone)

    if hg < 0 and me.role == Role.Primary and not give_up and me.disk >= DState.Consistent:
        if policies.rr_conflict != "violently":
            log.append("I shall become SyncTarget, but I am primary!")
            return done(CState.StandAlone)
        log.append("Becoming SyncTarget, violating the stable-dataassumption")

    full = abs(hg) >= 2
    if full:
        log.append("Writing the whole bitmap, full sync required after drbd_sync_handshake.")
    if hg > 0:
        return done(CState.WFBitMapS, full=full, give_up=give_up)
    if hg < 0:
        return done(CState.WFBitMapT, full=full, give_up=give_up)
    return done(CState.Connected, give_up=give_up)

"""after_split_brain for every policy, and drbd_sync_handshake's decisions and log lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_drbd_uuids import OPS, evolve_two_nodes

from sims.drbd import (
    AfterSbPolicies,
    CState,
    DState,
    HandshakeSide,
    Role,
    SplitSide,
    Uuids,
    after_split_brain,
    sync_handshake,
)
from sims.drbd.handshake import POLICIES_0PRI, POLICIES_1PRI, POLICIES_2PRI

P, S = "Primary", "Secondary"


def side(changed: int, bit0: int, role: str = S) -> SplitSide:
    return SplitSide(changed, bit0, role)


CASES_0PRI = [
    ("disconnect", side(1, 0), side(2, 1), False, "disconnect"),
    ("discard-younger-primary", side(1, 0), side(5, 1), False, "discard-local"),
    ("discard-younger-primary", side(5, 1), side(1, 0), False, "discard-peer"),
    ("discard-younger-primary", side(0, 1), side(3, 1), False, "discard-local"),  # falls to zero-changes
    ("discard-younger-primary", side(2, 0), side(3, 0), False, "discard-local"),  # then least-changes
    ("discard-older-primary", side(1, 0), side(5, 1), False, "discard-peer"),
    ("discard-older-primary", side(5, 1), side(1, 0), False, "discard-local"),
    ("discard-older-primary", side(4, 1), side(3, 1), True, "discard-peer"),  # least-changes
    ("discard-zero-changes", side(0, 0), side(3, 0), False, "discard-local"),
    ("discard-zero-changes", side(3, 0), side(0, 0), False, "discard-peer"),
    ("discard-zero-changes", side(3, 0), side(2, 0), False, "disconnect"),
    ("discard-zero-changes", side(0, 0), side(0, 0), True, "discard-local"),
    ("discard-zero-changes", side(0, 0), side(0, 0), False, "discard-peer"),
    ("discard-least-changes", side(2, 0), side(3, 0), False, "discard-local"),
    ("discard-least-changes", side(4, 0), side(3, 0), False, "discard-peer"),
    ("discard-least-changes", side(3, 0), side(3, 0), True, "discard-local"),
    ("discard-least-changes", side(3, 0), side(3, 0), False, "discard-peer"),
    ("discard-local", side(9, 0), side(0, 0), False, "discard-local"),
    ("discard-remote", side(0, 0), side(9, 0), False, "discard-peer"),
    # 1pri/2pri-only policies configured as 0pri: DRBD's "Configuration error." -> disconnect
    ("consensus", side(1, 0), side(0, 0), False, "disconnect"),
    ("discard-secondary", side(1, 0), side(0, 0), False, "disconnect"),
    ("call-pri-lost-after-sb", side(1, 0), side(0, 0), False, "disconnect"),
    ("violently-as0p", side(1, 0), side(0, 0), False, "disconnect"),
]


@pytest.mark.parametrize(("policy", "me", "peer", "tiebreak", "expected"), CASES_0PRI)
def test_after_sb_0pri(policy: str, me: SplitSide, peer: SplitSide, tiebreak: bool, expected: str) -> None:
    assert after_split_brain(policy, me, peer, tiebreak_self=tiebreak) == expected


CASES_1PRI = [
    # (policy, after_sb_0pri, me, peer, expected)
    ("disconnect", "discard-zero-changes", side(0, 0, P), side(1, 0), "disconnect"),
    ("consensus", "discard-zero-changes", side(5, 0, P), side(0, 0, S), "discard-peer"),
    ("consensus", "discard-zero-changes", side(0, 0, P), side(5, 0, S), "disconnect"),
    ("consensus", "discard-zero-changes", side(0, 0, S), side(5, 0, P), "discard-local"),
    ("consensus", "disconnect", side(0, 0, S), side(5, 0, P), "disconnect"),
    ("discard-secondary", "disconnect", side(0, 0, P), side(9, 0, S), "discard-peer"),
    ("discard-secondary", "disconnect", side(9, 0, S), side(0, 0, P), "discard-local"),
    ("violently-as0p", "discard-zero-changes", side(0, 0, P), side(5, 0, S), "discard-local"),
    ("call-pri-lost-after-sb", "discard-least-changes", side(1, 0, P), side(5, 0, S), "discard-local"),
    ("call-pri-lost-after-sb", "disconnect", side(1, 0, P), side(5, 0, S), "disconnect"),
    ("discard-zero-changes", "discard-zero-changes", side(0, 0, P), side(5, 0, S), "disconnect"),
]


@pytest.mark.parametrize(("policy", "zero", "me", "peer", "expected"), CASES_1PRI)
def test_after_sb_1pri(policy: str, zero: str, me: SplitSide, peer: SplitSide, expected: str) -> None:
    assert after_split_brain(policy, me, peer, tiebreak_self=False, after_sb_0pri=zero) == expected


CASES_2PRI = [
    ("disconnect", "discard-least-changes", "disconnect"),
    ("violently-as0p", "discard-least-changes", "discard-local"),
    ("call-pri-lost-after-sb", "discard-least-changes", "discard-local"),
    ("call-pri-lost-after-sb", "disconnect", "disconnect"),
    ("consensus", "discard-least-changes", "disconnect"),
    ("discard-secondary", "discard-least-changes", "disconnect"),
]


@pytest.mark.parametrize(("policy", "zero", "expected"), CASES_2PRI)
def test_after_sb_2pri(policy: str, zero: str, expected: str) -> None:
    me, peer = side(1, 1, P), side(4, 0, P)
    assert after_split_brain(policy, me, peer, tiebreak_self=False, after_sb_0pri=zero) == expected


A, B, C, D = 0xA000, 0xB000, 0xC000, 0xD000


def hs(
    uuids: Uuids, role: Role = Role.Secondary, disk: DState = DState.UpToDate, changed: int = 0, discard: bool = False
) -> HandshakeSide:
    return HandshakeSide(uuids, role, disk, changed, discard_my_data=discard)


SPLIT_ME = Uuids(B | 1, A | 1, (C, 0))
SPLIT_PEER = Uuids(D | 1, A, (C, 0))


def test_split_brain_unresolved_drops_connection() -> None:
    verdict = sync_handshake(
        hs(SPLIT_ME, Role.Primary, changed=3),
        hs(SPLIT_PEER, Role.Primary, changed=2),
        AfterSbPolicies(),
        tiebreak_self=False,
    )
    assert verdict.conn == CState.StandAlone
    assert "uuid_compare()=100 by rule 90" in verdict.log
    assert verdict.log[-2:] == (
        "Split-Brain detected but unresolved, dropping connection!",
        "helper command: /sbin/drbdadm split-brain minor-0",
    )


def test_discard_my_data_settles_split_brain_on_both_sides() -> None:
    victim = sync_handshake(
        hs(SPLIT_PEER, changed=2, discard=True),
        hs(SPLIT_ME, Role.Primary, changed=3),
        AfterSbPolicies(),
        tiebreak_self=False,
    )
    survivor = sync_handshake(
        hs(SPLIT_ME, Role.Primary, changed=3),
        hs(SPLIT_PEER, changed=2, discard=True),
        AfterSbPolicies(),
        tiebreak_self=True,
    )
    assert (victim.conn, survivor.conn) == (CState.WFBitMapT, CState.WFBitMapS)
    assert "Split-Brain detected, manually solved. Sync from peer node" in victim.log


def test_automatic_recovery_by_policy() -> None:
    policies = AfterSbPolicies(after_sb_0pri="discard-zero-changes")
    verdict = sync_handshake(hs(SPLIT_ME, changed=0), hs(SPLIT_PEER, changed=4), policies, tiebreak_self=False)
    assert verdict.conn == CState.WFBitMapT and not verdict.full_sync
    assert "Split-Brain detected, 0 primaries, automatically solved. Sync from peer node" in verdict.log


def test_call_pri_lost_after_sb_makes_the_losing_primary_give_up() -> None:
    policies = AfterSbPolicies(after_sb_0pri="discard-least-changes", after_sb_1pri="call-pri-lost-after-sb")
    verdict = sync_handshake(
        hs(SPLIT_ME, Role.Primary, changed=1), hs(SPLIT_PEER, changed=4), policies, tiebreak_self=False
    )
    assert verdict.conn == CState.WFBitMapT and verdict.give_up_primary


def test_call_pri_lost_after_sb_with_the_device_held_open_runs_the_handler() -> None:
    """drbd_asb_recover_1p (ASB_CALL_HELPER): the demotion fails (is_valid_state: SS_DEVICE_IN_USE), so the
    pri-lost-after-sb handler runs and the split brain stays unresolved: the connection is dropped."""
    policies = AfterSbPolicies(after_sb_0pri="discard-least-changes", after_sb_1pri="call-pri-lost-after-sb")
    me = HandshakeSide(SPLIT_ME, Role.Primary, DState.UpToDate, 1, held_open=True)
    verdict = sync_handshake(me, hs(SPLIT_PEER, changed=4), policies, tiebreak_self=False)
    assert verdict.conn == CState.StandAlone and not verdict.give_up_primary
    assert "State change failed: Device is held open by someone" in verdict.log
    assert "helper command: /sbin/drbdadm pri-lost-after-sb minor-0" in verdict.log
    assert "Successfully gave up primary role." not in verdict.log
    assert not any("automatically solved" in line for line in verdict.log)
    assert verdict.log[-2] == "Split-Brain detected but unresolved, dropping connection!"


def test_rule_41_two_primaries_cannot_be_resolved() -> None:
    """drbd_uuid_compare rule 41: equal current UUIDs, a crash flag, and both Primary: -100, "Can not resolve"."""
    me = HandshakeSide(Uuids(A | 1, 0, (C, 0)), Role.Primary, DState.UpToDate, 0, crashed_primary=True)
    peer = HandshakeSide(Uuids(A | 1, 0, (C, 0)), Role.Primary, DState.UpToDate, 0)
    verdict = sync_handshake(me, peer, AfterSbPolicies(), tiebreak_self=False)
    assert (verdict.hg, verdict.rule, verdict.conn) == (-100, 41, CState.StandAlone)
    assert "Equivalent unrotated UUIDs, but both are primary. Can not resolve this." in verdict.log


def test_unrelated_data_aborts() -> None:
    verdict = sync_handshake(
        hs(Uuids(A, 0, (0x10, 0x20))), hs(Uuids(B, 0, (0x30, 0x50))), AfterSbPolicies(), tiebreak_self=False
    )
    assert verdict.conn == CState.StandAlone and verdict.log[-1] == "Unrelated data, aborting!"


def test_primary_refuses_to_become_sync_target() -> None:
    verdict = sync_handshake(
        hs(Uuids(A | 1, 0, (C, 0)), Role.Primary), hs(Uuids(B, A, (C, 0))), AfterSbPolicies(), tiebreak_self=False
    )
    assert verdict.hg == -1 and verdict.rule == 50
    assert verdict.log[-1] == "I shall become SyncTarget, but I am primary!"


def test_inconsistent_side_becomes_target_by_disk_state() -> None:
    verdict = sync_handshake(
        hs(Uuids(A, 0, (0, 0)), disk=DState.Inconsistent),
        hs(Uuids(A, 0, (0, 0))),
        AfterSbPolicies(),
        tiebreak_self=False,
    )
    assert verdict.conn == CState.WFBitMapT
    assert "Becoming sync target due to disk states." in verdict.log


def test_just_created_versus_data_is_full_sync() -> None:
    verdict = sync_handshake(
        hs(Uuids.just_created(), disk=DState.Inconsistent),
        hs(Uuids(A, 0, (0, 0))),
        AfterSbPolicies(),
        tiebreak_self=False,
    )
    assert verdict.conn == CState.WFBitMapT and verdict.full_sync


# --- both sides decide alone, yet must agree -------------------------------------------------------------------

ROLES = st.sampled_from([Role.Primary, Role.Secondary])
DISKS = st.sampled_from([DState.UpToDate, DState.Inconsistent, DState.Outdated])
POLICY_SETS = st.builds(
    AfterSbPolicies,
    # discard-local/remote are one-sided on purpose (drbdadm's discard-node-NAME sets them on opposite nodes)
    after_sb_0pri=st.sampled_from([p for p in POLICIES_0PRI if p not in ("discard-local", "discard-remote")]),
    after_sb_1pri=st.sampled_from(POLICIES_1PRI),
    after_sb_2pri=st.sampled_from(POLICIES_2PRI),
)


@settings(max_examples=300, deadline=None)
@given(
    OPS,
    st.integers(0, 2**32),
    st.tuples(ROLES, ROLES),
    st.tuples(DISKS, DISKS),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.booleans(), st.booleans()),
    st.tuples(st.booleans(), st.booleans()),
    POLICY_SETS,
)
def test_both_sides_reach_mirrored_verdicts(ops, seed, roles, disks, changed, crashed, discard, policies) -> None:
    a, b = evolve_two_nodes(ops, seed)
    side_a = HandshakeSide(a, roles[0], disks[0], changed[0], crashed[0], discard[0])
    side_b = HandshakeSide(b, roles[1], disks[1], changed[1], crashed[1], discard[1])
    va = sync_handshake(side_a, side_b, policies, tiebreak_self=True)
    vb = sync_handshake(side_b, side_a, policies, tiebreak_self=False)
    if va.aborted or vb.aborted:
        return  # one side refusing is enough: the link drops and neither syncs
    pair = {va.conn, vb.conn}
    assert pair in ({CState.Connected}, {CState.WFBitMapS, CState.WFBitMapT}), (va, vb)
    assert va.full_sync == vb.full_sync or va.conn == CState.Connected

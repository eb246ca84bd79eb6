"""uuid_compare against DRBD's rule table, one case per rule, and the sign-flip symmetry as a property."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sims.drbd import UUID_JUST_CREATED as NEW
from sims.drbd import UUID_NEW_BM_OFFSET as OFF
from sims.drbd import Uuids, uuid_compare
from sims.drbd.uuids import (
    adopt_sync_uuid,
    new_data_generation,
    resync_finished_source,
    resync_finished_target,
    resync_start_source,
    self_correction,
)

A, B, C, D, E = 0xA000, 0xB000, 0xC000, 0xD000, 0xE000


def U(cur: int, bm: int = 0, h0: int = 0, h1: int = 0) -> Uuids:
    return Uuids(cur, bm, (h0, h1))


CASES = [
    # (me, peer, flags, expected (hg, rule))
    ("10 both just created", U(NEW), U(NEW), {}, (0, 10)),
    ("10 role bit ignored", U(NEW | 1), U(NEW), {}, (0, 10)),
    ("20 I am just created", U(NEW), U(A), {}, (-2, 20)),
    ("20 I am zero", U(0), U(A | 1), {}, (-2, 20)),
    ("30 peer just created", U(A), U(NEW), {}, (2, 30)),
    ("30 peer zero", U(A | 1), U(0), {}, (2, 30)),
    ("34 source missed resync-finished", U(A, B, C), U(A, 0, B, C), {}, (1, 34)),
    ("36 as 34, history not lined up", U(A, B, C), U(A, 0, D, E), {}, (1, 36)),
    ("34 raw bitmap: role bit counts as non-zero", U(A, 1, 0, 0), U(A, 0, 0, 0), {}, (1, 34)),
    ("35 peer missed resync-finished", U(A, 0, B, C), U(A, B, C), {}, (-1, 35)),
    ("37 as 35, history not lined up", U(A, 0, D, E), U(A, B, C), {}, (-1, 37)),
    ("40 link hiccup", U(A, 0, B), U(A | 1, 0, B), {}, (0, 40)),
    ("40 I crashed as primary", U(A), U(A), {"crashed_self": True}, (1, 40)),
    ("40 peer crashed as primary", U(A), U(A), {"crashed_peer": True}, (-1, 40)),
    (
        "40 both crashed, I hold the tiebreak",
        U(A),
        U(A),
        {"crashed_self": True, "crashed_peer": True, "tiebreak_self": True},
        (-1, 40),
    ),
    ("40 both crashed, peer holds the tiebreak", U(A), U(A), {"crashed_self": True, "crashed_peer": True}, (1, 40)),
    ("40 no crash flag: a primary present changes nothing", U(A), U(A | 1), {"primary_peer": True}, (0, 40)),
    ("41 I crashed, peer is Primary now", U(A), U(A | 1), {"crashed_self": True, "primary_peer": True}, (-1, 41)),
    ("41 peer crashed, I am Primary now", U(A | 1), U(A), {"crashed_peer": True, "primary_self": True}, (1, 41)),
    ("41 I crashed and am Primary again", U(A | 1), U(A), {"crashed_self": True, "primary_self": True}, (1, 41)),
    (
        "41 both Primary: cannot be resolved",
        U(A | 1),
        U(A | 1),
        {"crashed_self": True, "primary_self": True, "primary_peer": True},
        (-100, 41),
    ),
    ("50 peer's bitmap is my current", U(A, 0, C), U(B | 1, A | 1, C), {}, (-1, 50)),
    ("51 lost sync-UUID packet (peer)", U(A, 0, C), U(B, A + OFF, A, C), {}, (-1, 51)),
    ("60 my current in peer's history", U(A), U(B, 0, C, A), {}, (-2, 60)),
    ("70 my bitmap is peer's current", U(B | 1, A | 1, C), U(A, 0, C), {}, (1, 70)),
    ("71 lost sync-UUID packet (me)", U(B, A + OFF, A, C), U(A, 0, C), {}, (1, 71)),
    ("80 peer's current in my history", U(B, 0, C, A), U(A), {}, (2, 80)),
    ("90 split brain, same bitmap UUID", U(B | 1, A | 1, C), U(D, A, C), {}, (100, 90)),
    ("100 split brain, history only", U(B, C, E), U(D, A, E), {}, (-100, 100)),
    ("100 zero history slots match too", U(B, C, 0, 0), U(D, A, 0, 0), {}, (-100, 100)),
    ("-1000 unrelated data", U(B, C, D, E), U(A, 0x1000, 0x2000, 0x3000), {}, (-1000, 100)),
]


@pytest.mark.parametrize(("me", "peer", "flags", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_uuid_compare_follows_drbd_rule_table(me: Uuids, peer: Uuids, flags: dict, expected: tuple[int, int]) -> None:
    """drbd_uuid_compare (drbd_receiver.c, 8.4.12), rule by rule, including rule 41 (since 8.4.7)."""
    assert uuid_compare(me, peer, **flags) == expected


def test_every_rule_is_covered() -> None:
    rules = {expected[1] for *_, expected in CASES}
    assert rules == {10, 20, 30, 34, 35, 36, 37, 40, 41, 50, 51, 60, 70, 71, 80, 90, 100}
    assert {-1000, -100, 100, -2, -1, 0, 1, 2} <= {expected[0] for *_, expected in CASES}


def test_self_correction_repairs_rule_34_and_71() -> None:
    assert self_correction(U(A, B, C), 34) == U(A, 0, B, C)
    assert self_correction(U(B, A + OFF, A, C), 71) == U(B, A, C, C)
    assert self_correction(U(A, B, C), 50) == U(A, B, C)


def test_resync_cycle_moves_uuids_as_drbd() -> None:
    rng = random.Random(1)
    source = U(A | 1, B, C, D)
    started = resync_start_source(source, rng)
    assert started == U(A | 1, B + OFF, B, C)
    target = adopt_sync_uuid(U(B, 0, C, D), started.bitmap)
    assert target.current == B + OFF
    finished = resync_finished_source(started)
    assert finished == U(A | 1, 0, B + OFF, B)
    assert resync_finished_target(finished, primary=False) == U(A, 0, B + OFF, B)
    fresh = resync_start_source(U(A, 0, C, D), rng)
    assert fresh.history == (C, D) and fresh.bitmap not in (0, NEW)


def test_new_data_generation_keeps_role_bit_in_bitmap_uuid() -> None:
    moved = new_data_generation(U(A | 1, 0, C, D), primary=True, rng=random.Random(2))
    assert moved.bitmap == A | 1 and moved.current & 1 == 1 and moved.history == (C, D)


# --- symmetry: states reached by legal UUID movements of two nodes that started as one ------------------------

OPS = st.lists(st.sampled_from(["gen_a", "gen_b", "sync_ab", "sync_ba"]), max_size=8)


def evolve_two_nodes(ops: list[str], seed: int) -> tuple[Uuids, Uuids]:
    rng = random.Random(seed)
    a = b = U(A, 0, 0, 0)
    for op in ops:
        if op == "gen_a":
            a = new_data_generation(a, primary=rng.random() < 0.5, rng=rng)
        elif op == "gen_b":
            b = new_data_generation(b, primary=rng.random() < 0.5, rng=rng)
        else:
            src, dst = (a, b) if op == "sync_ab" else (b, a)
            src = resync_finished_source(resync_start_source(src, rng))
            dst = resync_finished_target(src, primary=False)
            a, b = (src, dst) if op == "sync_ab" else (dst, src)
    return a, b


@settings(max_examples=300, deadline=None)
@given(OPS, st.integers(0, 2**32), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_swapping_sides_flips_the_sign(
    ops: list[str], seed: int, c1: bool, c2: bool, tb: bool, p1: bool, p2: bool
) -> None:
    """drbd_uuid_compare: both sides of a connection reach opposite answers (rules 40/41 included)."""
    a, b = evolve_two_nodes(ops, seed)
    flags_a = {"crashed_self": c1, "crashed_peer": c2, "primary_self": p1, "primary_peer": p2}
    flags_b = {"crashed_self": c2, "crashed_peer": c1, "primary_self": p2, "primary_peer": p1}
    hg_a, rule_a = uuid_compare(a, b, tiebreak_self=tb, **flags_a)
    hg_b, rule_b = uuid_compare(b, a, tiebreak_self=not tb, **flags_b)
    if abs(hg_a) in (100, 1000):
        assert hg_b == hg_a
    else:
        assert hg_b == -hg_a

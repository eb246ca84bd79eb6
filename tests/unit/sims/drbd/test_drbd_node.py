"""Named scenarios on two in-memory node cores: the stories the drbd lab tells, each checked step by step."""

from __future__ import annotations

from pathlib import Path

import pytest

from sims.drbd import AfterSbPolicies, CState, DState, Role
from sims.drbd.node import Node, NodeConfig, Refused
from sims.drbd.pair import Pair
from sims.drbd.storage import FileDevice, JsonMetaStore, Metadata
from sims.drbd.uuids import Uuids

BS = 512


def data(tag: int) -> bytes:
    return tag.to_bytes(4, "big") * (BS // 4)


def logged(pair: Pair, name: str, text: str) -> bool:
    return any(text in line for line in pair.logs[name])


def connected_pair(config: NodeConfig | None = None) -> Pair:
    pair = Pair(blocks=16, block_size=BS, config=config)
    pair.a.up()
    pair.b.up()
    pair.heal()
    pair.settle()
    pair.a.primary(force=True)
    pair.settle()
    assert pair.a.cstate == pair.b.cstate == CState.Connected
    return pair


def split_brain(pair: Pair) -> None:
    pair.cut()
    pair.b.primary()
    pair.a.write(1, data(1))
    pair.b.write(2, data(2))
    pair.b.write(3, data(3))


def test_fresh_pair_is_inconsistent_until_forced() -> None:
    pair = Pair(blocks=16, block_size=BS)
    pair.a.up()
    pair.b.up()
    pair.heal()
    pair.settle()
    assert (pair.a.disk, pair.b.disk) == (DState.Inconsistent, DState.Inconsistent)
    assert logged(pair, "a", "uuid_compare()=0 by rule 10")
    with pytest.raises(Refused, match=r"\(-2\) Need access to UpToDate data"):
        pair.a.primary()
    pair.a.primary(force=True)
    pair.settle()
    assert (pair.a.disk, pair.b.disk) == (DState.UpToDate, DState.UpToDate)
    assert pair.b.counters.resync_total == 16  # full sync


def test_second_primary_refused_while_connected() -> None:
    pair = connected_pair()
    with pytest.raises(Refused) as refused:
        pair.b.primary(force=True)
    assert str(refused.value) == "0: State change failed: (-1) Multiple primaries not allowed by config"
    assert refused.value.exit_code == 17


def test_unresolved_split_brain_leaves_both_standalone() -> None:
    pair = connected_pair()
    split_brain(pair)
    pair.heal()
    pair.settle()
    assert pair.a.cstate == pair.b.cstate == CState.StandAlone
    for name in ("a", "b"):
        assert logged(pair, name, "Split-Brain detected but unresolved, dropping connection!")


def test_split_brain_resolved_automatically_by_least_changes() -> None:
    pair = connected_pair(NodeConfig(AfterSbPolicies(after_sb_0pri="discard-least-changes")))
    split_brain(pair)
    pair.a.secondary()
    pair.b.secondary()
    pair.heal()
    pair.settle()
    assert pair.a.cstate == pair.b.cstate == CState.Connected
    assert pair.devices["a"].image() == pair.devices["b"].image()
    assert pair.devices["a"].read(2) == data(2)  # b had more changes: a's write of block 1 was discarded
    assert pair.devices["a"].read(1) == bytes(BS)
    assert logged(pair, "a", "automatically solved. Sync from peer node")


def test_primary_refuses_to_become_sync_target() -> None:
    """The classic slip: `connect --discard-my-data` on the victim without demoting it first."""
    pair = connected_pair()
    split_brain(pair)
    pair.heal()
    pair.settle()
    pair.b.connect(discard_my_data=True)  # b is still Primary
    pair.a.connect()
    pair.heal()
    pair.settle()
    assert logged(pair, "b", "Split-Brain detected, manually solved. Sync from peer node")
    assert logged(pair, "b", "I shall become SyncTarget, but I am primary!")
    assert pair.b.cstate == CState.StandAlone and pair.b.role == Role.Primary


def test_unrelated_data_is_refused() -> None:
    pair = Pair(blocks=16, block_size=BS)
    pair.stores["a"].save(Metadata(Uuids(0xA0, 0, (0xA2, 0xA4)), consistent=True))
    pair.stores["b"].save(Metadata(Uuids(0xB0, 0, (0xB2, 0xB4)), consistent=True))
    pair.a.up()
    pair.b.up()
    pair.heal()
    pair.settle()
    assert logged(pair, "a", "uuid_compare()=-1000 by rule 100")
    assert logged(pair, "a", "Unrelated data, aborting!")
    assert pair.a.cstate == pair.b.cstate == CState.StandAlone


def test_younger_primary_is_discarded() -> None:
    pair = connected_pair(NodeConfig(AfterSbPolicies(after_sb_0pri="discard-younger-primary")))
    split_brain(pair)  # a was Primary when the link broke (older), b was promoted after (younger)
    assert pair.a.md.uuids.bitmap & 1 == 1 and pair.b.md.uuids.bitmap & 1 == 0
    pair.a.secondary()
    pair.b.secondary()
    pair.heal()
    pair.settle()
    assert pair.devices["b"].read(1) == data(1) and pair.devices["b"].read(2) == bytes(BS)
    assert pair.devices["a"].image() == pair.devices["b"].image()


def test_crashed_primary_resyncs_its_activity_log_to_the_new_primary() -> None:
    pair = connected_pair()
    pair.a.write(5, data(5))
    pair.settle()
    pair.a.write(6, data(6))  # in flight when the power goes: b never gets it
    pair.crash("a")
    pair.b.primary()
    pair.b.write(7, data(7))
    pair.heal()
    pair.settle()
    assert pair.a.role == Role.Secondary and pair.a.cstate == CState.Connected
    assert pair.devices["a"].image() == pair.devices["b"].image()
    assert pair.devices["a"].read(6) == bytes(BS)  # the unacknowledged write is gone on both


def test_meta_data_survives_restart(tmp_path: Path) -> None:
    store = JsonMetaStore(tmp_path / "r0.img.md.json")
    device = FileDevice(tmp_path / "r0.img", blocks=8, block_size=BS)
    node = Node(device, store)
    node.up()
    node.disconnect()
    node.primary(force=True)
    node.write(3, data(3))
    node.secondary()
    saved = store.load()
    assert saved is not None and saved.bitmap == {3} and saved.consistent and not saved.primary
    device.close()
    assert (tmp_path / "r0.img").stat().st_size == 8 * BS
    again = Node(FileDevice(tmp_path / "r0.img", blocks=8, block_size=BS), store)
    again.up()
    assert again.disk == DState.UpToDate and again.md.uuids == node.md.uuids and again.md.bitmap == {3}
    assert again.read(3, inspect=True) == data(3)
    assert not list(tmp_path.glob("*.tmp"))


def test_metadata_json_round_trip() -> None:
    md = Metadata(Uuids(0xA1, 0xB0, (0xC0, 0xD0)), {1, 5}, True, False, True, [0, 2])
    assert Metadata.from_json(md.to_json()) == md


def test_bitmap_hex_round_trip() -> None:
    for bits in (set(), {0}, {7, 8, 9}, set(range(0, 4096, 3))):
        md = Metadata(Uuids.just_created(), bits)
        assert Metadata.from_json(md.to_json()).bitmap == bits

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
    """is_valid_state: SS_TWO_PRIMARIES (-1); drbdsetup's print_config_error exits 11 for it (17 is only -2)."""
    pair = connected_pair()
    with pytest.raises(Refused) as refused:
        pair.b.primary(force=True)
    assert str(refused.value) == "0: State change failed: (-1) Multiple primaries not allowed by config"
    assert refused.value.exit_code == 11


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


def test_discard_my_data_refused_on_a_primary() -> None:
    """The classic slip: `connect --discard-my-data` on the victim without demoting it first. check_net_options
    (drbd_nl.c) refuses it: ERR_DISCARD_IMPOSSIBLE (123), drbdsetup exit 10; demoted, the same connect works."""
    pair = connected_pair()
    split_brain(pair)
    pair.heal()
    pair.settle()
    with pytest.raises(Refused) as refused:
        pair.b.connect(discard_my_data=True)  # b is still Primary
    assert str(refused.value) == "r0: Failure: (123) --discard-my-data not allowed when primary."
    assert refused.value.exit_code == 10
    assert pair.b.cstate == CState.StandAlone and not pair.b.discard_my_data
    pair.b.secondary()
    pair.b.connect(discard_my_data=True)
    pair.a.connect()
    pair.heal()
    pair.settle()
    assert logged(pair, "b", "Split-Brain detected, manually solved. Sync from peer node")
    assert pair.a.cstate == pair.b.cstate == CState.Connected
    assert pair.devices["a"].image() == pair.devices["b"].image()


def test_primary_refuses_to_become_sync_target() -> None:
    """drbd_sync_handshake, rr-conflict disconnect: a Primary the after-sb policy discards does not become target."""
    pair = connected_pair(
        NodeConfig(AfterSbPolicies(after_sb_0pri="discard-younger-primary", after_sb_1pri="violently-as0p"))
    )
    split_brain(pair)  # b, promoted after the link broke, is the younger primary
    pair.a.secondary()
    pair.heal()
    pair.settle()
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


# --- round 2: what DRBD 8.4 refuses and remembers ----------------------------------------------------------------


def test_device_held_open_cannot_be_demoted_or_taken_down() -> None:
    """is_valid_state (drbd_state.c): R_SECONDARY while open_cnt > 0 is SS_DEVICE_IN_USE (-12), drbdsetup exit 11;
    drbd_adm_down demotes first ("failed to demote"); drbd_open refuses a Secondary."""
    pair = connected_pair()
    with pytest.raises(Refused, match="Read-only file system"):
        pair.b.open()
    pair.a.open()
    with pytest.raises(Refused) as refused:
        pair.a.secondary()
    assert str(refused.value) == "0: State change failed: (-12) Device is held open by someone"
    assert refused.value.exit_code == 11
    assert logged(pair, "a", "block drbd0: State change failed: Device is held open by someone")
    with pytest.raises(Refused) as down:
        pair.a.down()
    assert str(down.value) == "r0: State change failed: (-12) Device is held open by someone"
    assert down.value.info == "failed to demote" and down.value.exit_code == 11
    assert pair.a.role == Role.Primary and pair.a.cstate == CState.Connected
    pair.a.close()
    pair.a.secondary()
    assert pair.a.role == Role.Secondary


def test_pri_lost_after_sb_when_the_losing_primary_is_held_open() -> None:
    """drbd_asb_recover_1p, call-pri-lost-after-sb: the discarded Primary tries to demote; held open it cannot, so
    the pri-lost-after-sb handler runs and it disconnects (StandAlone, still Primary); not held, it gives up."""
    config = NodeConfig(
        AfterSbPolicies(after_sb_0pri="discard-younger-primary", after_sb_1pri="call-pri-lost-after-sb")
    )
    for held in (True, False):
        pair = connected_pair(config)
        split_brain(pair)  # b, promoted after the link broke, is the younger primary: the 0pri verdict discards it
        pair.a.secondary()
        if held:
            pair.b.open()
        pair.heal()
        pair.settle()
        if held:
            assert logged(pair, "b", "helper command: /sbin/drbdadm pri-lost-after-sb minor-0")
            assert not logged(pair, "b", "Successfully gave up primary role.")
            assert pair.b.cstate == CState.StandAlone and pair.b.role == Role.Primary
        else:
            assert logged(pair, "b", "Successfully gave up primary role.")
            assert pair.b.role == Role.Secondary and pair.b.cstate == CState.Connected
            assert pair.devices["a"].image() == pair.devices["b"].image()


def test_force_makes_a_new_current_uuid_only_when_it_forced_the_disk() -> None:
    """drbd_set_role: `forced` is set only when SS_NO_UP_TO_DATE_DISK was overridden by raising the disk to
    UpToDate; only then (or when promoted without a peer and bitmap UUID 0) comes drbd_uuid_new_current."""
    pair = connected_pair()
    pair.a.secondary()
    pair.settle()
    before = pair.b.md.uuids
    pair.b.primary(force=True)  # UpToDate and connected: nothing to force
    assert pair.b.md.uuids.current == before.current | 1 and pair.b.md.uuids.bitmap == before.bitmap
    assert not logged(pair, "b", "Forced to consider local data as UpToDate!")
    fresh = Pair(blocks=16, block_size=BS)
    fresh.a.up()
    fresh.a.primary(force=True)  # Inconsistent: forced
    assert logged(fresh, "a", "Forced to consider local data as UpToDate!")
    assert fresh.a.md.uuids.bitmap == Uuids.just_created().current


def test_crashed_primary_flag_is_stored_and_survives_a_second_restart() -> None:
    """drbd_adm_attach sets CRASHED_PRIMARY from MDF_PRIMARY_IND or MDF_CRASHED_PRIMARY in the meta data;
    after_state_ch clears it only at UpToDate/UpToDate. Restarted twice, the crashed Primary still resyncs its
    activity log (uuid_compare rule 40) instead of "No resync, but N bits in bitmap!"."""
    pair = connected_pair()
    pair.a.write(5, data(5))
    pair.settle()
    pair.crash("a")
    pair.crash("a")  # again, before it ever reconnected
    saved = pair.stores["a"].load()
    assert saved is not None and saved.crashed_primary and not saved.primary
    assert pair.a.crashed_primary
    pair.heal()
    pair.settle()
    assert logged(pair, "a", "uuid_compare()=1 by rule 40")
    assert not logged(pair, "a", "No resync, but")
    assert pair.b.counters.resync_total > 0
    assert (pair.a.disk, pair.a.peer_disk) == (DState.UpToDate, DState.UpToDate)
    saved = pair.stores["a"].load()
    assert saved is not None and not saved.crashed_primary and not pair.a.crashed_primary


def test_sync_target_is_promoted_and_reads_missing_blocks_from_the_peer() -> None:
    """is_valid_state allows R_PRIMARY on a SyncTarget while the peer is UpToDate (is_valid_soft_transition refuses
    it only up to WFSyncUUID); drbd_may_do_local_read sends reads of out-of-sync blocks to the peer."""
    pair = connected_pair()
    pair.a.write(0, data(100))
    pair.settle()
    pair.cut()
    for n in (3, 4):
        pair.a.write(n, data(n))
    pair.a.secondary()
    pair.heal()
    pair.deliver()  # the handshake and bitmap exchange, but no resync data yet
    assert pair.b.cstate == CState.SyncTarget and pair.b.peer_disk == DState.UpToDate
    pair.b.primary()
    assert pair.b.role == Role.Primary and pair.b.disk == DState.Inconsistent
    with pytest.raises(Refused, match="not UpToDate here"):
        pair.b.read(3)
    local = pair.b.submit_read(0)
    assert pair.reads["b"][local] == data(100)
    remote = pair.b.submit_read(3)
    assert remote not in pair.reads["b"]
    pair.deliver()
    assert pair.reads["b"][remote] == data(3)
    pair.b.write(4, data(44))  # newer than the resync data for block 4
    pair.settle()
    assert pair.b.disk == pair.a.disk == DState.UpToDate
    assert pair.devices["b"].read(4) == data(44) == pair.devices["a"].read(4)
    assert pair.devices["a"].image() == pair.devices["b"].image()


def test_promotion_refused_while_the_handshake_runs() -> None:
    """is_valid_soft_transition: "Do not promote during resync handshake": SS_IN_TRANSIENT_STATE (-18), exit 11."""
    pair = connected_pair()
    pair.cut()
    pair.a.write(3, data(3))
    pair.a.secondary()
    pair.heal()
    pair.deliver(3)  # both sides have the verdict; b waits for the sync UUID
    assert pair.b.cstate in (CState.WFBitMapT, CState.WFSyncUUID)
    with pytest.raises(Refused) as refused:
        pair.b.primary()
    assert refused.value.code == -18 and refused.value.exit_code == 11


def test_outdate_is_judged_as_drbd_judges_it() -> None:
    """drbd_adm_outdate = NS(disk, D_OUTDATED): is_valid_state refuses it while Connected (SS_CONNECTED_OUTDATES,
    -6, exit 11); is_valid_soft_transition refuses it below Outdated (SS_LOWER_THAN_OUTDATED, -16, exit 5)."""
    pair = connected_pair()
    with pytest.raises(Refused) as connected:
        pair.b.outdate()
    assert str(connected.value) == "0: State change failed: (-6) Refusing to be Outdated while Connected"
    assert connected.value.exit_code == 11
    fresh = Pair(blocks=16, block_size=BS)
    fresh.a.up()
    with pytest.raises(Refused) as low:
        fresh.a.outdate()
    assert str(low.value) == "0: State change failed: (-16) Disk state is lower than outdated"
    assert low.value.exit_code == 5
    pair.b.disconnect()
    pair.b.outdate()
    assert pair.b.disk == DState.Outdated
    pair.b.outdate()  # SS_NOTHING_TO_DO
    with pytest.raises(Refused) as primary:
        pair.a.disconnect()
        pair.a.outdate()
    assert primary.value.code == -2 and primary.value.exit_code == 17


def test_commands_on_a_resource_that_is_down() -> None:
    """drbd_adm_prepare: a minor that is not set up is ERR_MINOR_INVALID (127), drbdsetup exit 10."""
    node = Pair(blocks=16, block_size=BS).a
    with pytest.raises(Refused) as refused:
        node.primary()
    assert str(refused.value) == "0: Failure: (127) Device minor not allocated" and refused.value.exit_code == 10


def test_nodes_that_disagree_on_after_sb_policies_do_not_connect() -> None:
    """receive_protocol (drbd_receiver.c): "incompatible after-sb-0pri settings" drops the connection; the
    peer's discard-remote is my discard-local (convert_after_sb), so drbdadm's discard-node-NAME agrees."""
    pair = Pair(blocks=16, block_size=BS)
    pair.nodes["b"].config = NodeConfig(AfterSbPolicies(after_sb_0pri="discard-zero-changes"))
    pair.a.up()
    pair.b.up()
    pair.heal()
    pair.settle()
    assert logged(pair, "a", "incompatible after-sb-0pri settings")
    assert CState.StandAlone in (pair.a.cstate, pair.b.cstate) and not pair.a.is_connected
    agreed = Pair(blocks=16, block_size=BS)
    agreed.nodes["a"].config = NodeConfig(AfterSbPolicies(after_sb_0pri="discard-local"))
    agreed.nodes["b"].config = NodeConfig(AfterSbPolicies(after_sb_0pri="discard-remote"))
    agreed.a.up()
    agreed.b.up()
    agreed.heal()
    agreed.settle()
    assert agreed.a.cstate == agreed.b.cstate == CState.Connected

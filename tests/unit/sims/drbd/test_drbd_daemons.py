"""Two real daemons on 127.0.0.x: replication, a broken link, resync of exactly the dirty blocks, split brain."""

from __future__ import annotations

from pathlib import Path

from sims.drbd.localcluster import Cluster, two_daemons, wait_until

BS = 4096


def block(tag: int) -> bytes:
    return tag.to_bytes(4, "big") * (BS // 4)


def both(cluster: Cluster, cstate: str, disk: str = "UpToDate") -> bool:
    sa, sb = cluster.status("alpha"), cluster.status("beta")
    return all(s["cstate"] == cstate and s["disk"] == disk and s["peer_disk"] == disk for s in (sa, sb))


def make_alpha_primary(c: Cluster) -> None:
    wait_until(lambda: both(c, "Connected", "Inconsistent"), "both nodes Connected and Inconsistent")
    assert c.drbdadm("alpha", "primary", "--force", "r0").returncode == 0
    wait_until(lambda: both(c, "Connected"), "the initial full sync to finish")


def test_resync_moves_exactly_the_dirty_blocks(tmp_path: Path) -> None:
    with two_daemons(tmp_path) as c:
        make_alpha_primary(c)
        with c.volume("alpha") as alpha, c.volume("beta") as beta:
            for n in range(10):
                alpha.write_block(n, block(n + 1))
                # protocol C: when the write returns, the peer's disk has it
                assert beta.read_block(n, inspect=True) == block(n + 1)
            moved_before = c.status("beta")["resync"]["moved_total"]

            assert c.drbdadm("alpha", "disconnect", "r0").returncode == 0
            wait_until(lambda: c.status("beta")["cstate"] == "WFConnection", "beta to notice the link is gone")
            assert c.status("alpha")["cstate"] == "StandAlone"
            dirty = [3, 4, 17, 100, 200, 201, 255]
            for i, n in enumerate(dirty):
                alpha.write_block(n, block(1000 + i))
            assert c.status("alpha")["out_of_sync_blocks"] == len(dirty)

            assert c.drbdadm("alpha", "connect", "r0").returncode == 0
            wait_until(lambda: both(c, "Connected"), "the resync after reconnecting to finish")
            target = c.status("beta")["resync"]
            assert target["total"] == len(dirty)
            assert target["moved_total"] - moved_before == len(dirty)
            assert c.status("alpha")["out_of_sync_blocks"] == 0
        assert c.image("alpha") == c.image("beta")
        assert "Began resync as SyncTarget (will sync 28 KB [7 bits set])." in c.log("beta")
        assert c.drbdadm("beta", "role", "r0").stdout == "Secondary/Primary\n"
        assert c.drbdadm("alpha", "cstate", "r0").stdout == "Connected\n"
        assert c.drbdadm("alpha", "dstate", "r0").stdout == "UpToDate/UpToDate\n"
        second = c.drbdadm("beta", "primary", "r0")
        assert second.returncode == 11
        assert second.stderr.splitlines()[:2] == [
            "0: State change failed: (-1) Multiple primaries not allowed by config",
            "Command 'drbdsetup-84 primary 0' terminated with exit code 11",
        ]
        assert c.drbdadm("alpha", "status", "r0").stdout.startswith(
            "r0 role:Primary\n  disk:UpToDate\n  peer role:Secondary\n    replication:Established peer-disk:UpToDate\n"
        )
        assert (
            " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----"
            in c.drbdadm("alpha", "proc-drbd", "r0").stdout
        )


def test_split_brain_detected_and_recovered_by_hand(tmp_path: Path) -> None:
    with two_daemons(tmp_path) as c:
        make_alpha_primary(c)
        for node in ("alpha", "beta"):
            assert c.drbdadm(node, "disconnect", "r0").returncode == 0
        refused = c.drbdadm("beta", "primary", "r0")
        assert refused.returncode == 0, refused.stderr  # apart, beta's UpToDate data may be promoted
        with c.volume("alpha") as alpha, c.volume("beta") as beta:
            alpha.write_block(1, block(11))
            beta.write_block(2, block(22))
        for node in ("alpha", "beta"):
            assert c.drbdadm(node, "connect", "r0").returncode == 0
        wait_until(
            lambda: c.status("alpha")["cstate"] == c.status("beta")["cstate"] == "StandAlone",
            "both sides to drop the connection",
        )
        for node in ("alpha", "beta"):
            log = c.log(node)
            assert "uuid_compare()=100 by rule 90" in log
            assert "Split-Brain detected but unresolved, dropping connection!" in log

        assert c.drbdadm("beta", "secondary", "r0").returncode == 0
        assert c.drbdadm("beta", "connect", "--discard-my-data", "r0").returncode == 0
        assert c.drbdadm("alpha", "connect", "r0").returncode == 0
        wait_until(lambda: both(c, "Connected"), "the victim to resync from the survivor")
        assert c.image("alpha") == c.image("beta")
        assert "Split-Brain detected, manually solved. Sync from peer node" in c.log("beta")


def test_interrupted_resync_leaves_target_inconsistent(tmp_path: Path) -> None:
    with two_daemons(tmp_path, size="256K", disk="resync-rate 128K;") as c:
        wait_until(lambda: both(c, "Connected", "Inconsistent"), "both nodes Connected and Inconsistent")
        assert c.drbdadm("alpha", "primary", "--force", "r0").returncode == 0
        wait_until(lambda: 0 < c.status("beta")["resync"]["done"], "the full sync to make progress")
        progress = c.drbdadm("beta", "proc-drbd", "r0").stdout
        assert "sync'ed:" in progress and " want: 128 K/sec" in progress
        c.kill("alpha")
        wait_until(lambda: c.status("beta")["cstate"] == "WFConnection", "beta to lose its sync source")
        status = c.status("beta")
        assert status["disk"] == "Inconsistent" and 0 < status["out_of_sync_blocks"] < 64
        refused = c.drbdadm("beta", "primary", "r0")
        assert refused.returncode == 17
        assert refused.stderr.splitlines()[0] == "0: State change failed: (-2) Need access to UpToDate data"
        assert refused.stderr.splitlines()[-1].startswith("Hint: ")
        c.start("alpha")  # the old source comes back (crashed as Primary) and finishes the job
        wait_until(lambda: both(c, "Connected"), "the resync to resume and finish")
        assert c.image("alpha") == c.image("beta")


def test_drbdadm_up_starts_the_daemon_and_down_stops_the_resource(tmp_path: Path) -> None:
    from sims.drbd.client import Volume, VolumeError
    from sims.drbd.localcluster import RES_TEMPLATE, Cluster, free_loopback_pair

    a, b = free_loopback_pair()
    config = tmp_path / "r0.res"
    config.write_text(RES_TEMPLATE.format(net="", disk="", size="64K", d=tmp_path, a=a, b=b))
    c = Cluster(tmp_path, config, {})
    try:
        assert c.drbdadm("alpha", "up", "r0").returncode == 0
        assert c.drbdadm("alpha", "cstate", "r0").stdout == "WFConnection\n"
        assert c.drbdadm("alpha", "dstate", "r0").stdout == "Inconsistent/DUnknown\n"
        assert c.drbdadm("alpha", "state", "r0").stdout == "Secondary/Unknown\n"
        again = c.drbdadm("alpha", "up", "r0")
        assert again.returncode == 10 and "(161) Minor or volume exists already" in again.stderr
        with Volume(tmp_path / "alpha.sock") as alpha:
            try:
                alpha.write_block(0, bytes(4096))
                raise AssertionError("a Secondary accepted a write")
            except VolumeError as e:
                assert e.exit_code != 0 and "not Primary" in str(e)
        assert c.drbdadm("alpha", "down", "r0").returncode == 0
        assert " 0: cs:Unconfigured" in c.drbdadm("alpha", "proc-drbd", "r0").stdout
        assert c.drbdadm("alpha", "status", "r0").stderr.startswith("r0: No such resource\n")
        gone = c.drbdadm("alpha", "role", "r0")
        assert gone.returncode == 10 and gone.stdout == ""
        assert gone.stderr.startswith("0: Failure: (127) Device minor not allocated\n")
    finally:
        with Volume(tmp_path / "alpha.sock") as alpha:
            try:
                alpha.request("stop")
            except VolumeError:
                pass


def test_silent_peer_is_dropped_and_writes_go_on(tmp_path: Path) -> None:
    """A peer that stops answering (SIGSTOP: like a partition) must not hang protocol C writes forever."""
    import os
    import signal
    import time

    with two_daemons(tmp_path, size="256K", net="ping-int 1; ping-timeout 3; timeout 10;") as c:
        make_alpha_primary(c)
        beta = c.procs["beta"]
        os.kill(beta.pid, signal.SIGSTOP)
        try:
            with c.volume("alpha") as alpha:
                started = time.monotonic()
                alpha.write_block(9, block(9))  # returns once alpha gives up on beta
                assert time.monotonic() - started < 5
            status = c.status("alpha")
            assert status["cstate"] == "WFConnection" and status["out_of_sync_blocks"] == 1
            assert "Remote failed to finish a request within timeout" in c.log("alpha")
        finally:
            os.kill(beta.pid, signal.SIGCONT)
        wait_until(lambda: both(c, "Connected"), "beta to come back and resync")
        assert c.image("alpha") == c.image("beta")


def test_held_open_primary_refuses_to_demote_and_to_discard_its_data(tmp_path: Path) -> None:
    """is_valid_state's SS_DEVICE_IN_USE through drbdadm (exit 11), released when the holder goes away as at a
    process's exit; check_net_options' ERR_DISCARD_IMPOSSIBLE for `connect --discard-my-data` on a Primary (10)."""
    from sims.drbd.client import VolumeError

    with two_daemons(tmp_path, size="64K") as c:
        make_alpha_primary(c)
        holder = c.volume("alpha")
        holder.open()
        refused = c.drbdadm("alpha", "secondary", "r0")
        assert refused.returncode == 11
        assert refused.stderr.splitlines()[:2] == [
            "0: State change failed: (-12) Device is held open by someone",
            "Command 'drbdsetup-84 secondary 0' terminated with exit code 11",
        ]
        down = c.drbdadm("alpha", "down", "r0")
        assert down.returncode == 11
        assert down.stderr.splitlines()[:3] == [
            "r0: State change failed: (-12) Device is held open by someone",
            "additional info from kernel:",
            "failed to demote",
        ]
        with c.volume("beta") as beta:
            try:
                beta.open()
                raise AssertionError("a Secondary was opened")
            except VolumeError as e:
                assert e.exit_code == 30
        assert c.drbdadm("alpha", "disconnect", "r0").returncode == 0
        discard = c.drbdadm("alpha", "connect", "--discard-my-data", "r0")
        assert discard.returncode == 10
        assert discard.stderr.splitlines()[0] == "r0: Failure: (123) --discard-my-data not allowed when primary."
        assert discard.stderr.splitlines()[-1].startswith("Hint: ")
        holder.close()  # the holder's process ends
        wait_until(lambda: c.drbdadm("alpha", "secondary", "r0").returncode == 0, "the hold to be released")
        assert c.drbdadm("alpha", "role", "r0").stdout == "Secondary/Unknown\n"


def test_promoted_sync_target_reads_what_it_lacks_from_its_peer(tmp_path: Path) -> None:
    """is_valid_state lets a SyncTarget become Primary while its peer is UpToDate; drbd_may_do_local_read sends
    its reads of blocks not yet resynced to the peer (here through the daemon and the client's read_block)."""
    from sims.drbd.storage import JsonMetaStore, Metadata
    from sims.drbd.uuids import Uuids

    for node in ("alpha", "beta"):  # two disks that were in sync: same data generation, nothing out of sync
        JsonMetaStore(tmp_path / f"{node}.img.md.json").save(Metadata(Uuids(0xA000, 0, (0, 0)), consistent=True))
    with two_daemons(tmp_path, size="64K", disk="resync-rate 4K;") as c:
        wait_until(lambda: both(c, "Connected"), "both UpToDate without a resync")
        assert c.drbdadm("beta", "disconnect", "r0").returncode == 0
        assert c.drbdadm("alpha", "primary", "r0").returncode == 0
        with c.volume("alpha") as alpha:
            for n in range(6):
                alpha.write_block(n, block(50 + n))
        assert c.drbdadm("alpha", "secondary", "r0").returncode == 0
        assert c.drbdadm("beta", "connect", "r0").returncode == 0
        wait_until(lambda: c.status("beta")["cstate"] == "SyncTarget", "beta to start its resync")
        promoted = c.drbdadm("beta", "primary", "r0")
        assert promoted.returncode == 0, promoted.stderr
        with c.volume("beta") as beta:
            status = c.status("beta")
            assert status["role"] == "Primary" and status["disk"] == "Inconsistent"
            assert status["out_of_sync_blocks"] > 1
            assert beta.read_block(5) == block(55)  # not resynced yet (1 block/s, lowest first): from alpha
            assert beta.read_block(5, inspect=True) != block(55)
        wait_until(lambda: both(c, "Connected"), "the resync to finish", timeout=30)
        assert c.image("alpha") == c.image("beta")

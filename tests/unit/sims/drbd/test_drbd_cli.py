"""drbdadm's refusals of bad input: one clear line, then a `Hint:` line, DRBD's exit code, never a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sims.drbd.drbdadm import proc_drbd, run
from sims.drbd.localcluster import ROOT

GOOD = """\
resource r0 {
  net { after-sb-0pri discard-zero-changes; }
  on alpha { disk DIR/a.img; address 127.0.0.2:7789; sim { control DIR/a.sock; } }
  on beta { disk DIR/b.img; address 127.0.0.3:7789; }
}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "r0.res"
    path.write_text(GOOD.replace("DIR", str(tmp_path)))
    return path


DRBD_LINES = ("additional info from kernel:", "unknown minor", "Command 'drbdsetup-84 ")


def assert_helpful(capsys: pytest.CaptureFixture[str], rc: int, expected_rc: int, first_line: str) -> None:
    """One line saying what is wrong, then only the lines drbdadm itself prints, then a `Hint:` line."""
    __tracebackhide__ = True
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert rc == expected_rc, err
    assert first_line in lines[0], err
    assert all(line.startswith(DRBD_LINES) for line in lines[1:-1]), err
    assert lines[-1].startswith("Hint: ")
    assert "Traceback" not in err


def test_unknown_command(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    rc = run(["-c", str(config), "--node", "alpha", "bogus", "r0"])
    assert_helpful(capsys, rc, 20, "drbdadm: Unknown command 'bogus'")


def test_missing_resource_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert_helpful(capsys, run(["up"]), 20, "drbdadm: the following arguments are required: RESOURCE")


def test_unknown_resource(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    rc = run(["-c", str(config), "--node", "alpha", "role", "r9"])
    assert_helpful(capsys, rc, 10, "'r9' not defined in your config (for this host).")


def test_unknown_host(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    rc = run(["-c", str(config), "--node", "gamma", "role", "r0"])
    assert_helpful(capsys, rc, 10, "'r0' not defined in your config (for this host 'gamma').")


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = run(["-c", str(tmp_path / "nope.res"), "role", "r0"])
    assert_helpful(capsys, rc, 10, "cannot read")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("resource r0 { on alpha { disk x; }", "missing '}'"),
        (
            "resource r0 { net { after-sb-0pri sometimes; } on alpha { disk a; address 1.2.3.4:1; } "
            "on beta { disk b; address 1.2.3.5:1; } }",
            "after-sb-0pri: unknown policy 'sometimes'",
        ),
        (
            "resource r0 { on alpha { disk a; address nowhere; } on beta { disk b; address 1.2.3.5:1; } }",
            "bad address 'nowhere'",
        ),
    ],
)
def test_broken_config(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r0.res"
    path.write_text(text)
    assert_helpful(capsys, run(["-c", str(path), "--node", "alpha", "role", "r0"]), 10, message)


def test_daemon_not_running(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    rc = run(["-c", str(config), "--node", "alpha", "primary", "r0"])
    assert_helpful(capsys, rc, 10, "0: Failure: (127) Device minor not allocated")


def test_queries_of_a_resource_that_is_down(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """drbdsetup role/cstate/dstate are not missing_ok: an unallocated minor is "(127) ..." with exit 10."""
    for query in ("role", "cstate", "dstate"):
        rc = run(["-c", str(config), "--node", "alpha", query, "r0"])
        assert capsys.readouterr().out == ""
        assert rc == 10
    rc = run(["-c", str(config), "--node", "alpha", "role", "r0"])
    assert_helpful(capsys, rc, 10, "0: Failure: (127) Device minor not allocated")


def test_options_before_the_command_after_double_dash(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    """drbdadm passes options after `--` on to drbdsetup: `drbdadm -- --discard-my-data connect r0` (8.3 style),
    and `--overwrite-data-of-peer` is the old name of `primary --force`."""
    base = ["-c", str(config), "--node", "alpha"]
    assert run([*base, "--", "--discard-my-data", "connect", "r0"]) == 10  # parsed; the resource is down
    assert "--discard-my-data' terminated with exit code 10" in capsys.readouterr().err
    assert run([*base, "--", "--overwrite-data-of-peer", "primary", "r0"]) == 10
    assert "'drbdsetup-84 primary 0 --force' terminated" in capsys.readouterr().err


def test_down_when_not_running_is_quiet(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    assert run(["-c", str(config), "--node", "alpha", "down", "r0"]) == 0
    assert capsys.readouterr().err == ""


def test_wrapper_script_runs_from_anywhere(tmp_path: Path) -> None:
    wrapper = ROOT / "sims" / "drbd" / "bin" / "drbdadm"
    done = subprocess.run([str(wrapper), "bogus", "r0"], capture_output=True, text=True, cwd=tmp_path, timeout=30)
    assert done.returncode == 20
    assert done.stderr.splitlines()[-1].startswith("Hint: ")


def _status(**over: object) -> dict:  # type: ignore[type-arg]
    status = {
        "name": "r0",
        "configured": True,
        "cstate": "SyncTarget",
        "role": "Secondary",
        "peer_role": "Primary",
        "disk": "Inconsistent",
        "peer_disk": "UpToDate",
        "block_size": 4096,
        "blocks": 4,
        "out_of_sync_blocks": 3,
        "resync_rate_kib": 4096,
        "counters": {"ns": 8, "nr": 0, "dw": 8, "dr": 0, "al": 1, "bm": 0},
        "resync": {"total": 4, "done": 1, "left": 3, "elapsed_s": 1.0},
    }
    status.update(over)
    return status


def test_proc_drbd_lines() -> None:
    """drbd_seq_show / drbd_syncer_progress (drbd_proc.c): a 20-column bar, "%3u.%u%%", `want:` on a SyncTarget."""
    lines = proc_drbd(_status()).splitlines()
    assert lines[2] == " 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----"
    assert lines[3] == "    ns:8 nr:0 dw:8 dr:0 al:1 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:12"
    assert lines[4] == "\t[====>...............] sync'ed: 25.0% (12/16)K"
    assert lines[5] == "\tfinish: 0:00:03 speed: 4 (4) want: 4,096 K/sec"
    source = proc_drbd(_status(cstate="SyncSource", resync={"total": 4, "done": 0, "left": 4})).splitlines()
    assert source[4] == "\t[>....................] sync'ed:  0.0% (16/16)K"
    assert "want:" not in source[5]


def test_status_as_drbdsetup_v84_prints_it() -> None:
    """drbd-utils v84 drbdsetup status_cmd: resource_status, device_status, connection_status (connected: the peer's
    role; else connection:Connecting/StandAlone), peer_device_status (replication:Established, done:%.2f)."""
    from sims.drbd.drbdadm import drbdsetup_status

    assert drbdsetup_status(_status(cstate="Connected", disk="UpToDate", role="Primary", peer_role="Secondary")) == (
        "r0 role:Primary\n  disk:UpToDate\n  peer role:Secondary\n    replication:Established peer-disk:UpToDate\n"
    )
    assert drbdsetup_status(_status()) == (
        "r0 role:Secondary\n  disk:Inconsistent\n  peer role:Primary\n"
        "    replication:SyncTarget peer-disk:UpToDate done:25.00\n"
    )
    alone = _status(cstate="WFConnection", disk="UpToDate", role="Primary", peer_role="Unknown", peer_disk="DUnknown")
    assert drbdsetup_status(alone) == "r0 role:Primary\n  disk:UpToDate\n  peer connection:Connecting\n"
    assert drbdsetup_status(alone | {"cstate": "StandAlone"}).endswith("  peer connection:StandAlone\n")


def test_create_md_once(capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    assert run(["-c", str(config), "--node", "alpha", "create-md", "r0"]) == 0
    assert "New drbd meta data block successfully created." in capsys.readouterr().out
    assert (tmp_path / "a.img.md.json").exists() and (tmp_path / "a.img").stat().st_size == 4 * 1024 * 1024
    rc = run(["-c", str(config), "--node", "alpha", "create-md", "r0"])
    assert_helpful(capsys, rc, 10, "valid meta data already in place")


def test_discard_node_name_is_one_sided(tmp_path: Path) -> None:
    from sims.drbd.config import load_resource

    path = tmp_path / "r0.res"
    path.write_text(GOOD.replace("DIR", str(tmp_path)).replace("discard-zero-changes", "discard-node-beta"))
    assert load_resource(path, "beta").policies.after_sb_0pri == "discard-local"
    assert load_resource(path, "alpha").policies.after_sb_0pri == "discard-remote"


def _load(tmp_path: Path, text: str, node: str = "alpha"):  # type: ignore[no-untyped-def]
    from sims.drbd.config import load_resource

    path = tmp_path / "r0.res"
    path.write_text(text)
    return load_resource(path, node)


HOSTS = "on alpha { disk a; address 1.2.3.4:1; } on beta { disk b; address 1.2.3.5:1; }"


def test_common_section_applies_and_the_resource_wins(tmp_path: Path) -> None:
    """drbdadm merges `common { net { } disk { } }` into every resource (the resource's own options win)."""
    cfg = _load(
        tmp_path,
        "common { net { after-sb-0pri discard-zero-changes; after-sb-1pri discard-secondary; } "
        "disk { resync-rate 1M; } } "
        f"resource r0 {{ net {{ after-sb-1pri consensus; }} {HOSTS} }}",
    )
    assert cfg.policies.after_sb_0pri == "discard-zero-changes"
    assert cfg.policies.after_sb_1pri == "consensus"
    assert cfg.resync_rate_kib == 1024


def test_units_defaults_and_flags_as_drbd_reads_them(tmp_path: Path) -> None:
    """drbd_limits.h: resync-rate is KiB/s (scale 'k', default 250), al-extents 67..65534 (default 1237);
    config_flags.c: always-asbp is a BOOLEAN (`always-asbp no;` is off)."""
    cfg = _load(tmp_path, f"resource r0 {{ {HOSTS} }}")
    assert (cfg.resync_rate_kib, cfg.al_extents, cfg.policies.always_asbp) == (250, 1237, False)
    cfg = _load(tmp_path, f"resource r0 {{ net {{ always-asbp no; }} disk {{ resync-rate 100; }} {HOSTS} }}")
    assert cfg.resync_rate_kib == 100 and not cfg.policies.always_asbp
    assert _load(tmp_path, f"resource r0 {{ net {{ always-asbp; }} {HOSTS} }}").policies.always_asbp


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("disk { al-extents 8; }", "al-extents 8 is out of range (67..65534)"),
        ("net { after-sb-0pri discard-secondary; }", "after-sb-0pri: unknown policy 'discard-secondary'"),
        ("net { after-sb-1pri discard-zero-changes; }", "after-sb-1pri: unknown policy 'discard-zero-changes'"),
        ("net { after-sb-2pri discard-secondary; }", "after-sb-2pri: unknown policy 'discard-secondary'"),
        ("net { always-asbp maybe; }", "always-asbp: 'maybe' is neither yes nor no"),
    ],
)
def test_values_drbdadm_refuses(capsys: pytest.CaptureFixture[str], tmp_path: Path, options: str, message: str) -> None:
    """config_flags.c: each after-sb option has its own table; drbd_limits.h bounds the numbers."""
    path = tmp_path / "r0.res"
    path.write_text(f"resource r0 {{ {options} {HOSTS} }}")
    assert_helpful(capsys, run(["-c", str(path), "--node", "alpha", "role", "r0"]), 10, message)

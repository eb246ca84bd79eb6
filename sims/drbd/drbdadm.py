"""A `drbdadm`-style command line for the stand-in: the words, output and exit codes of drbdadm 8.4.

Contract: `drbdadm [-c FILE] [--node NAME] COMMAND [OPTIONS] RESOURCE`, COMMAND one of create-md, up, down,
primary [--force], secondary, connect [--discard-my-data], disconnect, outdate, role (alias state), cstate, dstate,
status [--json], proc-drbd. `up` starts the node's daemon when none answers. Output on stdout as drbdadm prints it
(`Primary/Secondary`, `Connected`, `UpToDate/UpToDate`; `status` as drbd-utils' v84 drbdsetup prints it, `r0
role:Primary` / `  disk:UpToDate` / `  peer role:Secondary` / `    replication:Established peer-disk:UpToDate`).
`proc-drbd` (the stand-in's own word, as containers cannot have /proc/drbd) prints what `cat /proc/drbd` would,
progress lines included. Refusals on stderr in DRBD's words followed by the drbdsetup line, with drbdsetup's exit
codes (print_config_error: 11 for a refused state change, but 17 for "(-2) Need access to UpToDate data" and 5 for
"(-16) Disk state is lower than outdated"; 10 for "Failure: (N)" errors such as "(127) Device minor not allocated"
of a resource that is down, which queries (role, cstate, dstate) answer too; 20 for usage). Options may come before
the command after `--`, as in `drbdadm -- --discard-my-data connect r0`; `--overwrite-data-of-peer` is the old
spelling of `primary --force`.
Every error this program reports ends with a `Hint:` line; no tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from sims.drbd.client import DaemonUnavailable, Volume, VolumeError
from sims.drbd.config import DEFAULT_CONFIG, ConfigError, ResourceConfig, load_resource
from sims.drbd.storage import FileDevice, JsonMetaStore, Metadata
from sims.drbd.uuids import Uuids

COMMANDS = (
    "create-md",
    "up",
    "down",
    "primary",
    "secondary",
    "connect",
    "disconnect",
    "outdate",
    "role",
    "state",
    "cstate",
    "dstate",
    "status",
    "proc-drbd",
)
QUERIES = ("role", "state", "cstate", "dstate")
EXIT_USAGE = 20
EXIT_CONFIG = 10
VERSION = "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: opslab-userspace-stand-in"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> _Parser:
    p = _Parser(prog="drbdadm", add_help=True, description="drbdadm 8.4 look-alike for the opslab DRBD stand-in")
    p.add_argument("-c", "--config", type=Path, default=Path(os.environ.get("DRBD_SIM_CONFIG", DEFAULT_CONFIG)))
    p.add_argument("--node", default=os.environ.get("DRBD_SIM_NODE"))
    p.add_argument("command", metavar="COMMAND")
    p.add_argument("resource", metavar="RESOURCE")
    p.add_argument(
        "--force", "-f", "--overwrite-data-of-peer", action="store_true", help="primary: even without UpToDate data"
    )
    p.add_argument("--discard-my-data", action="store_true", help="connect: be the split-brain victim")
    p.add_argument("--json", action="store_true", help="status: machine-readable")
    return p


def fail(message: str, hint: str, code: int) -> int:
    print(message, file=sys.stderr)
    print(f"Hint: {hint}", file=sys.stderr)
    return code


def proc_drbd(status: dict[str, Any]) -> str:
    """The /proc/drbd text of minor 0 (drbd_proc.c: drbd_seq_show, drbd_syncer_progress)."""
    if not status.get("configured"):
        return f"{VERSION}\n 0: cs:Unconfigured"
    c = status["counters"]
    kib = status["block_size"] // 1024 or 1
    oos = status["out_of_sync_blocks"] * status["block_size"] // 1024
    lines = [
        VERSION,
        f" 0: cs:{status['cstate']} ro:{status['role']}/{status['peer_role']} "
        f"ds:{status['disk']}/{status['peer_disk']} {' ' if status['cstate'] == 'StandAlone' else 'C'} r-----",
        f"    ns:{c['ns']} nr:{c['nr']} dw:{c['dw']} dr:{c['dr']} al:{c['al']} bm:{c['bm']} lo:0 pe:0 ua:0 ap:0 "
        f"ep:1 wo:f oos:{oos}",
    ]
    rs = status["resync"]
    if status["cstate"] in ("SyncSource", "SyncTarget") and rs["total"]:
        total_k, left_k = rs["total"] * kib, rs["left"] * kib
        per_mil = 1000 * (total_k - left_k) // total_k
        x = per_mil // 50  # 20 columns; DRBD draws x-1 '=' before the '>', so the bar is 21 wide at 0
        bar = "=" * max(x - 1, 0) + ">" + "." * (20 - x)
        lines.append(f"\t[{bar}] sync'ed:{per_mil // 10:3d}.{per_mil % 10}% ({left_k}/{total_k})K")
        elapsed = max(int(rs.get("elapsed_s") or 0), 1)
        speed = (total_k - left_k) // elapsed
        finish = left_k // speed if speed else 0
        want = f" want: {status.get('resync_rate_kib', 0):,}" if status["cstate"] == "SyncTarget" else ""
        lines.append(
            f"\tfinish: {finish // 3600}:{finish // 60 % 60:02d}:{finish % 60:02d} "
            f"speed: {speed:,} ({speed:,}){want} K/sec"
        )
    return "\n".join(lines)


def _connection_state(cstate: str) -> str:
    """The connection's own state as 8.4 reports it: WFReportParams from the handshake on (the device is further)."""
    return (
        "WFReportParams"
        if cstate not in ("StandAlone", "Disconnecting", "Unconnected", "NetworkFailure", "BrokenPipe", "WFConnection")
        else cstate
    )


def drbdsetup_status(status: dict[str, Any]) -> str:
    """What `drbdadm status r0` prints with drbd-utils' v84 drbdsetup (status_cmd: resource_status, device_status,
    connection_status, peer_device_status; one volume, no --verbose/--statistics)."""
    conn = _connection_state(status["cstate"])
    lines = [f"{status['name']} role:{status['role']}", f"  disk:{status['disk']}"]
    if conn != "WFReportParams":
        lines.append(f"  peer connection:{ {'WFConnection': 'Connecting'}.get(conn, conn) }")
    else:
        lines.append(f"  peer role:{status['peer_role']}")
        repl = status["cstate"]
        words = []
        if repl != "WFReportParams":
            words.append(f"replication:{ {'Connected': 'Established'}.get(repl, repl) }")
        if repl != "WFReportParams" or status["peer_disk"] != "DUnknown":
            words.append(f"peer-disk:{status['peer_disk']}")
            if repl in ("SyncSource", "SyncTarget"):
                done = 100 * (1 - status["out_of_sync_blocks"] / status["blocks"])
                words.append(f"done:{done:.2f}")
        lines.append("    " + " ".join(words))
    return "\n".join(lines) + "\n"


def _start_daemon(cfg: ResourceConfig, args: argparse.Namespace) -> None:
    cmd = [sys.executable, "-m", "sims.drbd.daemon", "-c", str(args.config), "--node", cfg.node, "--quiet"]
    log = open(cfg.log, "a") if cfg.log else subprocess.DEVNULL  # noqa: SIM115
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)


def _wait_for_daemon(cfg: ResourceConfig, deadline_s: float = 15.0) -> Volume:
    deadline = time.monotonic() + deadline_s
    while True:
        volume = Volume(cfg.control)
        try:
            volume.status()
            return volume
        except DaemonUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run(argv: list[str]) -> int:
    # drbdadm passes options written after "--" on to drbdsetup (`drbdadm -- --discard-my-data connect r0`)
    argv = [a for a in argv if a != "--"]
    try:
        args = _parser().parse_args(argv)
    except UsageError as e:
        return fail(
            f"drbdadm: {e}", "usage: drbdadm [-c FILE] COMMAND [--force|--discard-my-data|--json] r0", EXIT_USAGE
        )
    if args.command not in COMMANDS:
        return fail(f"drbdadm: Unknown command '{args.command}'", f"use one of: {', '.join(COMMANDS)}", EXIT_USAGE)
    try:
        cfg = load_resource(args.config, args.node, args.resource)
    except ConfigError as e:
        return fail(str(e), e.hint, EXIT_CONFIG)
    volume = Volume(cfg.control)
    try:
        return _dispatch(args, cfg, volume)
    except DaemonUnavailable:
        if args.command == "down":
            return 0  # drbdsetup down is missing_ok
        if args.command == "proc-drbd":
            print(f"{VERSION}")  # the module is loaded, no minor is configured
            return 0
        if args.command == "status":
            return fail(
                f"{cfg.name}: No such resource", f"the resource is down on this node: drbdadm up {cfg.name}", 10
            )
        return _refused(args, cfg, _MINOR_INVALID)
    except VolumeError as e:
        return _refused(args, cfg, e)
    finally:
        volume.close()


def _drbdsetup_line(args: argparse.Namespace, cfg: ResourceConfig) -> str:
    words = {
        "primary": "primary 0" + (" --force" if args.force else ""),
        "secondary": "secondary 0",
        "connect": f"connect {cfg.name} ipv4:{cfg.address[0]}:{cfg.address[1]} "
        f"ipv4:{cfg.peer_address[0]}:{cfg.peer_address[1]}" + (" --discard-my-data" if args.discard_my_data else ""),
        "up": "attach 0",
        "outdate": "outdate 0",
        "disconnect": f"disconnect {cfg.name}",
        "down": f"down {cfg.name}",
    }
    return f"drbdsetup-84 {words.get(args.command, args.command + ' 0')}"


_MINOR_INVALID = VolumeError("0: Failure: (127) Device minor not allocated", 10, 127, "unknown minor")


def _refused(args: argparse.Namespace, cfg: ResourceConfig, e: VolumeError) -> int:
    hints = {
        -1: "another node is Primary: demote it first (drbdadm secondary r0 there)",
        -2: "this disk is not UpToDate: let the resync finish, or force it with drbdadm primary --force r0",
        -6: "a connected node's disk cannot be outdated: drbdadm disconnect r0 first",
        -12: "something still has /dev/drbd0 open (the service on it): stop it first, then demote",
        -16: "an Inconsistent disk is already worse than Outdated: nothing to do",
        -18: "the nodes are negotiating: retry in a moment",
        102: "the resource is already connecting or connected: drbdadm disconnect r0 first",
        123: "demote the split-brain victim first (drbdadm secondary r0), then connect --discard-my-data",
        127: f"the resource is down on this node: drbdadm up {cfg.name}",
        161: "the resource is already up",
    }
    hint = hints.get(e.code or 0, "see the DRBD log of this node")
    print(str(e), file=sys.stderr)
    if e.info:
        print(f"additional info from kernel:\n{e.info}", file=sys.stderr)
    print(f"Command '{_drbdsetup_line(args, cfg)}' terminated with exit code {e.exit_code}", file=sys.stderr)
    print(f"Hint: {hint}", file=sys.stderr)
    return e.exit_code


def _create_md(cfg: ResourceConfig) -> int:
    """drbdadm create-md: write fresh meta data ("never had data") beside the backing file."""
    if cfg.meta.exists():
        return fail(
            f"There appears to be valid meta data already in place at {cfg.meta}; refusing to overwrite it.",
            f"to start this node over, take the resource down and delete {cfg.meta}",
            EXIT_CONFIG,
        )
    JsonMetaStore(cfg.meta).save(Metadata(Uuids.just_created()))
    FileDevice(cfg.disk, cfg.blocks, cfg.block_size).close()
    print("initializing activity log\nNOT initializing bitmap\nWriting meta data...")
    print("New drbd meta data block successfully created.")
    return 0


def _dispatch(args: argparse.Namespace, cfg: ResourceConfig, volume: Volume) -> int:
    cmd = args.command
    if cmd == "create-md":
        return _create_md(cfg)
    if cmd == "up":
        try:
            status = volume.status()
        except DaemonUnavailable:
            _start_daemon(cfg, args)
            volume = _wait_for_daemon(cfg)
            status = volume.status()
        if status["configured"]:
            raise VolumeError("0: Failure: (161) Minor or volume exists already (delete it first)", 10, 161)
        volume.request("up")
        volume.close()
        return 0
    if cmd in ("down", "secondary", "disconnect", "outdate"):
        volume.request(cmd)
        return 0
    if cmd == "primary":
        volume.request("primary", force=args.force)
        return 0
    if cmd == "connect":
        volume.request("connect", discard_my_data=args.discard_my_data)
        return 0
    status = volume.status()
    if cmd == "status":
        if args.json:
            print(json.dumps(status, indent=1))
        elif not status["configured"]:
            return fail(
                f"{cfg.name}: No such resource", f"the resource is down on this node: drbdadm up {cfg.name}", 10
            )
        else:
            print(drbdsetup_status(status))
        return 0
    if cmd == "proc-drbd":
        print(proc_drbd(status))
        return 0
    assert cmd in QUERIES
    if not status["configured"]:
        raise _MINOR_INVALID  # after `down` the minor is gone (drbd_adm_down deletes it)
    if cmd in ("role", "state"):
        print(f"{status['role']}/{status['peer_role']}")
    elif cmd == "cstate":
        print(status["cstate"])
    elif cmd == "dstate":
        print(f"{status['disk']}/{status['peer_disk']}")
    return 0


def main() -> int:
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

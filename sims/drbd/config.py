"""Reading a DRBD-style resource file (`/etc/drbd.d/r0.res`) into one node's view of resource r0.

Contract: `load_resource(path, node=None) -> ResourceConfig` parses the drbd.conf grammar (`word ... ;` and
`word ... { ... }`, `#` comments), picks the `on <host>` section for this node (default: the host name, as drbdadm
does) and the other one as the peer. Understood: `protocol C;`,
`net { after-sb-0pri; after-sb-1pri; after-sb-2pri; rr-conflict; always-asbp; ping-int; ping-timeout; timeout; }`
(DRBD's units), `disk { al-extents; resync-rate; }`, and per `on` section `disk`, `address`, `meta-disk`. Options in
`common { net { } disk { } }` apply to every resource, the resource's own win, as drbdadm merges them. Values are
checked as drbdadm checks them: each after-sb option against its own table (config_flags.c), `al-extents` in
67..65534 (default 1237), `resync-rate` in KiB/s unless it has a suffix (default 250, drbd_limits.h), `always-asbp`
alone or with yes/no. What only
the stand-in needs sits in a `sim { control; log; size; block-size; }` section, at resource level or inside an `on`
section (which wins). Mistakes raise `ConfigError` with a message and a hint. Nothing else reads the file.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from sims.drbd.handshake import POLICIES_0PRI, POLICIES_1PRI, POLICIES_2PRI, RR_CONFLICT_POLICIES, AfterSbPolicies
from sims.drbd.storage import BLOCK_SIZE

DEFAULT_CONFIG = Path("/etc/drbd.d/r0.res")
DEFAULT_SIZE = 4 * 1024 * 1024

Section = dict[str, object]


class ConfigError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ResourceConfig:
    name: str
    node: str
    peer: str
    disk: Path
    meta: Path
    address: tuple[str, int]
    peer_address: tuple[str, int]
    control: Path
    log: Path | None
    size: int
    block_size: int
    policies: AfterSbPolicies
    al_extents: int
    resync_rate_kib: int  # KiB/s
    ping_int_s: float = 10.0  # net { ping-int } (seconds)
    ping_timeout_s: float = 0.5  # net { ping-timeout } (DRBD unit: tenths of a second)
    timeout_s: float = 6.0  # net { timeout }: a peer that does not acknowledge a write this long is dropped

    @property
    def blocks(self) -> int:
        return self.size // self.block_size

    @property
    def holds_tiebreak(self) -> bool:
        """The fixed side that resolves conflicts: the one with the smaller address."""
        return self.address < self.peer_address


def _tokens(text: str) -> list[str]:
    text = re.sub(r"#[^\n]*", "", text)
    return re.findall(r'"[^"]*"|[{};]|[^\s{};]+', text)


def parse(text: str) -> Section:
    """The file as nested dicts: `key -> value` for `key value;`, `key -> Section` for `key { }`."""
    tokens = _tokens(text)
    pos = 0

    def block(depth: int) -> Section:
        nonlocal pos
        out: Section = {}
        words: list[str] = []
        while pos < len(tokens):
            tok = tokens[pos]
            pos += 1
            if tok == ";":
                if words:
                    out[words[0]] = " ".join(w.strip('"') for w in words[1:])
                words = []
            elif tok == "{":
                out[" ".join(words)] = block(depth + 1)
                words = []
            elif tok == "}":
                if depth == 0:
                    raise ConfigError("unbalanced '}'", "check the braces of the resource file")
                return out
            else:
                words.append(tok)
        if depth:
            raise ConfigError("missing '}' at end of file", "check the braces of the resource file")
        if words:
            raise ConfigError(f"missing ';' after '{' '.join(words)}'", "end every statement with ';'")
        return out

    return block(0)


def _size(value: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    if not m:
        raise ConfigError(f"bad size '{value}'", "write sizes like 4M, 512K or 4096")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]


def _address(value: str) -> tuple[str, int]:
    value = value.removeprefix("ipv4 ").strip()
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"bad address '{value}'", "write addresses as IP:PORT, e.g. 10.0.0.1:7789")
    return host, int(port)


def _number(section: Section, key: str, default: float) -> float:
    value = str(section.get(key, default))
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{key}: '{value}' is not a number", f"write e.g. '{key} {default};'") from None
    if number <= 0:
        raise ConfigError(f"{key}: must be positive, got {value}", f"write e.g. '{key} {default};'")
    return number


def _choice(section: Section, key: str, allowed: tuple[str, ...], default: str, me: str = "") -> str:
    value = str(section.get(key, default))
    if value.startswith("discard-node-"):
        # drbdadm's discard-node-NAME: discard-local on that node, discard-remote on the other
        value = "discard-local" if value == f"discard-node-{me}" else "discard-remote"
    if value not in allowed:
        raise ConfigError(f"{key}: unknown policy '{value}'", f"use one of: {', '.join(allowed)}")
    return value


AL_EXTENTS = (67, 0xFFFE, 1237)  # DRBD_AL_EXTENTS_MIN / _MAX / _DEF
RESYNC_RATE_KIB = (1, 4 << 20, 250)  # DRBD_RESYNC_RATE_MIN / _MAX / _DEF, in KiB/s


def _ranged(section: Section, key: str, limits: tuple[int, int, int], *, kib: bool = False) -> int:
    low, high, default = limits
    raw = str(section.get(key, default))
    if kib:
        # DRBD_RESYNC_RATE_SCALE 'k': a bare number is KiB/s, a suffix says otherwise
        value = _size(raw) // 1024 if raw[-1:].isalpha() else _size(raw)
    else:
        if not raw.isdigit():
            raise ConfigError(f"{key}: '{raw}' is not a number", f"write e.g. '{key} {default};'")
        value = int(raw)
    if not low <= value <= high:
        unit = " KiB/s" if kib else ""
        raise ConfigError(
            f"{key} {raw} is out of range ({low}..{high}{unit})",
            f"write a value in that range, e.g. '{key} {default};'",
        )
    return value


def _flag(section: Section, key: str) -> bool:
    """A boolean option: `key;` or `key yes;` is on, `key no;` off (drbdadm's BOOLEAN)."""
    if key not in section:
        return False
    value = str(section[key]).strip() or "yes"
    if value not in ("yes", "no"):
        raise ConfigError(f"{key}: '{value}' is neither yes nor no", f"write '{key};' or '{key} no;'")
    return value == "yes"


def _merged(common: object, own: object) -> Section:
    out: Section = {}
    for layer in (common, own):
        if isinstance(layer, dict):
            out.update(layer)
    return out


def load_resource(path: Path = DEFAULT_CONFIG, node: str | None = None, resource: str = "r0") -> ResourceConfig:
    try:
        tree = parse(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}", "pass the resource file with -c/--config") from e
    res = tree.get(f"resource {resource}")
    if not isinstance(res, dict):
        raise ConfigError(
            f"'{resource}' not defined in your config (for this host).",
            f"{path} needs a 'resource {resource} {{ ... }}' section",
        )
    hosts = {k.split(None, 1)[1]: v for k, v in res.items() if k.startswith("on ") and isinstance(v, dict)}
    me = node or socket.gethostname()
    if me not in hosts:
        raise ConfigError(
            f"'{resource}' not defined in your config (for this host '{me}').",
            f"add 'on {me} {{ ... }}' or pass --node with one of: {', '.join(sorted(hosts))}",
        )
    others = [h for h in hosts if h != me]
    if len(others) != 1:
        raise ConfigError(f"resource {resource} needs exactly two 'on' sections", "DRBD 8.4 pairs two nodes")
    mine, theirs = hosts[me], hosts[others[0]]
    assert isinstance(mine, dict) and isinstance(theirs, dict)
    common = tree.get("common", {})
    common = common if isinstance(common, dict) else {}
    net = _merged(common.get("net"), res.get("net"))
    disk_opts = _merged(common.get("disk"), res.get("disk"))
    sim: Section = {}
    for layer in (res.get("sim", {}), mine.get("sim", {})):
        if isinstance(layer, dict):
            sim.update(layer)
    assert isinstance(net, dict) and isinstance(disk_opts, dict)
    if str(res.get("protocol", "C")) != "C":
        raise ConfigError("only protocol C is modelled", "set 'protocol C;'")
    for key in ("disk", "address"):
        if key not in mine or key not in theirs:
            raise ConfigError(f"'on' sections need '{key}'", f"add '{key} ...;' to both 'on' sections")
    disk = Path(str(mine["disk"]))
    meta_disk = str(mine.get("meta-disk", "internal"))
    meta = disk.with_name(disk.name + ".md.json") if meta_disk == "internal" else Path(meta_disk)
    policies = AfterSbPolicies(
        after_sb_0pri=_choice(net, "after-sb-0pri", POLICIES_0PRI, "disconnect", me),
        after_sb_1pri=_choice(net, "after-sb-1pri", POLICIES_1PRI, "disconnect"),
        after_sb_2pri=_choice(net, "after-sb-2pri", POLICIES_2PRI, "disconnect"),
        rr_conflict=_choice(net, "rr-conflict", RR_CONFLICT_POLICIES, "disconnect"),
        always_asbp=_flag(net, "always-asbp"),
    )
    size = _size(str(sim.get("size", DEFAULT_SIZE)))
    block_size = _size(str(sim.get("block-size", BLOCK_SIZE)))
    if size % block_size or size <= 0:
        raise ConfigError(f"size {size} is not a multiple of block-size {block_size}", "use e.g. size 4M;")
    log = sim.get("log")
    return ResourceConfig(
        name=resource,
        node=me,
        peer=others[0],
        disk=disk,
        meta=meta,
        address=_address(str(mine["address"])),
        peer_address=_address(str(theirs["address"])),
        control=Path(str(sim.get("control", f"/run/drbd-sim/{resource}.sock"))),
        log=Path(str(log)) if log else None,
        size=size,
        block_size=block_size,
        policies=policies,
        al_extents=_ranged(disk_opts, "al-extents", AL_EXTENTS),
        resync_rate_kib=_ranged(disk_opts, "resync-rate", RESYNC_RATE_KIB, kib=True),
        ping_int_s=_number(net, "ping-int", 10),
        ping_timeout_s=_number(net, "ping-timeout", 5) / 10,
        timeout_s=_number(net, "timeout", 60) / 10,
    )

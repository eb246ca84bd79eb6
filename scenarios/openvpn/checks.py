"""Judges of the openvpn lab. Each one only reads the lab: OpenVPN's logs, `ip -j`, /proc, the CRL.

Logs are read from a byte offset (`host.log_mark` taken before the action being judged), so a check judges what
happened after that moment and not an earlier connection.

Which scenario shows each failing: RunsArmBinaries → setup_server (asked of client1, an x86 host);
ServerTunnelUp and TunDeviceUsable → no_tun, no_net_admin;
ServerStoppedWith → no_tun (asked for no_net_admin's error) and no_net_admin (asked for no_tun's);
PeerConnectionInitiated and ClientTunnelUp → revoked_client, foreign_ca_client, expired_crl;
RefusedFor → client_connects (client1 is not refused); ReachesLanHostThroughTunnel and ForwardingEnabled →
forwarding_off; LanHostUnreachable → route_to_home_lan (once the tunnel is up); CrlCurrent → expired_crl.
LanClosedWithoutTunnel (the invariant rehearsals watch) → unit tests (a client without a tunnel answered by
the LAN host).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from lab.checks import Check, CheckResult, Invariant
from lab.host import Reader
from lab.view import RunView
from scenarios.openvpn.lab import CLIENT_LOG, SERVER_DIR, SERVER_LOG, VPN_NET, VPN_SERVER_IP

EM_ARM = 0x28  # ELF e_machine of 32-bit ARM
EM_NAMES = {0x28: "ARM", 0x3E: "x86-64", 0x03: "x86", 0xB7: "AArch64"}
PEER_INITIATED = re.compile(
    r"\[(?P<cn>[^\]]+)\] Peer Connection Initiated with \[AF_INET\](?P<ip>[\d.]+):(?P<port>\d+)"
)
VERIFY_ERROR = re.compile(
    r"(?P<ip>[\d.]+):(?P<port>\d+) VERIFY ERROR: depth=\d+, error=(?P<why>.+?)(?:: (?P<subject>.*))?$"
)
FATAL = re.compile(r"(ERROR: .*|Options error: .*|Exiting due to fatal error)$")
VPN_PREFIX = VPN_NET.rsplit(".", 1)[0] + "."


def refusals(log: str, ip: str) -> list[str]:
    """Why the server refused the peer at `ip` (VERIFY ERROR reasons, in order)."""
    return [m.group("why") for line in log.splitlines() if (m := VERIFY_ERROR.search(line)) and m.group("ip") == ip]


def addresses(host: Reader, dev: str) -> list[str]:
    r = host.run("ip -j -4 addr show dev %s", dev)
    if not r.succeeded or not r.stdout.strip():
        return []
    return [f"{a['local']}/{a['prefixlen']}" for link in json.loads(r.stdout) for a in link.get("addr_info", [])]


def fatal_lines(log: str) -> list[str]:
    return [m.group(1) for line in log.splitlines() if (m := FATAL.search(line))]


class RunsArmBinaries(Check):
    """The host's kernel reports an ARM machine (`uname -m`) and its openvpn binary is an ARM ELF."""

    def __init__(self, host: str = "pi") -> None:
        self.host = host
        self.label = f"RunsArmBinaries({host})"

    def evaluate(self, run: RunView) -> CheckResult:
        h = run.host(self.host)
        machine = h.check_output("uname -m").strip()
        header = h.check_output("od -An -tx1 -N20 /usr/sbin/openvpn").split()
        if len(header) < 20 or header[:4] != ["7f", "45", "4c", "46"]:
            return self.unknown(f"/usr/sbin/openvpn on {self.host} is not an ELF file", header=header)
        e_machine = int(header[19] + header[18], 16)
        kind = EM_NAMES.get(e_machine, hex(e_machine))
        return self.result(
            machine.startswith("arm") and e_machine == EM_ARM,
            f"{self.host}: uname -m = {machine}; /usr/sbin/openvpn is an {kind} binary",
            machine=machine,
            e_machine=e_machine,
        )


class ServerTunnelUp(Check):
    """The Pi's tun0 holds the server's address 10.8.0.1/24; otherwise the server log's fatal error says why."""

    def evaluate(self, run: RunView) -> CheckResult:
        pi = run.host("pi")
        addrs = addresses(pi, "tun0")
        want = f"{VPN_SERVER_IP}/24"
        if want in addrs:
            return self.result(True, f"pi: tun0 is {want}", addresses=addrs)
        errors = fatal_lines(pi.log_since(SERVER_LOG))
        why = errors[0] if errors else "the server log names no error"
        running = pi.run("pgrep -x openvpn").succeeded
        return self.result(
            False,
            f"pi: tun0 {'has ' + ', '.join(addrs) if addrs else 'does not exist'}; openvpn "
            f"{'runs' if running else 'is not running'}; server log: {why}",
            addresses=addrs,
            errors=errors,
        )


class ServerStoppedWith(Check):
    """The server is not running and its log says why in these words (`error`, e.g. `Cannot open TUN/TAP dev
    /dev/net/tun`), since a mark: the exact failure a scenario reproduces, the log line as evidence. A server
    that runs, or stopped for another reason, fails it (the reason it gave is in the detail)."""

    def __init__(self, error: str, since: int = 0) -> None:
        self.error = error
        self.since = since
        self.label = f"ServerStoppedWith({error!r})"

    def evaluate(self, run: RunView) -> CheckResult:
        pi = run.host("pi")
        log = pi.log_since(SERVER_LOG, self.since)
        said = [line.strip() for line in log.splitlines() if self.error in line]
        errors = fatal_lines(log)
        running = pi.run("pgrep -x openvpn").succeeded
        failed = [s for s in run.steps if not s.ok and s.host == "pi"]
        last = failed[-1] if failed else None
        step = f"; the setup stopped at '{last.title or last.command}' (exit {last.rc})" if last else ""
        if said and not running:
            return self.result(True, f"pi: openvpn stopped; server log: {said[0]}{step}", line=said[0], errors=errors)
        why = errors[0] if errors else "the server log names no error"
        return self.result(
            False,
            f"pi: openvpn {'runs' if running else 'is not running'}; no '{self.error}' in the server log "
            f"(it says: {why})",
            running=running,
            errors=errors,
        )


class TunDeviceUsable(Check):
    """The Pi can make a tunnel: /dev/net/tun is a character device and it holds CAP_NET_ADMIN."""

    def evaluate(self, run: RunView) -> CheckResult:
        pi = run.host("pi")
        has_tun = pi.run("test -c /dev/net/tun").succeeded
        status = pi.check_output("cat /proc/self/status")
        m = re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M)
        if m is None:
            return self.unknown("no CapEff line in /proc/self/status")
        net_admin = bool(int(m.group(1), 16) >> 12 & 1)  # CAP_NET_ADMIN is capability 12
        missing = [what for what, ok in (("/dev/net/tun", has_tun), ("CAP_NET_ADMIN", net_admin)) if not ok]
        hint = " (docker: --device /dev/net/tun --cap-add NET_ADMIN; compose: devices, cap_add)"
        return self.result(
            not missing,
            "pi: /dev/net/tun and CAP_NET_ADMIN present" if not missing else f"pi lacks {' and '.join(missing)}{hint}",
            tun=has_tun,
            net_admin=net_admin,
            cap_eff=m.group(1),
        )


class PeerConnectionInitiated(Check):
    """The server log says `[<client>] Peer Connection Initiated with [AF_INET]<client ip>:<port>` since a mark:
    the client's address, and its name as the certificate's CN."""

    def __init__(self, client: str, since: int = 0, when: str = "") -> None:
        self.client = client
        self.since = since
        self.label = f"PeerConnectionInitiated({client})" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        ip = run.facts[f"{self.client}_ip"]
        log = run.host("pi").log_since(SERVER_LOG, self.since)
        seen = [m for m in PEER_INITIATED.finditer(log) if m.group("ip") == ip]
        named = [m for m in seen if m.group("cn") == self.client]
        if named:
            m = named[-1]
            return self.result(
                True, f"server: [{m.group('cn')}] Peer Connection Initiated with [AF_INET]{ip}:{m.group('port')}"
            )
        if seen:
            return self.result(False, f"server: {ip} connected as [{seen[-1].group('cn')}], not [{self.client}]")
        why = refusals(log, ip)
        return self.result(
            False,
            f"server: no Peer Connection Initiated from {self.client} ({ip})"
            + (f"; it refused it: {why[-1]}" if why else ""),
            refusals=why,
        )


class ClientTunnelUp(Check):
    """The client logs `Initialization Sequence Completed`, its tun0 is in 10.8.0.0/24, it has the pushed route."""

    def __init__(self, client: str, since: int = 0, when: str = "") -> None:
        self.client = client
        self.since = since
        self.label = f"ClientTunnelUp({client})" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        h = run.host(self.client)
        lan = run.facts["lan_net"]
        log = h.log_since(CLIENT_LOG, self.since)
        completed = "Initialization Sequence Completed" in log
        addrs = [a for a in addresses(h, "tun0") if a.startswith(VPN_PREFIX)]
        r = h.run("ip -j route show %s/24", lan)
        routes = json.loads(r.stdout) if r.succeeded and r.stdout.strip() else []
        pushed = any(rt.get("dev") == "tun0" for rt in routes)
        problems = [
            what
            for what, ok in (
                ("no 'Initialization Sequence Completed' in its log", completed),
                (f"no {VPN_PREFIX}x address on tun0", bool(addrs)),
                (f"no route to {lan}/24 through tun0", pushed),
            )
            if not ok
        ]
        errors = [line for line in log.splitlines() if "TLS Error" in line or "error" in line.lower()]
        detail = (
            f"{self.client}: Initialization Sequence Completed; tun0 {addrs[0]}; route {lan}/24 dev tun0"
            if not problems
            else f"{self.client}: {'; '.join(problems)}" + (f" (log: {errors[-1].strip()})" if errors else "")
        )
        return self.result(not problems, detail, addresses=addrs, routes=routes)


class RefusedFor(Check):
    """The server refused the client's certificate for `reason` (its `VERIFY ERROR`) since a mark."""

    def __init__(self, client: str, reason: str, since: int = 0, when: str = "") -> None:
        self.client = client
        self.reason = reason
        self.since = since
        self.label = f"RefusedFor({client}, {reason!r})" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        ip = run.facts[f"{self.client}_ip"]
        why = refusals(run.host("pi").log_since(SERVER_LOG, self.since), ip)
        hit = [w for w in why if self.reason in w]
        if hit:
            return self.result(True, f"server: VERIFY ERROR for {self.client} ({ip}): {hit[-1]}", refusals=why)
        return self.result(
            False,
            f"server: no VERIFY ERROR '{self.reason}' for {self.client} ({ip})"
            + (f"; it said: {why[-1]}" if why else "; it did not refuse it"),
            refusals=why,
        )


class ForwardingEnabled(Check):
    """The Pi forwards IPv4 packets (net.ipv4.ip_forward = 1): tunnel traffic can reach the home LAN."""

    def evaluate(self, run: RunView) -> CheckResult:
        value = run.host("pi").sysctl("net.ipv4.ip_forward")
        return self.result(value == "1", f"pi: net.ipv4.ip_forward = {value}", value=value)


class ReachesLanHostThroughTunnel(Check):
    """The client's route to the LAN host goes through tun0 and the LAN host answers its ping; a failure says
    where the path breaks (no route, or the Pi does not forward)."""

    def __init__(self, client: str, when: str = "") -> None:
        self.client = client
        self.label = f"ReachesLanHostThroughTunnel({client})" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        h = run.host(self.client)
        target = run.facts["lanhost_ip"]
        r = h.run("ip -j route get %s", target)
        dev = json.loads(r.stdout)[0].get("dev") if r.succeeded and r.stdout.strip() else None
        ping = h.run("ping -n -c 2 -i 0.3 -W 2 %s", target)
        answered = ping.rc == 0
        if answered and dev == "tun0":
            return self.result(True, f"{self.client} → lanhost {target} via tun0: answered", dev=dev)
        if answered:
            return self.result(False, f"{self.client} → lanhost {target} answered, but via {dev}, not the tunnel")
        why = f"the route to {target} is via {dev}, not tun0" if dev != "tun0" else "the route is via tun0"
        fwd = run.host("pi").sysctl("net.ipv4.ip_forward")
        if dev == "tun0" and fwd != "1":
            why += f", and the Pi does not forward (net.ipv4.ip_forward = {fwd}): the tunnel ends at the Pi"
        return self.result(False, f"{self.client} → lanhost {target}: no answer; {why}", dev=dev, ip_forward=fwd)


class LanHostUnreachable(Check):
    """The client gets no answer from the LAN host (the home LAN is not reachable from where it stands)."""

    def __init__(self, client: str, when: str = "") -> None:
        self.client = client
        self.label = f"LanHostUnreachable({client})" + (f"@{when}" if when else "")

    def evaluate(self, run: RunView) -> CheckResult:
        target = run.facts["lanhost_ip"]
        ping = run.host(self.client).run("ping -n -c 2 -i 0.3 -W 1 %s", target)
        tail = (ping.stdout.strip().splitlines() or ["no output"])[-2 if ping.rc == 0 else -1]
        return self.result(
            ping.rc != 0,
            f"{self.client} → lanhost {target}: " + ("answered" if ping.rc == 0 else "no answer") + f" ({tail})",
            rc=ping.rc,
        )


def crl_window(pi: Reader) -> tuple[int, int, int, dict[str, str]]:
    """The server's CRL: (lastUpdate, nextUpdate, the Pi's now) as epoch seconds, and the dates as printed."""
    out = pi.check_output("openssl crl -in %s -noout -lastupdate -nextupdate", f"{SERVER_DIR}/crl.pem")
    now = int(pi.check_output("date +%s").strip())
    dates = dict(line.split("=", 1) for line in out.strip().splitlines() if "=" in line)

    def ts(key: str) -> int:
        when = datetime.strptime(dates[key].replace("  ", " "), "%b %d %H:%M:%S %Y %Z")
        return int(when.replace(tzinfo=UTC).timestamp())

    return ts("lastUpdate"), ts("nextUpdate"), now, dates


class CrlCurrent(Check):
    """The CRL the server verifies with (crl-verify) is current: lastUpdate ≤ now < nextUpdate, by the Pi's clock."""

    def evaluate(self, run: RunView) -> CheckResult:
        last, nxt, now, dates = crl_window(run.host("pi"))
        if nxt <= now:
            detail = f"the CRL has expired: nextUpdate {dates['nextUpdate']} is past (OpenVPN: CRL has expired)"
        elif last > now:
            detail = f"the CRL is not yet valid: lastUpdate {dates['lastUpdate']}"
        else:
            detail = f"the CRL is current until {dates['nextUpdate']}"
        return self.result(last <= now < nxt, detail, last_update=last, next_update=nxt, now=now)


class LanClosedWithoutTunnel(Invariant):
    """The home LAN stays closed to the internet: a client with no tunnel (client2, which no runbook connects)
    gets no answer from the LAN host."""

    client = "client2"

    def evaluate(self, run: RunView) -> CheckResult:
        target = run.facts["lanhost_ip"]
        ping = run.host(self.client).run("ping -n -c 1 -W 1 %s", target)
        return self.result(
            ping.rc != 0,
            f"{self.client} (no tunnel) → lanhost {target}: " + ("answered" if ping.rc == 0 else "no answer"),
            rc=ping.rc,
        )

"""Faults of the openvpn lab, each with its heal.

- `ForwardingOff`: the Pi stops forwarding (net.ipv4.ip_forward = 0), as after a reboot when the runbook's
  `sysctl -w` was never made permanent in /etc/sysctl.conf. Heal: forwarding back on;
  gone when the Pi reads 1 again.
- `ExpiredCrl`: the server's crl.pem is replaced by one signed by the same CA (on `ca`, the offline CA) whose
  nextUpdate is past, made with OpenSSL 3's `openssl ca -gencrl -crl_lastupdate/-crl_nextupdate` (easy-rsa
  cannot make an expired CRL: EASYRSA_CRL_DAYS must be positive), as when nobody ran `gen-crl` for 180 days.
  Heal: the CRL it replaced, copied back with a fresh mtime (OpenVPN reloads the file when it changes); gone when
  the server's CRL is current again (lastUpdate ≤ now < nextUpdate) and no saved copy is left.

`FAULTS` is the lab's fault library (lab.faults): forwarding_off, expire_crl (which needs the PKI the runbook
makes: a schedule should inject it after the setup steps).
"""

from __future__ import annotations

from lab.faults import Fault, FaultKind
from lab.scenario import ScenarioRun
from scenarios.openvpn.checks import crl_window
from scenarios.openvpn.lab import SERVER_DIR
from scenarios.openvpn.procedures import OFFLINE_CA

CRL = f"{SERVER_DIR}/crl.pem"
SAVED = f"{SERVER_DIR}/crl.pem.opslab-saved"
EXPIRED = "/transfer/expired-crl.pem"


class ForwardingOff(Fault):
    def describe(self) -> str:
        return "ForwardingOff: net.ipv4.ip_forward = 0 on the Pi"

    def invoke(self, run: ScenarioRun) -> None:
        run.host("pi").check_output("sysctl -w net.ipv4.ip_forward=0")

    def heal(self, run: ScenarioRun) -> None:
        run.host("pi").check_output("sysctl -w net.ipv4.ip_forward=1")

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        value = run.host("pi").sysctl("net.ipv4.ip_forward")
        return value == "1", f"pi: net.ipv4.ip_forward = {value}"


class ExpiredCrl(Fault):
    def __init__(self, last_update: str = "20200101000000Z", next_update: str = "20200201000000Z") -> None:
        self.last_update = last_update
        self.next_update = next_update

    def describe(self) -> str:
        return f"ExpiredCrl: the server's CRL valid {self.last_update} – {self.next_update} (expired)"

    def invoke(self, run: ScenarioRun) -> None:
        pki = f"{OFFLINE_CA}/pki"
        run.host("ca").check_output(
            "openssl ca -gencrl -batch -config %s -keyfile %s -cert %s -crl_lastupdate %s -crl_nextupdate %s -out %s",
            f"{pki}/safessl-easyrsa.cnf",
            f"{pki}/private/ca.key",
            f"{pki}/ca.crt",
            self.last_update,
            self.next_update,
            EXPIRED,
        )
        pi = run.host("pi")
        pi.check_output("cp -p %s %s", CRL, SAVED)
        pi.check_output("cp %s %s", EXPIRED, CRL)

    def heal(self, run: ScenarioRun) -> None:
        # a fresh copy, not `mv` back: restored with its old mtime (and the same size as the expired one), the
        # CRL was not reloaded in this lab and the server went on refusing everyone with `CRL has expired`
        run.host("pi").check_output("if [ -e %s ]; then cp %s %s && rm %s; fi", SAVED, SAVED, CRL, SAVED)

    def gone(self, run: ScenarioRun) -> tuple[bool, str]:
        pi = run.host("pi")
        last, nxt, now, dates = crl_window(pi)
        saved = pi.run("test -e %s", SAVED).succeeded
        current = last <= now < nxt
        return current and not saved, (
            f"pi: the server's CRL is {'current' if current else 'not current'} "
            f"({dates.get('lastUpdate')} – {dates.get('nextUpdate')})" + (f"; {SAVED} is still there" if saved else "")
        )


FAULTS = (
    FaultKind("forwarding_off", "the Pi stops forwarding (net.ipv4.ip_forward = 0)", ForwardingOff),
    FaultKind("expire_crl", "the server's CRL is replaced by an expired one signed by the same CA", ExpiredCrl),
)

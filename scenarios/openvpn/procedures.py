"""The openvpn lab's procedures, as an engineer types them on the Pi and on a client.

The PKI is easy-rsa 3 (what Debian ships: `/usr/share/easy-rsa/easyrsa`). Old runbooks say easy-rsa 2
(`. ./vars`, `./clean-all`, `./build-ca`, ...): each step's title names the easy-rsa 2 command it stands for
(`EASYRSA2`). Fast mode (`setup_server`): EC keys (prime256v1) and `dh none` (ECDHE only), because
`./easyrsa gen-dh` (DH 2048) takes minutes under emulation; `setup_server_dh2048` is the classic one.

The setup's state-changing steps carry a `verify` command (read-only, on the same host) that rehearse runs after a
person did the step by hand.

A real Pi runs the server with `systemctl start openvpn-server@server`; the lab's Pi has no systemd, so the
steps run what that unit runs (`openvpn --daemon ... --cd /etc/openvpn/server --config server.conf`).
"""

from __future__ import annotations

from lab.procedure import Procedure, Step
from scenarios.openvpn.lab import CLIENTS, EASYRSA_DIR

FIRST_CLIENTS = CLIENTS[:1]  # setup_server builds client1's key (each easy-rsa call is ~20 s under emulation)

# easy-rsa 2 command → what this procedure runs instead (easy-rsa 3)
EASYRSA2 = {
    "make-cadir / cp -r /usr/share/easy-rsa": "make-cadir {easyrsa}",
    "edit vars; . ./vars": "set_var lines in {easyrsa}/vars",
    "./clean-all": "./easyrsa init-pki",
    "./build-ca": "./easyrsa build-ca nopass",
    "./build-key-server server": "./easyrsa build-server-full server nopass",
    "./build-key <client>": "./easyrsa build-client-full <client> nopass",
    "./build-dh": "./easyrsa gen-dh  (fast mode: none, `dh none` in server.conf)",
    "./revoke-full <client>": "./easyrsa revoke <client> && ./easyrsa gen-crl",
}

PKI = "PKI: "  # title prefix of the steps that build the PKI (their time is a metric)
SAMPLES = "/usr/share/doc/openvpn/examples/sample-config-files"
OFFLINE_CA = "/root/ca"  # the CA directory on the admin's x86 machine (`ca`)
VARS_EC = "set_var EASYRSA_BATCH 1\\nset_var EASYRSA_ALGO ec\\nset_var EASYRSA_CURVE prime256v1\\n"
VARS_RSA = "set_var EASYRSA_BATCH 1\\nset_var EASYRSA_KEY_SIZE 2048\\n"

INSTALL = Step(
    "pi",
    "apt-get install -y openvpn easy-rsa",
    "install openvpn and easy-rsa (unpacked in the Pi's image: apt finds them installed)",
    verify="dpkg -s openvpn easy-rsa >/dev/null",
)


def pki_steps(host: str, cadir: str, clients: tuple[str, ...], dh: bool = False) -> tuple[Step, ...]:
    """The easy-rsa 3 PKI in `cadir` on `host`, one step per command (titles name the easy-rsa 2 command)."""
    ers = f"cd {cadir} && ./easyrsa"
    return (
        Step(
            host,
            f"make-cadir {cadir}",
            PKI + "a CA directory (easy-rsa 2: make-cadir, or cp -r /usr/share/easy-rsa)",
            verify=f"test -x {cadir}/easyrsa",
        ),
        Step(
            host,
            f"printf '{VARS_RSA if dh else VARS_EC}' >> {cadir}/vars",
            PKI + f"vars: batch mode, {'RSA 2048' if dh else 'EC keys'} (easy-rsa 2: edit vars, then `. ./vars`)",
            verify=f"grep -q EASYRSA_BATCH {cadir}/vars",
        ),
        Step(host, f"{ers} init-pki", PKI + "a new PKI (easy-rsa 2: ./clean-all)", verify=f"test -d {cadir}/pki"),
        Step(
            host,
            f"{ers} --req-cn='Pi VPN CA' build-ca nopass",
            PKI + "the CA (easy-rsa 2: ./build-ca)",
            verify=f"test -s {cadir}/pki/ca.crt",
        ),
        Step(
            host,
            f"{ers} build-server-full server nopass",
            PKI + "the server's key and certificate (easy-rsa 2: ./build-key-server server)",
            verify=f"test -s {cadir}/pki/issued/server.crt && test -s {cadir}/pki/private/server.key",
        ),
        *(
            Step(
                host,
                f"{ers} build-client-full {c} nopass",
                PKI + f"{c}'s key and certificate (easy-rsa 2: ./build-key {c})",
                verify=f"test -s {cadir}/pki/issued/{c}.crt && test -s {cadir}/pki/private/{c}.key",
            )
            for c in clients
        ),
        *(
            (
                Step(
                    host,
                    f"{ers} gen-dh",
                    PKI + "DH parameters, 2048 bits: minutes under emulation (./build-dh)",
                    verify=f"test -s {cadir}/pki/dh.pem",
                ),
            )
            if dh
            else ()
        ),
        Step(host, f"{ers} gen-crl", PKI + "an (empty) CRL for crl-verify", verify=f"test -s {cadir}/pki/crl.pem"),
    )


def hand_over(host: str, cadir: str, client: str) -> Step:
    return Step(
        host,
        f"mkdir -p /transfer/{client} && cd {cadir}/pki"
        f" && cp ca.crt issued/{client}.crt private/{client}.key /transfer/{client}/",
        f"give {client} its keys (the USB stick, or scp)",
        verify=f"test -s /transfer/{client}/{client}.key",
    )


def copy_server_keys(dh: bool) -> Step:
    extra = " dh.pem" if dh else ""
    return Step(
        "pi",
        f"cd {{easyrsa}}/pki && cp ca.crt issued/server.crt private/server.key crl.pem{extra} {{server_dir}}/",
        "copy the server's keys and the CRL to /etc/openvpn/server",
        verify="test -s {server_dir}/server.key && test -s {server_dir}/crl.pem",
    )


def server_conf(dh: bool) -> Step:
    dh_line = "dh dh.pem" if dh else "dh none"
    return Step(
        "pi",
        f"sed -e 's/^dh dh2048.pem/{dh_line}/'"
        ' -e \'s/^;push "route 192.168.10.0 255.255.255.0"/push "route {lan_net} {lan_mask}"/\''
        " -e 's|^;log-append .*|log-append {server_log}|'"
        f" {SAMPLES}/server.conf > {{server_dir}}/server.conf"
        " && printf '\\ncrl-verify crl.pem\\nremote-cert-tls client\\n' >> {server_dir}/server.conf",
        f"server.conf from the sample: dev tun, server {{vpn_net}}/24, push the home LAN's route, keepalive,"
        f" {dh_line}, crl-verify, remote-cert-tls client",
        verify=f"grep -qx '{dh_line}' {{server_dir}}/server.conf"
        " && grep -qx 'crl-verify crl.pem' {server_dir}/server.conf",
    )


START_SERVER = Step(
    "pi",
    "mkdir -p /var/log/openvpn && openvpn --daemon ovpn-server --cd {server_dir} --config server.conf"
    " --writepid {server_pid}",
    "start the server (on a real Pi: systemctl start openvpn-server@server)",
    verify="kill -0 $(cat {server_pid})",
)
TUN_UP = Step(
    "pi",
    'timeout 60 sh -c \'until ip -4 addr show dev tun0 2>/dev/null | grep -q "inet {vpn_server_ip}/"; do'
    " pgrep -x openvpn >/dev/null || exit; sleep 0.2; done'; ip -4 addr show dev tun0",
    "check that tun0 is {vpn_server_ip} (OpenVPN configures it after it has daemonized)",
    expect_output=r"inet 10\.8\.0\.1/24",
    readonly=True,
)
FORWARDING = Step(
    "pi",
    "sysctl -w net.ipv4.ip_forward=1",
    "enable forwarding: the home LAN through the tunnel",
    verify="sysctl -n net.ipv4.ip_forward | grep -qx 1",
)
STOP_SERVER = Step(
    "pi",
    "pkill -x openvpn && timeout 30 sh -c 'while pgrep -x openvpn >/dev/null; do sleep 0.1; done'",
    "stop the server (systemctl stop openvpn-server@server)",
)
INSTALL_CRL = Step(
    "pi",
    "cp /transfer/server/crl.pem {server_dir}/crl.pem",
    "install the new CRL (OpenVPN reads it at each connection)",
)


def revoke(host: str, cadir: str, client: str) -> tuple[Step, ...]:
    ers = f"cd {cadir} && ./easyrsa"
    return (
        Step(
            host,
            f"{ers} revoke {client}",
            f"revoke {client}'s certificate (easy-rsa 2: ./revoke-full {client}, which also makes the CRL)",
        ),
        Step(
            host,
            f"{ers} gen-crl && mkdir -p /transfer/server && cp pki/crl.pem /transfer/server/",
            "regenerate the CRL",
        ),
        INSTALL_CRL,
    )


def client_steps(client: str, keys: str | None = None, cert: str | None = None) -> tuple[Step, ...]:
    """A client's side: its keys from /transfer/<keys>, client.conf from the sample, openvpn started."""
    keys = keys or client
    cert = cert or keys
    return (
        Step(
            client,
            f"mkdir -p {{client_dir}} /var/log/openvpn && cp /transfer/{keys}/* {{client_dir}}/",
            f"{client}: install the keys it was given",
        ),
        Step(
            client,
            "sed -e 's/^remote my-server-1 1194/remote {pi_ip} 1194/'"
            f" -e 's/^cert client.crt/cert {cert}.crt/' -e 's/^key client.key/key {cert}.key/'"
            f" {SAMPLES}/client.conf > {{client_dir}}/client.conf",
            f"{client}: client.conf from the sample, remote = the Pi",
        ),
        Step(
            client,
            "openvpn --daemon ovpn-client --cd {client_dir} --config client.conf --log {client_log}"
            " --writepid {client_pid}",
            f"{client}: start openvpn",
        ),
    )


def server_steps(dh: bool = False) -> tuple[Step, ...]:
    """The runbook on the Pi: install, PKI on the Pi, keys, server.conf, start, forwarding."""
    return (
        INSTALL,
        *pki_steps("pi", EASYRSA_DIR, FIRST_CLIENTS, dh),
        *(hand_over("pi", EASYRSA_DIR, c) for c in FIRST_CLIENTS),
        copy_server_keys(dh),
        server_conf(dh),
        START_SERVER,
        TUN_UP,
        FORWARDING,
    )


def offline_ca_steps() -> tuple[Step, ...]:
    """The same server with its CA kept off the Pi: the admin's existing offline CA on `ca` (an x86 machine,
    fixtures/openvpn/offline-ca), a fresh CRL, keys carried over; openvpn is already installed on the Pi."""
    ers = f"cd {OFFLINE_CA} && ./easyrsa"
    return (
        Step(
            "ca",
            f"cp -a /srv/offline-ca {OFFLINE_CA} && {ers} gen-crl",
            "the admin's offline CA (server, client1, client2 issued) makes a fresh CRL",
        ),
        *(hand_over("ca", OFFLINE_CA, c) for c in CLIENTS),
        Step(
            "ca",
            f"mkdir -p /transfer/server && cd {OFFLINE_CA}/pki"
            " && cp ca.crt issued/server.crt private/server.key crl.pem /transfer/server/",
            "carry the server's keys and the CRL to the Pi",
        ),
        Step("pi", "mkdir -p {server_dir} && cp /transfer/server/* {server_dir}/", "install the server's keys and CRL"),
        server_conf(False),
        START_SERVER,
        TUN_UP,
        FORWARDING,
    )


SETUP_SERVER = server_steps()
SETUP_OFFLINE_CA = offline_ca_steps()
RESTART_SERVER = (STOP_SERVER, START_SERVER, TUN_UP)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure(
            "setup_server",
            "install OpenVPN on the Pi: PKI on the Pi (fast mode: EC keys, dh none), server.conf, start, forwarding",
            SETUP_SERVER,
        ),
        Procedure(
            "setup_server_dh2048",
            "the classic runbook: RSA 2048 keys and DH 2048 parameters (minutes under emulation)",
            server_steps(dh=True),
        ),
        Procedure(
            "setup_server_offline_ca",
            "OpenVPN on the Pi with the CA on the admin's x86 machine (openvpn already installed on the Pi)",
            SETUP_OFFLINE_CA,
        ),
        Procedure("connect_client", "connect client1 to the Pi", client_steps("client1")),
        Procedure(
            "revoke_client",
            "revoke client2 on the offline CA, install the new CRL on the Pi",
            revoke("ca", OFFLINE_CA, "client2"),
        ),
        Procedure("restart_server", "restart the OpenVPN server on the Pi", RESTART_SERVER),
    )
}

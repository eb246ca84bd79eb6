"""The openvpn lab's procedures, as an engineer types them on the Pi and on a client.

The PKI is easy-rsa 3 (what Debian ships: `/usr/share/easy-rsa/easyrsa`). Old runbooks say easy-rsa 2
(`. ./vars`, `./clean-all`, `./build-ca`, ...): each step's title names the easy-rsa 2 command it stands for
(`EASYRSA2`). Fast mode (`setup_server`): EC keys (prime256v1) and `dh none` (ECDHE only), because
`./easyrsa gen-dh` (DH 2048) takes minutes under emulation; `setup_server_dh2048` is the classic one.

A real Pi runs the server with `systemctl start openvpn-server@server`; the lab's Pi has no systemd, so the
steps run what that unit runs (`openvpn --daemon ... --cd /etc/openvpn/server --config server.conf`).
"""

from __future__ import annotations

from lab.procedure import Procedure, Step
from scenarios.openvpn.lab import CLIENTS

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

INSTALL = Step(
    "pi",
    "apt-get install -y openvpn easy-rsa",
    "install openvpn and easy-rsa (unpacked in the Pi's image: apt finds them installed)",
)
CADIR = Step(
    "pi", "make-cadir {easyrsa}", PKI + "a CA directory (easy-rsa 2: make-cadir, or cp -r /usr/share/easy-rsa)"
)
VARS_FAST = Step(
    "pi",
    "printf 'set_var EASYRSA_BATCH 1\\nset_var EASYRSA_ALGO ec\\nset_var EASYRSA_CURVE prime256v1\\n'"
    " >> {easyrsa}/vars",
    PKI + "vars: batch mode, EC keys (easy-rsa 2: edit vars, then `. ./vars`)",
)
VARS_RSA = Step(
    "pi",
    "printf 'set_var EASYRSA_BATCH 1\\nset_var EASYRSA_KEY_SIZE 2048\\n' >> {easyrsa}/vars",
    PKI + "vars: batch mode, RSA 2048 (easy-rsa 2: edit vars, then `. ./vars`)",
)
INIT_PKI = Step("pi", "cd {easyrsa} && ./easyrsa init-pki", PKI + "a new PKI (easy-rsa 2: ./clean-all)")
BUILD_CA = Step(
    "pi", "cd {easyrsa} && ./easyrsa --req-cn='Pi VPN CA' build-ca nopass", PKI + "the CA (easy-rsa 2: ./build-ca)"
)
BUILD_SERVER = Step(
    "pi",
    "cd {easyrsa} && ./easyrsa build-server-full server nopass",
    PKI + "the server's key and certificate (easy-rsa 2: ./build-key-server server)",
)
GEN_DH = Step("pi", "cd {easyrsa} && ./easyrsa gen-dh", PKI + "DH parameters, 2048 bits: minutes here (./build-dh)")
GEN_CRL = Step("pi", "cd {easyrsa} && ./easyrsa gen-crl", PKI + "an (empty) CRL for crl-verify")


def build_client(client: str) -> Step:
    return Step(
        "pi",
        f"cd {{easyrsa}} && ./easyrsa build-client-full {client} nopass",
        PKI + f"{client}'s key and certificate (easy-rsa 2: ./build-key {client})",
    )


def hand_over(client: str) -> Step:
    return Step(
        "pi",
        f"mkdir -p /transfer/{client} && cd {{easyrsa}}/pki"
        f" && cp ca.crt issued/{client}.crt private/{client}.key /transfer/{client}/",
        f"give {client} its keys (the USB stick, or scp)",
    )


def copy_server_keys(dh: bool) -> Step:
    extra = " dh.pem" if dh else ""
    return Step(
        "pi",
        f"cd {{easyrsa}}/pki && cp ca.crt issued/server.crt private/server.key crl.pem{extra} {{server_dir}}/",
        "copy the server's keys and the CRL to /etc/openvpn/server",
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
    )


START_SERVER = Step(
    "pi",
    "mkdir -p /var/log/openvpn && openvpn --daemon ovpn-server --cd {server_dir} --config server.conf"
    " --writepid {server_pid}",
    "start the server (on a real Pi: systemctl start openvpn-server@server)",
)
TUN_UP = Step(
    "pi",
    'timeout 60 sh -c \'until ip -4 addr show dev tun0 2>/dev/null | grep -q "inet {vpn_server_ip}/"; do'
    " [ ! -s {server_pid} ] || kill -0 $(cat {server_pid}) || exit; sleep 0.2; done'; ip -4 addr show dev tun0",
    "check that tun0 is {vpn_server_ip} (OpenVPN configures it after it has daemonized)",
    expect_output=r"inet 10\.8\.0\.1/24",
)
FORWARDING = Step("pi", "sysctl -w net.ipv4.ip_forward=1", "enable forwarding: the home LAN through the tunnel")
STOP_SERVER = Step(
    "pi",
    "kill $(cat {server_pid}) && timeout 30 sh -c 'while [ -e /proc/$(cat {server_pid}) ]; do sleep 0.1; done'",
    "stop the server (systemctl stop openvpn-server@server)",
)
REVOKE = "revoke"


def revoke(client: str) -> tuple[Step, ...]:
    return (
        Step(
            "pi",
            f"cd {{easyrsa}} && ./easyrsa revoke {client}",
            f"revoke {client}'s certificate (easy-rsa 2: ./revoke-full {client}, which also makes the CRL)",
        ),
        Step("pi", "cd {easyrsa} && ./easyrsa gen-crl", "regenerate the CRL"),
        Step("pi", "cp {easyrsa}/pki/crl.pem {server_dir}/crl.pem", "install the new CRL (read at each connection)"),
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
    pki: tuple[Step, ...] = (CADIR, VARS_RSA if dh else VARS_FAST, INIT_PKI, BUILD_CA, BUILD_SERVER)
    pki += tuple(build_client(c) for c in CLIENTS)
    pki += (GEN_DH,) if dh else ()
    pki += (GEN_CRL,)
    return (
        INSTALL,
        *pki,
        *(hand_over(c) for c in CLIENTS),
        copy_server_keys(dh),
        server_conf(dh),
        START_SERVER,
        TUN_UP,
        FORWARDING,
    )


SETUP_SERVER = server_steps()
RESTART_SERVER = (STOP_SERVER, START_SERVER, TUN_UP)

PROCEDURES = {
    p.name: p
    for p in (
        Procedure(
            "setup_server",
            "install OpenVPN on the Pi: PKI (fast mode: EC keys, dh none), server.conf, start, forwarding",
            SETUP_SERVER,
        ),
        Procedure(
            "setup_server_dh2048",
            "the classic runbook: RSA 2048 keys and DH 2048 parameters (minutes under emulation)",
            server_steps(dh=True),
        ),
        Procedure("connect_client", "connect client1 to the Pi", client_steps("client1")),
        Procedure("revoke_client", "revoke client2 and regenerate the CRL", revoke("client2")),
        Procedure("restart_server", "restart the OpenVPN server on the Pi", RESTART_SERVER),
    )
}

"""The openvpn lab: an OpenVPN server on an emulated Raspberry Pi between the internet and a home LAN.

    client1, client2, ca (x86), armclient (armhf) ── internet ── pi (armhf, qemu-user) ── homelan ── lanhost

The Pi starts bare: openvpn and easy-rsa are unpacked (apt under emulation is slow) but nothing is configured
and IP forwarding is off; the procedure `setup_server` does the rest, as the runbook says. `lanhost` routes the
VPN's 10.8.0.0/24 back through the Pi, as a home router with a static route would. `/transfer` (a volume on the
Pi and the clients) stands for the USB stick or scp that carries a client's keys. `ca` is the admin's x86
machine with an offline CA: easy-rsa under emulation takes ~20 s per certificate, so the scenarios whose subject
is not the Pi's own PKI build it there (procedure `setup_server_offline_ca`).

Parameters: `pi_tun_device` is the device node handed to the Pi as /dev/net/tun (`/dev/null` maps nothing new:
the Pi then has no /dev/net/tun, as a container started without `--device /dev/net/tun`); `pi_net_admin`
is the capability that lets it configure tun0 (`NET_RAW` leaves NET_ADMIN out). Each takes one of these two
values: the one the runbook needs and the one that takes it away.
"""

from __future__ import annotations

from typing import Any

from lab.lifecycle import Lab
from lab.spec import LabSpec, Param

VPN_NET = "10.8.0.0"  # the runbook's `server 10.8.0.0 255.255.255.0`
VPN_SERVER_IP = "10.8.0.1"
EASYRSA_DIR = "/etc/openvpn/easy-rsa"
SERVER_DIR = "/etc/openvpn/server"
CLIENT_DIR = "/etc/openvpn/client"
SERVER_LOG = "/var/log/openvpn/openvpn.log"
CLIENT_LOG = "/var/log/openvpn/client.log"
SERVER_PID = "/run/openvpn-server.pid"
CLIENT_PID = "/run/openvpn-client.pid"
CLIENTS = ("client1", "client2")
ARM_CLIENT = "armclient"  # a client on the Pi's image (armhf under qemu): its key is made when it is needed


def facts(lab: Lab) -> dict[str, Any]:
    lan = lab.net_prefix("homelan")
    return {
        "pi_ip": lab.ip("pi", "internet"),
        "pi_lan_ip": lab.ip("pi", "homelan"),
        "lan_net": f"{lan}.0",
        "lan_mask": "255.255.255.0",
        "lanhost_ip": lab.ip("lanhost", "homelan"),
        **{f"{c}_ip": lab.ip(c, "internet") for c in (*CLIENTS, ARM_CLIENT)},
        "vpn_net": VPN_NET,
        "vpn_server_ip": VPN_SERVER_IP,
        "easyrsa": EASYRSA_DIR,
        "server_dir": SERVER_DIR,
        "client_dir": CLIENT_DIR,
        "server_log": SERVER_LOG,
        "client_log": CLIENT_LOG,
        "server_pid": SERVER_PID,
        "client_pid": CLIENT_PID,
    }


SPEC = LabSpec(
    name="openvpn",
    title="an OpenVPN server on an emulated Raspberry Pi (armhf under qemu), a home LAN behind it",
    params=(
        Param(
            "pi_tun_device",
            "/dev/net/tun",
            "device node given to the Pi as /dev/net/tun (/dev/null: none)",
            "PI_TUN_DEVICE",
            choices=("/dev/net/tun", "/dev/null"),
        ),
        Param(
            "pi_net_admin",
            "NET_ADMIN",
            "capability that lets the Pi configure tun0 (NET_RAW: leave NET_ADMIN out)",
            "PI_CAPS",
            choices=("NET_ADMIN", "NET_RAW"),
        ),
    ),
    facts=facts,
    ready_timeout=120.0,
    scenario_timeout_s=900.0,  # ARM under qemu: the PKI alone takes half a minute on a quiet machine
    groups={"clients": ("client1", "client2", "armclient")},
)

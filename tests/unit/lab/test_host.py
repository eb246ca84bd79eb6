import json

import pytest

from lab.errors import CommandError
from lab.host import FakeTransport, Host

NEIGH = json.dumps([{"dst": "10.9.0.100", "dev": "eth0", "lladdr": "02:42:0A:00:00:0B", "state": ["STALE"]}])
ADDR = json.dumps(
    [
        {
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "10.9.0.12"},
                {"family": "inet", "local": "10.9.0.100"},
                {"family": "inet6", "local": "fe80::1"},
            ],
        }
    ]
)


def host(replies: dict) -> tuple[Host, FakeTransport]:
    t = FakeTransport(replies)
    return Host("new", "c-new", t), t


def test_arguments_are_quoted_by_the_library() -> None:
    h, t = host({})
    h.run("echo %s", "a b; rm -rf /")
    assert t.commands == ["echo 'a b; rm -rf /'"]


def test_neighbour_entry_is_parsed_from_ip_json() -> None:
    h, _ = host({"ip -j neigh show 10.9.0.100": (0, NEIGH)})
    e = h.net.neigh("10.9.0.100")
    assert e is not None and (e.mac, e.state, e.dev) == ("02:42:0a:00:00:0b", "STALE", "eth0")
    h2, _ = host({"ip -j neigh": (0, "[]")})
    assert h2.net.neigh("10.9.0.100") is None


def test_addresses_are_ipv4_only() -> None:
    h, _ = host({"ip -j addr show": (0, ADDR)})
    assert h.net.addresses() == ["10.9.0.12", "10.9.0.100"]
    assert h.net.has_address("10.9.0.100") and not h.net.has_address("10.9.0.11")
    assert h.net.dev_for("10.9.0.") == "eth0"


def test_a_failed_command_names_itself_and_the_host() -> None:
    h, _ = host({"cat /proc/sys/net/ipv4/ip_forward": (1, "No such file")})
    with pytest.raises(CommandError) as e:
        h.sysctl("net.ipv4.ip_forward")
    assert "on new" in str(e.value) and "exit 1" in str(e.value) and "No such file" in str(e.value)


def test_with_deadline_kills_the_command_and_what_it_started_in_a_real_shell() -> None:
    import subprocess

    from lab.host import TIMED_OUT_RC, with_deadline

    command = with_deadline("sleep 30 & sleep 30; echo never", 0.3)
    p = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=20)
    assert p.returncode == TIMED_OUT_RC and "never" not in p.stdout
    ok = subprocess.run(["/bin/sh", "-c", with_deadline("echo 'it''s fine'", 5)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == "its fine\n"

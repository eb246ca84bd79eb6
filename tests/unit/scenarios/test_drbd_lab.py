"""The drbd lab's addresses come from one place: the compose file's `x-addresses` block."""

from __future__ import annotations

from types import SimpleNamespace

from scenarios.drbd.lab import SPEC, addresses


def test_addresses_are_the_compose_files_with_this_instances_networks() -> None:
    lab = SimpleNamespace(spec=SPEC, env={"LAN_NET": "10.9.1", "REPL_NET": "10.9.2"})
    addr = addresses(lab)  # type: ignore[arg-type]
    assert addr["vip"] == "10.9.1.100"
    assert (addr["alpha_ip"], addr["beta_ip"]) == ("10.9.1.11", "10.9.1.12")
    assert (addr["alpha_repl_ip"], addr["beta_repl_ip"]) == ("10.9.2.11", "10.9.2.12")
    compose = SPEC.compose()
    for node in ("alpha", "beta"):
        nets = compose["services"][node]["networks"]
        assert nets["lan"]["ipv4_address"] == compose["x-addresses"][f"{node}_ip"]
        assert nets["repl"]["ipv4_address"] == compose["x-addresses"][f"{node}_repl_ip"]
        env = compose["services"][node]["environment"]
        assert env["VIP"] == compose["x-addresses"]["vip"]

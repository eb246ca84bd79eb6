"""The openvpn runbook as an operator's Ansible play (examples/ansible/openvpn), judged by the runbook's own plan."""

from __future__ import annotations

from lab.ansible.checks import TasksRan
from lab.ansible.examples import use_example
from lab.scenario import ScenarioRun
from scenarios.openvpn.plans import SETUP_SERVER, WATCH


def test_ansible_setup_server(scenario: ScenarioRun) -> None:
    """setup_server.yml sets the server up on the emulated Pi (PKI in fast mode, server.conf from the sample, start,
    forwarding): tun0 is up, the CRL current, and client1 with the keys it was given reaches the home LAN."""
    use_example(scenario, "setup_server", "setup_server.yml")
    SETUP_SERVER.walk(scenario, "setup_server", watch=WATCH)
    scenario.check(TasksRan([("pi", "PKI: the CA"), ("pi", "enable forwarding (the home LAN through the tunnel)")]))

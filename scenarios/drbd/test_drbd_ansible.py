"""The drbd runbook as an operator's Ansible play (examples/ansible/drbd), judged by the runbook's own plan."""

from __future__ import annotations

from lab.ansible.checks import TasksRan
from lab.ansible.examples import use_example
from lab.scenario import ScenarioRun
from scenarios.drbd.plans import REPLACE_BOTH_NODES, WATCH


def test_ansible_replace_both_nodes(scenario: ScenarioRun) -> None:
    """replace_both_nodes.yml replaces beta, fails over to it and replaces alpha, the machine-room tasks delegated to
    this machine: one failover's outage, nothing acknowledged lost, resyncs minimal, redundant again."""
    use_example(scenario, "replace_both_nodes", "replace_both_nodes.yml")
    REPLACE_BOTH_NODES.walk(scenario, "replace_both_nodes", watch=WATCH)
    scenario.check(
        TasksRan(
            [
                ("beta", "replace beta's hardware: a new machine (new NIC) around the same disk"),
                ("alpha", "stop heartbeat on the primary: beta takes over"),
                ("beta", "check redundancy on beta"),
            ]
        )
    )

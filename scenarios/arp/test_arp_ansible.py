"""The arp runbook as an operator's Ansible play (examples/ansible/arp), judged by the runbook's own plan.

`move_ip.yml` takes the service IP off `old`, puts it on `new`, and a handler sends the gratuitous ARP: it must pass
every check `arp/migrate_with_garp` makes, with each task on each host a step of the run. `move_ip_silently.yml` is
the same play without the announcement: it fails them as `arp/migrate_without_garp` does (outage ≈ the gateway's
cache lifetime, no ARP from the service IP).

Both run with a gateway cache that lives 60 s past its last use (`delay_first_probe_s=60`): the stale entry's life
starts when the staging confirms it, and `ansible-playbook` then takes seconds to start (half a minute on a machine
at load 60) and a second or more per task, so with the default 6 s (or 20 s) the entry could expire before the play
moved the address, and the silent play's outage would be a race with the expiry, not what it shows.
"""

from __future__ import annotations

import pytest

from lab.ansible.checks import TasksRan
from lab.ansible.examples import use_example
from lab.scenario import ScenarioRun
from scenarios.arp.plans import MIGRATION, WATCH

MOVE = [("old", "remove the service IP from the old server"), ("new", "add the service IP on the new server")]
ANNOUNCE = [("new", "handler: announce the service IP")]


LONG_CACHE = pytest.mark.lab_params(delay_first_probe_s="60")


@LONG_CACHE
def test_ansible_move_ip(scenario: ScenarioRun) -> None:
    """The operator's play moves the IP and its handler announces it: the runbook's checks all pass."""
    use_example(scenario, "migrate_with_garp", "move_ip.yml")
    MIGRATION.walk(scenario, "migrate_with_garp", watch=WATCH)
    scenario.check(TasksRan(MOVE + ANNOUNCE))


@LONG_CACHE
def test_ansible_move_ip_silently(scenario: ScenarioRun) -> None:
    """The same play without the announcement: the gateway keeps the old MAC, the outage is the cache's lifetime."""
    use_example(scenario, "migrate_with_garp", "move_ip_silently.yml")
    MIGRATION.walk(
        scenario,
        "migrate_with_garp",
        watch=WATCH,
        expect={
            "OutageBelow(1s)": "fail",
            "OutageMatchesLifetime": "pass",
            "AnnouncedByArp": "fail",
            "ServiceBackWithin": "fail",
        },
    )
    scenario.check(TasksRan(MOVE))
    scenario.check(TasksRan(ANNOUNCE), expect="fail")

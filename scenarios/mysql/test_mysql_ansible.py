"""The mysql runbook as an operator's Ansible play (examples/ansible/mysql), judged by the runbook's own plan."""

from __future__ import annotations

from lab.ansible.checks import TasksRan
from lab.ansible.examples import use_example
from lab.scenario import ScenarioRun
from scenarios.mysql.plans import REBUILD, WATCH


def test_ansible_rebuild_from_master(scenario: ScenarioRun) -> None:
    """rebuild_slave.yml rebuilds slave1 from the master under live writes, the lock held by one task's session while
    mysqldump runs inside it: both slaves replicate, catch up, equal the master, no acknowledged write lost."""
    use_example(scenario, "rebuild_from_master", "rebuild_slave.yml")
    REBUILD.walk(scenario, "rebuild_from_master", watch=WATCH)
    scenario.check(
        TasksRan(
            [
                ("slave1", "lock the master, record its binary log position and dump it while the lock is held"),
                ("slave1", "point the slave at the master at the recorded file and position, and start it"),
            ]
        )
    )

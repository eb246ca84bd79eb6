"""The mirror runbook as an operator's Ansible play (examples/ansible/mirror), judged by the runbook's own plan."""

from __future__ import annotations

from lab.ansible.checks import TasksRan
from lab.ansible.examples import use_example
from lab.scenario import ScenarioRun
from scenarios.mirror.plans import MIRROR_SITE, WATCH


def test_ansible_mirror_site(scenario: ScenarioRun) -> None:
    """mirror_site.yml runs the runbook's wget on the client: the mirror is complete, in scope, its links local, and
    it browses offline, as the built-in procedure's is."""
    use_example(scenario, "mirror_site", "mirror_site.yml")
    MIRROR_SITE.walk(scenario, "mirror_site", watch=WATCH)
    scenario.check(TasksRan([("client", "the mirror's folder exists"), ("client", "mirror the site with wget")]))

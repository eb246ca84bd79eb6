"""Ansible: the inventory's shape, playbooks checked before a lab starts, and playbooks run for real (ansible-playbook
with opslab's callback plugin) on this machine through Ansible's `local` connection in place of `docker exec`."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import lab.ansible.inventory
from lab.ansible.checks import TasksRan
from lab.ansible.inventory import CONNECTION, build
from lab.ansible.playbook import ansible_playbook, load_playbook, unknown_in_pattern
from lab.checks import CheckResult, Invariant
from lab.cli import main
from lab.errors import OpslabError, UsageError
from lab.inputs import check_procedure
from lab.procedure import Step, load_user_procedure
from lab.scenario import ScenarioRun, StepFailed

HOSTS = ["gateway", "old", "new", "client"]
GROUPS = {"servers": ("old", "new")}


def test_the_inventory_has_every_host_its_groups_and_the_facts_as_vars_of_all() -> None:
    names = {h: f"opslab-arp-1-{h}-1" for h in HOSTS}
    inv = build(HOSTS, names, GROUPS, {"vip": "10.9.0.100", "prefix": 24, "lifetime_s": 6.0})
    hosts = inv["all"]["hosts"]
    assert list(hosts) == HOSTS
    assert hosts["old"] == {
        "ansible_connection": CONNECTION,
        "ansible_host": "opslab-arp-1-old-1",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    assert inv["all"]["children"] == {"servers": {"hosts": {"old": None, "new": None}}}
    assert inv["all"]["vars"] == {"vip": "10.9.0.100", "prefix": 24, "lifetime_s": 6.0}
    assert yaml.safe_load(lab.ansible.inventory.to_yaml(inv)) == inv


def test_an_inventory_of_a_host_without_its_container_is_refused() -> None:
    with pytest.raises(OpslabError, match="host new has no running container"):
        build(HOSTS, {h: h for h in HOSTS if h != "new"}, {}, {})


@pytest.mark.parametrize(
    "pattern, bad",
    [
        ("old", []),
        ("servers", []),
        ("old:new", []),
        ("servers:!old", []),
        ("servers:&new", []),
        ("all", []),
        ("localhost", []),
        ("s*", []),
        ("~^(old|new)$", []),
        (["old", "nosuch"], ["nosuch"]),
        ("old,web1", ["web1"]),
        ("dbs:!old", ["dbs"]),
        ("x*", ["x*"]),
        ("{{ target }}", []),
    ],
)
def test_host_patterns_are_matched_against_the_labs_hosts_and_groups(pattern: Any, bad: list[str]) -> None:
    assert unknown_in_pattern(pattern, set(HOSTS) | set(GROUPS)) == bad


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_playbook_naming_a_host_the_lab_lacks_is_refused(tmp_path: Path) -> None:
    play = write(tmp_path, "p.yml", "- hosts: old\n  tasks: []\n- name: rebuild\n  hosts: slave1\n  tasks: []\n")
    with pytest.raises(UsageError) as e:
        load_playbook(play, HOSTS, GROUPS)
    assert "play 'rebuild' runs on slave1, which the lab does not have" in e.value.message
    assert "its hosts: gateway, old, new, client; its groups: servers" in str(e.value.hint)


def test_imported_playbooks_and_delegated_tasks_are_checked_too(tmp_path: Path) -> None:
    write(tmp_path, "inner.yml", "- hosts: nodes\n  tasks: []\n")
    outer = write(tmp_path, "outer.yml", "- import_playbook: inner.yml\n")
    with pytest.raises(UsageError, match="inner.yml: play 'nodes' runs on nodes"):
        load_playbook(outer, HOSTS, GROUPS)
    delegated = write(
        tmp_path, "d.yml", "- hosts: old\n  tasks:\n    - block:\n        - name: t\n          delegate_to: beta\n"
    )
    with pytest.raises(UsageError, match="task 't' is delegated to beta"):
        load_playbook(delegated, HOSTS, GROUPS)


@pytest.mark.parametrize(
    "text, message",
    [
        ("hosts: old\n", "is not an Ansible playbook"),
        ("- tasks: []\n", "a play has no `hosts:`"),
        ("- hosts: [old\n", "is not valid YAML"),
    ],
)
def test_what_is_not_a_playbook_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_user_procedure(write(tmp_path, "p.yml", text), HOSTS, groups=GROUPS)


def test_check_is_refused_for_what_is_not_a_playbook(tmp_path: Path) -> None:
    runbook = write(tmp_path, "r.steps", "old: true\n")
    with pytest.raises(UsageError, match="--check is Ansible's dry run"):
        load_user_procedure(runbook, HOSTS, check=True)


def test_a_procedure_for_every_scenario_is_refused_where_scenarios_expect_a_failure(tmp_path: Path) -> None:
    runbook = write(tmp_path, "r.steps", "old: true\n")
    check_procedure(str(runbook), ["arp"], ["arp/migrate_with_garp"])  # expects success only: fine
    with pytest.raises(UsageError) as e:
        check_procedure(str(runbook), ["arp"], ["arp/migrate_with_garp", "arp/migrate_without_garp"])
    assert "arp/migrate_without_garp" in e.value.message and "expect a failure" in e.value.message
    assert f"--procedure NAME={runbook}" in str(e.value.hint) and "migrate_with_garp" in str(e.value.hint)
    check_procedure(f"migrate_with_garp={runbook}", ["arp"], ["arp/migrate_without_garp"])  # NAME= is precise


# -- playbooks run for real -------------------------------------------------------------------------------------

needs_ansible = pytest.mark.skipif(ansible_playbook() is None, reason="ansible is not installed (opslab[ansible])")


@pytest.fixture
def local_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab's hosts reached with Ansible's `local` connection: the playbook runs here, no Docker."""

    def local(lab_: Any, facts: Any = None) -> dict[str, Any]:
        hosts = {h: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for h in HOSTS}
        return {"all": {"hosts": hosts, "children": {"servers": {"hosts": {"old": None, "new": None}}}, "vars": facts}}

    monkeypatch.setattr(lab.ansible.inventory, "inventory", local)


@pytest.fixture
def fake_lab(fake_lab):  # type: ignore[no-untyped-def]
    """A real lab's facts include its project (a playbook's command shows `opslab inventory {project}`)."""
    fake_lab._facts["project"] = fake_lab.project
    return fake_lab


class CountingInvariant(Invariant):
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def evaluate(self, run: ScenarioRun) -> CheckResult:
        with self.lock:
            self.calls += 1
        return self.result(True, "held")


PLAY = """
- name: move
  hosts: servers
  gather_facts: false
  tasks:
    - name: say where
      ansible.builtin.command: echo {{ inventory_hostname }} {{ vip }}
      changed_when: false
    - name: change something
      ansible.builtin.command: "true"
      notify: announce
      when: inventory_hostname == 'new'
  handlers:
    - name: announce
      ansible.builtin.command: echo announced
"""


@needs_ansible
def test_every_task_on_every_host_is_a_step_with_invariants_after_each(fake_lab, local_inventory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = load_playbook(write(tmp_path, "move.yml", PLAY), HOSTS, GROUPS)
    run = ScenarioRun("fake/x", fake_lab, procedures={"move": proc})
    inv = CountingInvariant()
    run.watch(inv)
    run.procedure("move")
    run.close()
    got = [(s.host, s.title, s.outcome, s.ok) for s in run.steps]
    assert sorted(got[:2]) == [("new", "say where", "ok", True), ("old", "say where", "ok", True)]
    assert sorted(got[2:4]) == [
        ("new", "change something", "changed", True),
        ("old", "change something", "skipped", True),
    ]
    assert got[4:] == [("new", "handler: announce", "changed", True)]
    say_new = next(s for s in run.steps if s.host == "new" and s.title == "say where")
    assert say_new.stdout.strip() == "new 10.9.0.100" and say_new.rc == 0
    assert say_new.command == "echo new 10.9.0.100"  # the command line as typed (rendered by Ansible)
    assert say_new.how == "ansible ansible.builtin.command: ok"
    assert all(s.duration_s >= 0 and s.started >= run.started for s in run.steps)
    assert run.history.to_dicts()  # the steps are in the history the report draws its timeline from
    assert [e["name"] for e in run.history.to_dicts() if e["kind"] == "step"] == [s.title for s in run.steps]
    assert run.watching.samples["CountingInvariant"] >= len(run.steps)  # sampled after every task (and in between)


FAILING = """
- hosts: old
  gather_facts: false
  tasks:
    - name: tolerated
      ansible.builtin.command: "false"
      ignore_errors: true
    - name: breaks
      ansible.builtin.shell: echo out; echo why >&2; exit 3
    - name: never runs
      ansible.builtin.command: "true"
"""


@needs_ansible
def test_a_failed_task_stops_the_procedure_like_a_failed_step(fake_lab, local_inventory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = load_playbook(write(tmp_path, "f.yml", FAILING), HOSTS, GROUPS)
    run = ScenarioRun("fake/x", fake_lab, procedures={"f": proc})
    with pytest.raises(StepFailed) as e:
        run.procedure("f")
    assert "task failed on old: breaks" in e.value.message and "why" in e.value.message
    assert [(s.title, s.outcome, s.ok, s.rc) for s in run.steps] == [
        ("tolerated", "failed (ignored)", True, 1),
        ("breaks", "failed", False, 3),
    ]
    assert run.steps[1].stdout.strip() == "out" and "why" in run.steps[1].stderr


@needs_ansible
def test_check_is_passed_to_ansible(fake_lab, local_inventory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "made"
    play = write(
        tmp_path,
        "c.yml",
        "- hosts: old\n  gather_facts: false\n  tasks:\n"
        f"    - name: make\n      ansible.builtin.file: path={marker} state=touch\n",
    )
    proc = load_playbook(play, HOSTS, GROUPS, check=True)
    assert proc.steps[0].command.endswith(" --check")
    run = ScenarioRun("fake/x", fake_lab, procedures={"c": proc})
    run.procedure("c")
    assert not marker.exists()  # a dry run changes nothing
    assert [(s.title, s.outcome, s.how) for s in run.steps] == [
        ("make", "changed", "ansible ansible.builtin.file --check: changed")
    ]


@needs_ansible
def test_a_playbook_that_breaks_before_any_task_fails_as_a_step(fake_lab, local_inventory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    play = write(tmp_path, "b.yml", "- hosts: old\n  gather_facts: false\n  tasks:\n    - nosuch_module_x: {}\n")
    run = ScenarioRun("fake/x", fake_lab, procedures={"b": load_playbook(play, HOSTS, GROUPS)})
    with pytest.raises(StepFailed, match="ansible-playbook exited 4 before any task failed"):
        run.procedure("b")
    assert "nosuch_module_x" in run.steps[-1].stdout


def test_the_command_line_refuses_a_playbook_for_hosts_the_lab_lacks_before_any_lab_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lab.lifecycle

    monkeypatch.setattr(lab.lifecycle.Lab, "up", lambda *a, **k: pytest.fail("a lab was started"))
    play = write(tmp_path, "p.yml", "- hosts: slaves\n  tasks: []\n")
    argv = ["run", "arp/migrate_with_garp", "--procedure", f"migrate_with_garp={play}", "--report", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "runs on slaves, which the lab does not have" in err and "Hint: its hosts: gateway, old, new, client" in err
    assert main(["run", "arp", "--procedure", str(write(tmp_path, "ok.yml", "- hosts: new\n  tasks: []\n"))]) == 2
    assert "expect a failure" in capsys.readouterr().err
    assert main(["run", "arp/migrate_with_garp", "--check"]) == 2
    assert "--check is Ansible's dry run" in capsys.readouterr().err


def test_tasks_ran_judges_the_recorded_tasks(fake_lab) -> None:  # type: ignore[no-untyped-def]
    run = ScenarioRun("fake/x", fake_lab)
    t = 1000.0
    for host, title, ok, outcome in [("old", "remove", True, "changed"), ("new", "add", False, "failed")]:
        run.record_step(
            Step(host, "ansible.builtin.command: x", title, rendered=True),
            rc=0 if ok else 2,
            ok=ok,
            started=t,
            ended=t + 1,
            why="" if ok else "task failed: boom",
            how=f"ansible: {outcome}",
            outcome=outcome,
        )
    assert TasksRan([("old", "remove")]).evaluate(run.view).verdict == "pass"
    r = TasksRan([("old", "remove"), ("new", "add"), ("new", "handler: announce")]).evaluate(run.view)
    assert r.verdict == "fail"
    assert r.detail == "never ran: [new] handler: announce; failed: [new] add: task failed: boom"
    run.step(Step("old", "true", "remove"))  # the same title, not run through Ansible: not a task
    assert TasksRan([("gateway", "remove")]).evaluate(run.view).verdict == "fail"


GOES_ON = """
- hosts: servers
  gather_facts: false
  any_errors_fatal: false
  tasks:
    - name: fails on old
      ansible.builtin.command: "true"
      failed_when: inventory_hostname == 'old'
    - name: would go on with new
      ansible.builtin.command: "true"
"""


@needs_ansible
def test_a_play_that_would_go_on_after_a_failed_task_is_stopped(fake_lab, local_inventory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = ScenarioRun(
        "fake/x", fake_lab, procedures={"g": load_playbook(write(tmp_path, "g.yml", GOES_ON), HOSTS, GROUPS)}
    )
    with pytest.raises(StepFailed, match="task failed on old: fails on old"):
        run.procedure("g")
    assert sorted((s.host, s.title, s.ok) for s in run.steps) == [
        ("new", "fails on old", True),
        ("old", "fails on old", False),
    ]
    notes = [e["detail"] for e in run.history.to_dicts() if e["kind"] == "note"]
    assert any("stopped after the failed task 'fails on old'" in n for n in notes)

"""Ansible against a real lab: `opslab inventory` serves `ansible all -m ping` on every host, groups and facts
included; a lab kept with non-default parameters gives its own facts (from its labels, not the defaults)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.ansible.playbook import ansible_playbook
from lab.lifecycle import Lab
from lab.spec import ROOT, get_spec

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(ansible_playbook() is None, reason="ansible is not installed (opslab[ansible])"),
]
ANSIBLE = str(Path(sys.executable).parent / "ansible")


def inventory_of(target: str) -> str:
    p = subprocess.run(
        [sys.executable, "-m", "lab", "inventory", target], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("lab_name, group", [("arp", "servers"), ("mysql", "slaves")])
def test_the_inventory_of_a_running_lab_serves_ansible_ping_on_every_host(
    lab_name: str, group: str, tmp_path: Path
) -> None:
    spec = get_spec(lab_name)
    params = {"delay_first_probe_s": "7"} if lab_name == "arp" else {}
    with Lab(spec, params=params) as lab:
        text = inventory_of(lab.project)
        inv = yaml.safe_load(text)
        assert list(inv["all"]["hosts"]) == spec.hosts
        assert inv["all"]["vars"] == json.loads(json.dumps(lab.facts()))  # the same facts the lab's procedures use
        if lab_name == "arp":
            assert inv["all"]["vars"]["lifetime_s"] == 10.0  # 7 s + 3 probes × 1 s: the instance's, not the default
        path = tmp_path / "inventory.yml"
        path.write_text(text)
        p = subprocess.run(
            [ANSIBLE, "-i", str(path), "all", "-m", "ansible.builtin.ping"],
            capture_output=True,
            text=True,
            timeout=300,
            env={"ANSIBLE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1"},
        )
        assert p.returncode == 0, p.stdout + p.stderr
        for host in spec.hosts:
            assert f"{host} | SUCCESS" in p.stdout, p.stdout
        p = subprocess.run(
            [ANSIBLE, "-i", str(path), group, "-m", "ansible.builtin.debug", "-a", "var=project"],
            capture_output=True,
            text=True,
            timeout=300,
            env={"ANSIBLE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1"},
        )
        assert p.returncode == 0, p.stdout + p.stderr
        assert sorted(line.split(" |")[0] for line in p.stdout.splitlines() if " | SUCCESS" in line) == sorted(
            spec.groups[group]
        )
        assert f'"project": "{lab.project}"' in p.stdout

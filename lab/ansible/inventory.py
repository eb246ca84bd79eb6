"""A running lab as an Ansible inventory.

Contract: `inventory(lab, facts)` returns the inventory as a dict in Ansible's YAML inventory layout and reads
only the lab (its containers' names); `to_yaml` writes it. Every lab host is an inventory host of the same name
(`old`, `slave1`, `alpha`), reached with `docker exec` into its container through the `community.docker.docker`
connection plugin with the image's `/usr/bin/python3`; each group of `LabSpec.groups` (`slaves`, `nodes`) is a
child group of `all`; the lab's facts (`vip`, `gateway_ip`, `master_ip`, `project`...) are variables of `all`.
A host without a container (not running) is refused: an inventory pointing nowhere would fail later, obscurely.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from lab import dockerapi
from lab.errors import OpslabError
from lab.lifecycle import LABEL_PROJECT, Lab

CONNECTION = "community.docker.docker"
PYTHON = "/usr/bin/python3"  # every lab image carries it (compose/*/Dockerfile)


def containers(project: str) -> dict[str, str]:
    """{host: container name} of a project's running containers."""
    found = dockerapi.client().containers.list(filters={"label": f"{LABEL_PROJECT}={project}"})
    return {str(c.labels.get("com.docker.compose.service")): str(c.name) for c in found}


def _value(v: Any) -> Any:
    return v if isinstance(v, str | int | float | bool) or v is None else str(v)


def build(
    hosts: list[str], names: Mapping[str, str], groups: Mapping[str, tuple[str, ...]], facts: Mapping[str, Any]
) -> dict[str, Any]:
    """The inventory of hosts whose containers are `names`, with `groups` and `facts` (no Docker: unit-testable)."""
    missing = [h for h in hosts if h not in names]
    if missing:
        raise OpslabError(
            f"host {', '.join(missing)} has no running container", "`opslab status` shows the instance's hosts"
        )
    return {
        "all": {
            "hosts": {
                h: {"ansible_connection": CONNECTION, "ansible_host": names[h], "ansible_python_interpreter": PYTHON}
                for h in hosts
            },
            "children": {g: {"hosts": {h: None for h in members}} for g, members in groups.items()},
            "vars": {k: _value(v) for k, v in facts.items()},
        }
    }


def inventory(lab: Lab, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The inventory of a running lab (`facts`: the lab's, when the caller has them already)."""
    return build(lab.spec.hosts, containers(lab.project), lab.spec.groups, lab.facts() if facts is None else facts)


def to_yaml(inv: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(inv), sort_keys=False, default_flow_style=False)

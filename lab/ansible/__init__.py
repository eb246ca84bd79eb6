"""Ansible against a lab: its inventory, playbooks as procedures, and the callback plugin that records each task.

- `lab.ansible.inventory`: a running lab as an Ansible inventory (YAML): one host per lab host, reached with
  `docker exec` through the `community.docker.docker` connection plugin, groups by role (`LabSpec.groups`), the
  lab's facts as variables of `all` (`opslab inventory LAB|PROJECT`);
- `lab.ansible.playbook`: `--procedure [NAME=]PLAYBOOK.yml` loaded (host patterns checked against the lab before it
  starts) and run with `ansible-playbook`, every task on every host a step of the run;
- `lab/ansible/callback_plugins/opslab.py`: the callback plugin (Ansible's own API) that hands each task's result
  to the run as it happens and waits until the run has recorded it, so the next task starts after the record.

Ansible comes from PyPI (`pip install 'opslab[ansible]'`, which `make` installs): the `ansible` package carries
the `community.docker` collection.
"""

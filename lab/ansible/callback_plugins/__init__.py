"""Ansible plugins opslab enables (ANSIBLE_CALLBACK_PLUGINS points here): opslab.py, the task recorder."""

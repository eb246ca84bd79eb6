"""opslab's Ansible callback plugin: every task's result on every host, handed to the opslab run as it happens.

Contract (Ansible's callback plugin API, enabled by opslab with ANSIBLE_CALLBACKS_ENABLED=opslab and found through
ANSIBLE_CALLBACK_PLUGINS; it changes nothing in what Ansible prints): when OPSLAB_ANSIBLE_EVENTS names a Unix
socket, the plugin connects to it at the start of the playbook and sends one JSON line per event:
- `{"event": "result", "host", "task", "handler", "action", "args", "status", "ignored", "rc", "stdout",
  "stderr", "msg", "started", "ended", "check_mode"}` for each task on each host, `status` being one of ok,
  changed, failed, skipped, unreachable; `started` is when the task began on that host (v2_runner_on_start);
- `{"event": "stats", "hosts": {host: {ok, changed, failures, unreachable, skipped}}}` at the end.
After a `result` it waits for opslab's answer line (the run has recorded the task as a step and started sampling
its invariants), so the next task starts only after that. Nothing else: no output is parsed by opslab.
Without OPSLAB_ANSIBLE_EVENTS the plugin does nothing.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: opslab
type: notification
short_description: hands each task's result to an opslab run
description:
  - Sends every task result on every host to the opslab run that started ansible-playbook, as JSON lines on the
    Unix socket named by OPSLAB_ANSIBLE_EVENTS, and waits until opslab has recorded it.
requirements:
  - run by opslab (lab.ansible.playbook)
"""

OUTPUT_LIMIT = 20000  # characters of stdout/stderr per task sent to the run


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)[-OUTPUT_LIMIT:]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "opslab"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sock: socket.socket | None = None
        self._reader: Any = None
        self._started: dict[tuple[str, str], float] = {}
        self._handler_tasks: set[str] = set()
        path = os.environ.get("OPSLAB_ANSIBLE_EVENTS")
        if path:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(path)
            self._reader = self._sock.makefile("r", encoding="utf-8")

    def _send(self, event: dict[str, Any], answer: bool) -> None:
        if self._sock is None:
            return
        self._sock.sendall((json.dumps(event, default=str) + "\n").encode())
        if answer:
            self._reader.readline()  # opslab has recorded it (an empty line: opslab is gone; go on)

    # -- when a task begins on a host ----------------------------------------------------------------
    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._handler_tasks.add(task._uuid)

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._started[(host.get_name(), task._uuid)] = time.time()

    # -- its result --------------------------------------------------------------------------------
    def _result(self, result: Any, status: str, ignored: bool = False) -> None:
        host = getattr(result, "host", None) or result._host
        task = getattr(result, "task", None) or result._task
        data = dict(getattr(result, "result", None) or result._result)
        if status == "ok" and data.get("changed"):
            status = "changed"
        items = data.get("results") if isinstance(data.get("results"), list) else None
        stdout, stderr, msg = data.get("stdout"), data.get("stderr"), data.get("msg")
        if items is not None and stdout is None:  # a loop: each item's output, in order
            stdout = [i.get("stdout", "") for i in items if isinstance(i, dict)]
            stderr = [i.get("stderr", "") for i in items if isinstance(i, dict)]
            msg = msg or "; ".join(str(i["msg"]) for i in items if isinstance(i, dict) and i.get("msg"))
        name = host.get_name()
        ended = time.time()
        self._send(
            {
                "event": "result",
                "host": name,
                "task": task.get_name(),
                "handler": task._uuid in self._handler_tasks,
                "action": task.action,
                "args": {k: v for k, v in (task.args or {}).items() if not str(k).startswith("_ansible")},
                "status": status,
                "ignored": ignored,
                "rc": data.get("rc"),
                "stdout": _text(stdout),
                "stderr": _text(stderr),
                "msg": _text(msg),
                "started": self._started.pop((name, task._uuid), ended),
                "ended": ended,
                "check_mode": bool(getattr(task, "check_mode", False)) or bool(self._check_mode()),
            },
            answer=True,
        )

    def _check_mode(self) -> bool:
        from ansible import context

        return bool(context.CLIARGS.get("check", False))

    def v2_runner_on_ok(self, result: Any) -> None:
        self._result(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._result(result, "failed", ignored=ignore_errors)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._send({"event": "stats", "hosts": hosts}, answer=False)
        if self._sock is not None:
            self._sock.close()
            self._sock = None

"""History: the append-only record of one scenario run.

Every doer (step, fault, workload) and every judge (invariant, check) appends an `Event` with the wall-clock
time it happened; nothing is ever changed or removed. Checks read the history; the report writes it out as
history.jsonl and draws its timeline from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("lab", "step", "fault", "heal", "workload", "op", "check", "invariant", "metric", "note")


@dataclass(frozen=True)
class Event:
    t: float
    kind: str
    name: str
    host: str | None = None
    ok: bool | None = None
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("data")
        d.update({k: v for k, v in extra.items() if k not in d})
        return d


class History:
    """Thread-safe append-only list of events (workloads append from their own threads)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def add(
        self,
        kind: str,
        name: str,
        *,
        host: str | None = None,
        ok: bool | None = None,
        detail: str = "",
        t: float | None = None,
        **data: Any,
    ) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}; one of {', '.join(KINDS)}")
        event = Event(self._clock() if t is None else t, kind, name, host, ok, detail, data)
        with self._lock:
            self._events.append(event)
        return event

    def events(self, kind: str | None = None, name: str | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self._events if (kind is None or e.kind == kind) and (name is None or e.name == name)]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def to_dicts(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in sorted(self.events(), key=lambda e: e.t)]

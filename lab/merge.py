"""Joining report folders: the shards of one selection, run by N CI jobs, into one report (`opslab report merge`).

Contract: `merge_reports(folders, out)` reads each folder as lab.report writes it (results.json, history.jsonl,
logs/<lab>/<scenario>/<host>.log) and writes one report folder at `out` with lab.report's `write_report`:
results.json, junit.xml, history.jsonl, logs and report.html, as one run of the whole selection would have
written them. Scenarios are in the catalog's order (labs, then their files and functions: the order `opslab
run` selects them in); ids the catalog does not know keep the order the folders gave them, after those. A
scenario in two folders is refused (shards are disjoint), and so is a folder without a readable results.json;
both before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lab.errors import UsageError
from lab.report import safe_name, write_report


def read_report(folder: Path) -> list[dict[str, Any]]:
    """The scenarios of a report folder as write_report takes them: results.json's entries with their history
    (history.jsonl's events tagged with their id, tag removed) and their hosts' logs."""
    folder = Path(folder)
    results = folder / "results.json"
    try:
        scenarios = list(json.loads(results.read_text())["scenarios"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{results} cannot be read ({type(exc).__name__})", "name report folders that `opslab run` wrote"
        ) from None
    history: dict[str, list[dict[str, Any]]] = {}
    history_file = folder / "history.jsonl"
    if history_file.exists():
        for line in history_file.read_text().splitlines():
            if line.strip():
                event = json.loads(line)
                history.setdefault(str(event.pop("scenario", "")), []).append(event)
    for s in scenarios:
        sid = str(s.get("id"))
        s["history"] = history.get(sid, [])
        lab, _, name = sid.partition("/")
        logs = folder / "logs" / safe_name(s.get("lab") or lab) / safe_name(name or sid)
        s["logs"] = {p.stem: p.read_text(errors="replace") for p in sorted(logs.glob("*.log"))}
    return scenarios


def catalog_rank() -> dict[str, int]:
    from lab.catalog import scenario_ids
    from lab.spec import lab_names

    return {sid: i for i, sid in enumerate(sid for lab in lab_names() for sid in scenario_ids(lab))}


def merge_reports(folders: Iterable[Path], out: Path, *, title: str = "opslab run (merged)") -> Path:
    """Write one report folder at `out` from the report folders of disjoint shards; returns `out`."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    order: list[str] = []
    for folder in folders:
        for s in read_report(folder):
            sid = str(s.get("id"))
            if sid in found:
                raise UsageError(
                    f"scenario {sid} is in both {found[sid][0]} and {folder}",
                    "merge the reports of disjoint shards (--shard 1/N ... N/N of one selection)",
                )
            found[sid] = (Path(folder), s)
            order.append(sid)
    rank = catalog_rank()
    ordered = sorted(order, key=lambda sid: (rank.get(sid, len(rank)), order.index(sid)))
    return write_report(Path(out), [found[sid][1] for sid in ordered], title=title)

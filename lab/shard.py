"""Shards: a selection split across CI jobs (`opslab run ... --shard K/N`, `pytest --opslab-shard K/N`).

Contract: `shard(keys, durations, k, n)` returns the keys of the K-th of N parts (1 ≤ K ≤ N) of a selection,
in the selection's order. The N parts are disjoint and together the whole selection, whatever the durations; the
split depends only on the selection and the durations, so N CI jobs of one commit, each computing its own part,
agree without talking to each other. Parts are balanced by recorded durations (longest first, each to the part
with the least time so far; ties by key, then by the lowest part); a key without a recorded duration counts as
the median of the recorded ones (60 s when none is).

The durations are kept in the repo (`DURATIONS_FILE`, scenarios/durations.json: `{"durations": {id: seconds}}`)
and refreshed from report folders by `opslab report durations DIR...` (`record_durations`): each scenario's
`duration_s` in results.json, scenarios whose verdict is `error` left as they were (a broken run is no measure).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path

from lab.errors import UsageError
from lab.spec import ROOT

DURATIONS_FILE = ROOT / "scenarios" / "durations.json"
DEFAULT_S = 60.0


def parse_shard(text: str, option: str = "--shard") -> tuple[int, int]:
    """`K/N` as (K, N), refused unless 1 ≤ K ≤ N."""
    k_text, sep, n_text = str(text).partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not sep or not 1 <= k <= n:
        raise UsageError(
            f"{option} {text!r} is not K/N with 1 ≤ K ≤ N", f"for example {option} 1/4 ... {option} 4/4 in 4 CI jobs"
        )
    return k, n


def load_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """The recorded durations, {} when there are none; a file that is not what record_durations writes is refused."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        return {str(k): float(v) for k, v in data["durations"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"{path} is not a durations file ({type(exc).__name__})",
            "write it anew with `opslab report durations REPORT_DIR...`",
        ) from None


def assign(keys: list[str], durations: dict[str, float], n: int) -> dict[str, int]:
    """{key: its part, 0..n-1}: longest first, each to the part with the least time so far."""
    known = [durations[k] for k in keys if k in durations]
    default = statistics.median(known) if known else DEFAULT_S
    cost = {k: max(0.0, durations.get(k, default)) for k in keys}
    loads = [0.0] * n
    out: dict[str, int] = {}
    for key in sorted(set(keys), key=lambda k: (-cost[k], k)):
        part = min(range(n), key=lambda i: (loads[i], i))
        out[key] = part
        loads[part] += cost[key]
    return out


def shard(keys: list[str], durations: dict[str, float], k: int, n: int) -> list[str]:
    """The keys of part K of N (1-based), in the order given."""
    parts = assign(keys, durations, n)
    return [key for key in keys if parts[key] == k - 1]


def record_durations(reports: Iterable[Path], path: Path = DURATIONS_FILE) -> dict[str, float]:
    """Update the durations file from report folders (later folders win); returns what it holds now."""
    durations = load_durations(path)
    for folder in reports:
        results = Path(folder) / "results.json"
        try:
            scenarios = json.loads(results.read_text())["scenarios"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"cannot read {results} ({type(exc).__name__})", "name report folders that `opslab run` wrote"
            ) from None
        for s in scenarios:
            if s.get("verdict") != "error" and isinstance(s.get("duration_s"), (int, float)):
                durations[str(s["id"])] = round(float(s["duration_s"]), 1)
    text = json.dumps({"durations": dict(sorted(durations.items()))}, indent=1) + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return durations

"""Shards: disjoint, complete, deterministic and balanced by recorded durations; bad K/N refused with a Hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.errors import UsageError
from lab.shard import assign, load_durations, parse_shard, record_durations, shard

keys_st = st.lists(st.text("abcdef/_", min_size=1, max_size=8), unique=True, max_size=30)
durations_st = st.dictionaries(st.text("abcdef/_", min_size=1, max_size=8), st.floats(0, 500), max_size=30)


@given(keys_st, durations_st, st.integers(1, 6))
def test_the_parts_are_disjoint_complete_and_in_the_selections_order(keys, durations, n) -> None:  # type: ignore[no-untyped-def]
    parts = [shard(keys, durations, k, n) for k in range(1, n + 1)]
    flat = [key for part in parts for key in part]
    assert sorted(flat) == sorted(keys) and len(flat) == len(set(flat))
    for part in parts:
        assert part == [key for key in keys if key in part]
    assert parts == [shard(list(keys), dict(durations), k, n) for k in range(1, n + 1)]  # deterministic


def test_parts_are_balanced_by_recorded_durations() -> None:
    durations = {"a": 100.0, "b": 60.0, "c": 50.0, "d": 10.0}
    parts = assign(list(durations), durations, 2)
    assert parts == {"a": 0, "b": 1, "c": 1, "d": 0}  # 110 s and 110 s, not a, b | c, d (160 s and 60 s)
    # a scenario nobody timed counts as the median of the recorded ones
    assert assign(["a", "new", "d"], {"a": 100.0, "d": 10.0}, 2) == {"a": 0, "new": 1, "d": 1}


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", ""])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_shard(text)
    assert "is not K/N" in str(exc.value) and exc.value.hint


def test_durations_are_recorded_from_reports_and_errors_left_out(tmp_path: Path) -> None:
    file = tmp_path / "durations.json"
    file.write_text(json.dumps({"durations": {"arp/x": 5.0, "arp/y": 7.0}}))
    report = tmp_path / "r"
    report.mkdir()
    scenarios = [
        {"id": "arp/x", "verdict": "fail", "duration_s": 12.34},
        {"id": "arp/y", "verdict": "error", "duration_s": 0.5},
        {"id": "mysql/z", "verdict": "pass", "duration_s": 8.0},
    ]
    (report / "results.json").write_text(json.dumps({"scenarios": scenarios}))
    assert record_durations([report], file) == {"arp/x": 12.3, "arp/y": 7.0, "mysql/z": 8.0}
    assert load_durations(file) == {"arp/x": 12.3, "arp/y": 7.0, "mysql/z": 8.0}
    file.write_text("[]")
    with pytest.raises(UsageError, match="is not a durations file"):
        load_durations(file)
    with pytest.raises(UsageError, match="cannot read"):
        record_durations([tmp_path / "nosuch"], tmp_path / "d2.json")

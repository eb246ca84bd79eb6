"""Regression diffs: `opslab diff REPORT_A REPORT_B`, what changed from one run to the next, scenario by scenario.

Contract: `diff_reports(a, b)` reads two report folders (or their `results.json`) and nothing else, and returns a
`ReportDiff`; `render(diff, "text" | "markdown" | "json")` writes it. Per scenario id present in either report:
- the verdicts (`pass → fail`);
- each check's verdict in A and in B, with the verdict it was expected to give (checks are matched by name and
  by order among checks of the same name; a check in one report only is shown with `—` for the other);
- each metric with its change (`outage_s 0.07 → 6.2 (+6.13)`);
- steps added and removed, a step being its host and its title (its command when it has none), counted: a step
  run twice in B and once in A is one step added. Commands are not compared (they carry each lab's addresses).

B regressed against A (`ReportDiff.regressed`, `opslab diff` exits 1) when a scenario's verdict went from `pass`
to `fail`, `error` or `unknown`, or a check that gave its expected verdict in A no longer does in B (for a check
expected to pass: from pass to fail or unknown). A scenario in one report only is listed, not counted as a
regression (the two runs selected different scenarios). Unreadable input is a `UsageError` with a `Hint:`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import UsageError

MISSING = "—"


@dataclass
class CheckChange:
    name: str
    a: str  # the verdict in A, or MISSING
    b: str
    expected_a: str
    expected_b: str
    regressed: bool


@dataclass
class MetricChange:
    name: str
    a: float | None
    b: float | None

    @property
    def change(self) -> float | None:
        return None if self.a is None or self.b is None else round(self.b - self.a, 3)


@dataclass
class ScenarioDiff:
    id: str
    verdict_a: str
    verdict_b: str
    checks: list[CheckChange] = field(default_factory=list)
    metrics: list[MetricChange] = field(default_factory=list)
    steps_added: list[str] = field(default_factory=list)
    steps_removed: list[str] = field(default_factory=list)

    @property
    def verdict_regressed(self) -> bool:
        return self.verdict_a == "pass" and self.verdict_b in ("fail", "error", "unknown")

    @property
    def regressed(self) -> bool:
        return self.verdict_regressed or any(c.regressed for c in self.checks)


@dataclass
class ReportDiff:
    a: str
    b: str
    scenarios: list[ScenarioDiff]

    @property
    def regressed(self) -> bool:
        return any(s.regressed for s in self.scenarios)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "regressed": self.regressed,
            "scenarios": [
                {
                    **asdict(s),
                    "regressed": s.regressed,
                    "metrics": [{**asdict(m), "change": m.change} for m in s.metrics],
                }
                for s in self.scenarios
            ],
        }


def load_results(path: str | Path) -> dict[str, dict[str, Any]]:
    """{scenario id: its results.json entry} of a report folder (or a results.json)."""
    p = Path(path)
    results = p / "results.json" if p.is_dir() else p
    hint = "give a report folder that `opslab run --report DIR` wrote (it holds results.json)"
    if not results.is_file():
        raise UsageError(f"{path} is not a report folder: no {results.name} in it", hint)
    try:
        data = json.loads(results.read_text())
        scenarios = data["scenarios"]
        return {str(s["id"]): s for s in scenarios}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read {results}: {type(exc).__name__}: {exc}", hint) from None


def _checks(s: Mapping[str, Any]) -> dict[tuple[str, int], Mapping[str, Any]]:
    seen: Counter[str] = Counter()
    out = {}
    for c in s.get("checks") or []:
        name = str(c.get("name"))
        out[(name, seen[name])] = c
        seen[name] += 1
    return out


def _step(s: Mapping[str, Any]) -> str:
    return f"[{s.get('host')}] {s.get('title') or s.get('command')}"


def scenario_diff(sid: str, a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> ScenarioDiff:
    d = ScenarioDiff(sid, str(a["verdict"]) if a else MISSING, str(b["verdict"]) if b else MISSING)
    if a is None or b is None:
        return d
    ca, cb = _checks(a), _checks(b)
    for key in [*ca, *(k for k in cb if k not in ca)]:
        x, y = ca.get(key), cb.get(key)
        va, vb = (str(x["verdict"]) if x else MISSING), (str(y["verdict"]) if y else MISSING)
        ea, eb = (str(x.get("expected", "pass")) if x else MISSING), (str(y.get("expected", "pass")) if y else MISSING)
        suffix = f" #{key[1] + 1}" if key[1] else ""
        d.checks.append(CheckChange(key[0] + suffix, va, vb, ea, eb, x is not None and va == ea and vb != ea))
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    for name in [*ma, *(k for k in mb if k not in ma)]:
        d.metrics.append(MetricChange(name, ma.get(name), mb.get(name)))
    sa, sb = Counter(map(_step, a.get("steps") or [])), Counter(map(_step, b.get("steps") or []))
    d.steps_added = sorted((sb - sa).elements())
    d.steps_removed = sorted((sa - sb).elements())
    return d


def diff_reports(a: str | Path, b: str | Path) -> ReportDiff:
    ra, rb = load_results(a), load_results(b)
    ids = [*ra, *(i for i in rb if i not in ra)]
    return ReportDiff(str(a), str(b), [scenario_diff(i, ra.get(i), rb.get(i)) for i in ids])


def _num(v: float | None) -> str:
    return MISSING if v is None else f"{v:g}"


def _metric(m: MetricChange) -> str:
    change = m.change
    delta = f" ({change:+g})" if change else ""
    return f"{m.name} {_num(m.a)} → {_num(m.b)}{delta}"


def _regressions(d: ReportDiff) -> list[str]:
    out = []
    for s in d.scenarios:
        if s.regressed:
            what = [c.name for c in s.checks if c.regressed]
            verdict = f"{s.verdict_a} → {s.verdict_b}"
            out.append(f"{s.id} ({verdict}" + (f"; {', '.join(what)}" if what else "") + ")")
    return out


def render_text(d: ReportDiff) -> str:
    lines = [f"opslab diff {d.a} → {d.b}"]
    for s in d.scenarios:
        mark = "  REGRESSED" if s.regressed else ("" if s.verdict_a == s.verdict_b else "  changed")
        lines.append(f"\n{s.id}: {s.verdict_a} → {s.verdict_b}{mark}")
        if MISSING in (s.verdict_a, s.verdict_b):
            lines.append(f"  only in {'B' if s.verdict_a == MISSING else 'A'}")
            continue
        for c in s.checks:
            flag = "  REGRESSED" if c.regressed else ("  changed" if c.a != c.b else "")
            lines.append(
                f"  check {c.name}: {c.a} → {c.b} (expected {c.expected_b if c.b != MISSING else c.expected_a}){flag}"
            )
        for m in s.metrics:
            lines.append(f"  metric {_metric(m)}")
        lines += [f"  step added:   {x}" for x in s.steps_added]
        lines += [f"  step removed: {x}" for x in s.steps_removed]
    regressions = _regressions(d)
    lines.append("")
    lines.append(f"regressed: {'; '.join(regressions)}" if regressions else "no regression")
    return "\n".join(lines) + "\n"


def _md(text: object) -> str:
    return str(text).replace("|", "\\|")


def render_markdown(d: ReportDiff) -> str:
    regressions = _regressions(d)
    lines = [
        f"### opslab diff: `{_md(d.a)}` → `{_md(d.b)}`",
        "",
        f"**Regressed**: {_md('; '.join(regressions))}" if regressions else "**No regression**",
        "",
        "| scenario | A | B | |",
        "| --- | --- | --- | --- |",
    ]
    for s in d.scenarios:
        flag = "❌ regressed" if s.regressed else ("" if s.verdict_a == s.verdict_b else "changed")
        lines.append(f"| `{_md(s.id)}` | {s.verdict_a} | {s.verdict_b} | {flag} |")
    for s in d.scenarios:
        if not (s.checks or s.metrics or s.steps_added or s.steps_removed):
            continue
        lines += ["", f"#### `{_md(s.id)}`: {s.verdict_a} → {s.verdict_b}", ""]
        if s.checks:
            lines += ["| check | A | B | expected | |", "| --- | --- | --- | --- | --- |"]
            for c in s.checks:
                flag = "❌ regressed" if c.regressed else ("changed" if c.a != c.b else "")
                expected = c.expected_b if c.b != MISSING else c.expected_a
                lines.append(f"| {_md(c.name)} | {c.a} | {c.b} | {expected} | {flag} |")
        if s.metrics:
            lines += ["", "| metric | A | B | change |", "| --- | --- | --- | --- |"]
            for m in s.metrics:
                change = MISSING if m.change is None else (f"{m.change:+g}" if m.change else "0")
                lines.append(f"| {_md(m.name)} | {_num(m.a)} | {_num(m.b)} | {change} |")
        if s.steps_added or s.steps_removed:
            lines.append("")
            lines += [f"- step added: `{_md(x)}`" for x in s.steps_added]
            lines += [f"- step removed: `{_md(x)}`" for x in s.steps_removed]
    return "\n".join(lines) + "\n"


def render(d: ReportDiff, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(d.to_dict(), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(d)
    if fmt == "text":
        return render_text(d)
    raise UsageError(f"no diff format {fmt!r}", "use --format text, markdown or json")

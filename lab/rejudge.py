"""`opslab rejudge REPORT_DIR`: judge a past run again with today's checks, from its recorded history alone.

Contract: `rejudge(folder)` reads a report folder (results.json, history.jsonl, logs/<lab>/<scenario>/<host>.log)
and nothing else (no lab is started, no engine is asked), and returns a `Rejudged`; `render(r, "text" | "json")`
writes it. For each scenario of results.json, each check it judged is matched (by name and order among checks of
that name) with its `check` event in history.jsonl, which holds the check's recipe (lab.checks: its class and
arguments). Then:

- a check whose class declares `from_history = True` is made again from its recipe with today's code of its class
  and evaluated on a `RecordedView` (lab.view) of the run as it stood when the check was first judged: the steps,
  faults, workload operations, metrics and events recorded by then. Its new verdict and detail replace the old;
- any other check is NOT rejudged, and says why: `cannot rejudge: needs the lab` (it reads a host: only the live
  lab can answer; an invariant is sampled from it all through a run), or the run recorded no recipe for it (a run
  older than rejudge, or an argument JSON cannot hold), or its class is gone or no longer takes those arguments.
  It keeps its old verdict, shown as kept, never as a new pass;
- a check that raises anything but an `OpslabError` (which makes it `unknown`, as in a live run) breaks the
  rejudging of its scenario: the scenario's new verdict is `error`, naming the check and what it raised.

A scenario's new verdict follows the rule of a live run (lab.records `scenario_verdict`) over the new and kept
verdicts; a scenario that was `error` stays `error` (the run itself broke: rejudging does not mend it), one whose
step failed stays at least `fail`. `Rejudged.changed` is whether any check's verdict or detail, or any scenario's
verdict, differs from the report's; `opslab rejudge` then exits 1 (0 when nothing changed). A folder that is not a
report (missing, no results.json or history.jsonl, unreadable JSON) is a `UsageError` with a `Hint:`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.checks import Check, CheckResult, NoRecipe, Verdict
from lab.errors import OpslabError, UsageError, describe
from lab.records import scenario_verdict
from lab.report import safe_name
from lab.view import NeedsLab, RecordedView

NEEDS_LAB = "cannot rejudge: needs the lab"
VERDICTS = {str(v) for v in Verdict}
HINT = "give a report folder that `opslab run --report DIR` wrote (results.json, history.jsonl)"


@dataclass
class CheckAgain:
    """One check of a past run, judged again (`new`) or kept (`new` None, `why_not` says why)."""

    name: str
    expected: str
    old: str
    old_detail: str
    new: str | None = None
    new_detail: str = ""
    why_not: str = ""

    @property
    def rejudged(self) -> bool:
        return self.new is not None

    @property
    def verdict(self) -> str:
        """The verdict it has now: the new one, or the old one kept."""
        return self.new if self.new is not None else self.old

    @property
    def changed(self) -> bool:
        return self.new is not None and (self.new != self.old or self.new_detail != self.old_detail)


@dataclass
class ScenarioAgain:
    id: str
    old: str
    new: str
    checks: list[CheckAgain] = field(default_factory=list)
    broke: str = ""  # a check raised while rejudged: the new verdict is error

    @property
    def changed(self) -> bool:
        return self.new != self.old or any(c.changed for c in self.checks)


@dataclass
class Rejudged:
    folder: str
    scenarios: list[ScenarioAgain]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.scenarios)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "changed": self.changed,
            "scenarios": [
                {
                    **asdict(s),
                    "changed": s.changed,
                    "checks": [{**asdict(c), "rejudged": c.rejudged, "changed": c.changed} for c in s.checks],
                }
                for s in self.scenarios
            ],
        }


# -- reading the report folder -------------------------------------------------------------------------------------


def load(folder: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(results.json's scenarios, history.jsonl's events) of a report folder; a `UsageError` when it is not one."""
    p = Path(folder)
    if not p.is_dir():
        what = "a file, not a folder" if p.exists() else "no such folder"
        raise UsageError(f"{folder} is not a report folder ({what})", HINT)
    results, history = p / "results.json", p / "history.jsonl"
    for f in (results, history):
        if not f.is_file():
            raise UsageError(f"{folder} is not a report folder: no {f.name} in it", HINT)
    try:
        scenarios = json.loads(results.read_text(encoding="utf-8"))["scenarios"]
        if not isinstance(scenarios, list) or not all(isinstance(s, dict) and "id" in s for s in scenarios):
            raise TypeError("scenarios is not a list of scenarios")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read {results}: {type(exc).__name__}: {exc}", HINT) from None
    events = []
    try:
        for n, line in enumerate(history.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                event = json.loads(line)
                if not isinstance(event, dict) or not {"t", "kind", "name"} <= set(event):
                    raise ValueError(f"line {n} is not an event")
                events.append(event)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read {history}: {type(exc).__name__}: {exc}", HINT) from None
    return scenarios, events


def host_logs(folder: Path, scenario: Mapping[str, Any]) -> dict[str, str]:
    """{host: its log} as the report kept them for this scenario (empty when it kept none)."""
    sid = str(scenario["id"])
    lab, _, name = sid.partition("/")
    where = folder / "logs" / safe_name(scenario.get("lab") or lab) / safe_name(name or sid)
    if not where.is_dir():
        return {}
    return {f.stem: f.read_text(encoding="utf-8", errors="replace") for f in sorted(where.glob("*.log"))}


# -- judging again --------------------------------------------------------------------------------------------------


def _check_events(events: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int], Mapping[str, Any]]:
    seen: Counter[str] = Counter()
    out = {}
    for e in events:
        if e.get("kind") == "check":
            name = str(e["name"])
            out[(name, seen[name])] = e
            seen[name] += 1
    return out


class _Broke(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def judge_again(
    scenario: Mapping[str, Any], events: Sequence[Mapping[str, Any]], logs: Mapping[str, str] | None = None
) -> ScenarioAgain:
    """One scenario of a report judged again (see the module's contract); `events` are its own history events."""
    recorded = _check_events(events)
    seen: Counter[str] = Counter()
    out = ScenarioAgain(str(scenario["id"]), str(scenario.get("verdict")), "")
    for c in scenario.get("checks") or []:
        name = str(c.get("name"))
        again = CheckAgain(name, str(c.get("expected", "pass")), str(c.get("verdict")), str(c.get("detail", "")))
        event = recorded.get((name, seen[name]))
        seen[name] += 1
        try:
            result = _rejudge(event, scenario, events, logs)
        except _Broke as exc:
            again.why_not = f"cannot rejudge: it raised {exc.what}"
            out.broke = out.broke or f"{name} raised {exc.what}"
        else:
            if isinstance(result, str):
                again.why_not = result
            else:
                again.new, again.new_detail = str(result.verdict), result.detail
        out.checks.append(again)
    pairs = [(Verdict(c.verdict), Verdict(c.expected)) for c in out.checks if {c.verdict, c.expected} <= VERDICTS]
    if len(pairs) < len(out.checks):  # a verdict outside pass/fail/unknown: a producer defect (lab.report)
        out.broke = out.broke or "a check's recorded verdict is not pass, fail or unknown"
    if out.old == "error" or out.broke:
        out.new = "error"
    else:
        out.new = scenario_verdict(False, bool(scenario.get("error")), pairs)
    return out


def _rejudge(
    event: Mapping[str, Any] | None,
    scenario: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    logs: Mapping[str, str] | None,
) -> CheckResult | str:
    """The check of `event` judged again, or why it cannot be (a sentence starting `cannot rejudge`)."""
    if event is None:
        return "cannot rejudge: history.jsonl has no record of it"
    recipe = event.get("judge")
    if recipe is None:
        return "cannot rejudge: the run recorded no recipe for it (a run older than opslab rejudge)"
    try:
        if not Check.class_of(recipe).from_history:
            return NEEDS_LAB
        if isinstance(recipe, dict) and "unrecorded" in recipe:
            return f"cannot rejudge: it was made with {recipe['unrecorded']}"
        check = Check.from_recipe(recipe)
    except NoRecipe as exc:
        return f"cannot rejudge: {exc}"
    view = RecordedView(scenario, events, logs, as_of=float(event["t"]))
    try:
        return check.evaluate(view)
    except NeedsLab as exc:
        return f"{NEEDS_LAB} (it {exc.message})"
    except OpslabError as exc:
        return CheckResult.unknown(check.name, f"could not judge: {exc.message}")
    except Exception as exc:  # noqa: BLE001 - today's check is broken: the scenario's rejudging is an error
        raise _Broke(describe(exc)) from exc


def rejudge(folder: str | Path) -> Rejudged:
    """Every scenario of a report folder judged again with today's checks."""
    scenarios, events = load(folder)
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_scenario.setdefault(str(e.get("scenario")), []).append(e)
    out = []
    for s in scenarios:
        out.append(judge_again(s, by_scenario.get(str(s["id"]), []), host_logs(Path(folder), s)))
    return Rejudged(str(folder), out)


# -- showing it -----------------------------------------------------------------------------------------------------


def render(r: Rejudged, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(r.to_dict(), indent=2) + "\n"
    lines = [f"rejudged {r.folder} with today's checks, from its recorded history (no lab)"]
    counts: Counter[str] = Counter()
    for s in r.scenarios:
        head = f"{s.id}: {s.old} → {s.new}" if s.new != s.old else f"{s.id}: {s.new} (unchanged)"
        lines.append(head + (f"  — {s.broke}" if s.broke else ""))
        for c in s.checks:
            expect = "" if c.expected == "pass" else f" (expected {c.expected})"
            if not c.rejudged:
                counts["kept"] += 1
                lines.append(f"  kept     {c.name}: {c.old}{expect}, old verdict kept — {c.why_not}")
            elif c.changed:
                counts["changed"] += 1
                if c.new == c.old:
                    lines.append(f"  CHANGED  {c.name}: {c.new}{expect}, same verdict — now: {c.new_detail}")
                    lines.append(f"           was: {c.old_detail}")
                else:
                    lines.append(f"  CHANGED  {c.name}: {c.old} → {c.new}{expect} — now: {c.new_detail}")
            else:
                counts["same"] += 1
                lines.append(f"  same     {c.name}: {c.new}{expect}")
    changed = sum(1 for s in r.scenarios if s.changed)
    lines.append(
        f"{len(r.scenarios)} scenario(s), {changed} changed; checks: {counts['same'] + counts['changed']} rejudged "
        f"({counts['changed']} changed), {counts['kept']} kept with their old verdict (not rejudged)"
    )
    return "\n".join(lines) + "\n"

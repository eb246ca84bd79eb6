"""The report folder a run leaves behind.

Contract (see DESIGN.md, "Contracts other tools rely on")::

    write_report(folder, scenarios, title=..., preface=...) -> folder

writes, into ``folder`` (created if missing):

- ``results.json``: ``{"verdict", "summary": {"total", "pass", "fail", "unknown", "error"},
  "scenarios": [...]}``. Each scenario entry has exactly the keys ``id, lab, verdict, duration_s,
  steps, faults, checks, metrics, description, project, started, params, facts, watch, error``
  (``params``: the lab parameters used; ``facts``: the lab's facts; ``watch``: how invariants were
  sampled, ``{"interval_s", "invariants": {name: {"samples", "unprobed"}}}``); each check keeps exactly
  ``name, verdict, detail, expected, evidence``. History and logs are not repeated here.
- ``junit.xml``: one ``<testsuite name="opslab">``, one ``<testcase>`` per scenario; a ``fail``
  verdict gives ``<failure>`` (the checks whose verdict differs from their expected one, and the
  failed steps), ``error`` gives ``<error>``, ``unknown`` gives ``<failure>`` whose message says which
  checks could not decide (never ``<skipped>``: an undecided scenario is not green).
- ``history.jsonl``: every history event of every scenario, tagged with ``"scenario"``, ordered by
  ``"t"`` (ties keep the scenarios' order).
- ``logs/<lab>/<scenario>/<host>.log``: each host's log during that scenario. Names are made safe for file
  names.
- ``files/<lab>/<scenario>/<host>/...``: the files a lab keeps (``LabSpec.keep_files``: a mirror, a dump),
  copied out before it went down (the scenario's ``files``: the folder they were copied to).
- ``report.html``: one self-contained page (inline CSS, inline SVG timelines, no script).

All times in the input (scenario ``started``, step ``started``, fault ``invoked``/``healed``,
history ``t``) are epoch seconds; the timelines show them as seconds since the scenario started.
Verdicts combine with :func:`worst`: ``error > fail > unknown > pass``; nothing to judge is
``unknown``. A verdict outside these four is a producer defect and is reported as ``error``.
Every file is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lab.files import KEPT_COPY_PREFIX

VERDICTS = ("pass", "fail", "unknown", "error")
_RANK = {"pass": 0, "unknown": 1, "fail": 2, "error": 3}
_SCENARIO_KEYS = (
    "id",
    "lab",
    "verdict",
    "duration_s",
    "steps",
    "faults",
    "checks",
    "metrics",
    "description",
    "project",
    "started",
    "params",
    "facts",
    "watch",
    "error",
)
_CHECK_KEYS = ("name", "verdict", "detail", "expected", "evidence")
# XML 1.0 forbids most control characters even when escaped; command output often carries them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# A step's output beyond this many characters is cut in the page (results.json keeps all of it).
_HTML_OUTPUT_LIMIT = 20_000
_KEY_METRICS = 4
_BAD = ' class="bad"'


def worst(verdicts: Iterable[str]) -> str:
    """The worst of ``verdicts`` (error > fail > unknown > pass); ``unknown`` when there are none."""
    found = [_verdict(v) for v in verdicts]
    if not found:
        return "unknown"
    return max(found, key=_RANK.__getitem__)


def write_report(
    folder: Path, scenarios: list[dict[str, Any]], *, title: str = "opslab run", preface: str = ""
) -> Path:
    """Write results.json, junit.xml, history.jsonl, logs/<lab>/<scenario>/<host>.log and report.html.

    `preface` is HTML made by opslab (every value in it escaped by its maker) shown above the scenarios: the
    sweep's step × fault table (lab.explore).

    Returns ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = _results(scenarios)
    _write(folder / "results.json", json.dumps(results, indent=2, allow_nan=False) + "\n")
    _write(folder / "junit.xml", _junit(scenarios))
    _write(folder / "history.jsonl", _history(scenarios))
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    for rel, text in _host_logs(scenarios).items():
        (logs / rel).parent.mkdir(parents=True, exist_ok=True)
        _write(logs / rel, text)
    for rel, source in _kept_files(scenarios).items():
        shutil.copytree(source, folder / "files" / rel, dirs_exist_ok=True)
    _write(folder / "report.html", _html_page(title, scenarios, results, preface))
    return folder


# ---------------------------------------------------------------- plumbing


def _verdict(value: object) -> str:
    return value if isinstance(value, str) and value in _RANK else "error"


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """``value`` as strict JSON data: NaN/inf become null, unknown objects their ``str``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


def strict_json(value: Any) -> Any:
    """``value`` as strict JSON data (what results.json holds): NaN/inf become null, unknown objects their ``str``."""
    return _plain(value)


def _num(value: Any, default: float = 0.0) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_failed(check: Mapping[str, Any]) -> bool:
    return bool(check.get("verdict") != check.get("expected", "pass"))


def _check_line(check: Mapping[str, Any]) -> str:
    mark = "FAILED " if _check_failed(check) else ""
    line = f"{mark}[{check.get('verdict')}] {check.get('name')} (expected {check.get('expected', 'pass')})"
    detail = _text(check.get("detail"))
    return f"{line}: {detail}" if detail else line


def _step_failed(step: Mapping[str, Any]) -> bool:
    return step.get("ok") is False


def _step_line(step: Mapping[str, Any]) -> str:
    return f"step failed on {step.get('host')}: {step.get('command')} (rc={step.get('rc')})"


# ---------------------------------------------------------------- results.json


def _results(scenarios: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    for scenario in scenarios:
        entry = {key: scenario.get(key) for key in _SCENARIO_KEYS}
        entry["verdict"] = _verdict(scenario.get("verdict"))
        if entry["verdict"] != scenario.get("verdict") and not entry["error"]:
            entry["error"] = f"invalid verdict {scenario.get('verdict')!r}"
        entry["steps"] = list(scenario.get("steps") or [])
        entry["faults"] = list(scenario.get("faults") or [])
        entry["checks"] = [{key: c.get(key) for key in _CHECK_KEYS} for c in scenario.get("checks") or []]
        entry["metrics"] = dict(scenario.get("metrics") or {})
        entries.append(_plain(entry))
    summary = {"total": len(entries)} | {v: sum(e["verdict"] == v for e in entries) for v in VERDICTS}
    return {
        "verdict": worst(e["verdict"] for e in entries),
        "summary": summary,
        "scenarios": entries,
    }


# ---------------------------------------------------------------- junit.xml


def _xml_text(value: Any) -> str:
    return _XML_INVALID.sub("\ufffd", _text(value))


def _junit(scenarios: list[dict[str, Any]]) -> str:
    verdicts = [_verdict(s.get("verdict")) for s in scenarios]
    starts = [_num(s.get("started")) for s in scenarios if s.get("started") is not None]
    suite = ET.Element(
        "testsuite",
        {
            "name": "opslab",
            "tests": str(len(scenarios)),
            # an undecided scenario is never green: a CI system must not show it as passed or skipped
            "failures": str(verdicts.count("fail") + verdicts.count("unknown")),
            "errors": str(verdicts.count("error")),
            "skipped": "0",
            "time": f"{sum(_num(s.get('duration_s')) for s in scenarios):.3f}",
        },
    )
    if starts:
        suite.set("timestamp", _iso(min(starts)))
    for scenario, verdict in zip(scenarios, verdicts, strict=True):
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _xml_text(scenario.get("lab")),
                "name": _xml_text(scenario.get("id")),
                "time": f"{_num(scenario.get('duration_s')):.3f}",
            },
        )
        checks = list(scenario.get("checks") or [])
        failed_checks = [c for c in checks if _check_failed(c)]
        failed_steps = [s for s in scenario.get("steps") or [] if _step_failed(s)]
        problems = [_check_line(c) for c in failed_checks] + [_step_line(s) for s in failed_steps]
        if verdict == "fail":
            names = [_text(c.get("name")) for c in failed_checks]
            message = "failed checks: " + ", ".join(names) if names else "scenario failed"
            if failed_steps:
                message += f"; {len(failed_steps)} step(s) failed"
            failure = ET.SubElement(case, "failure", {"message": _xml_text(message)})
            failure.text = _xml_text("\n".join(problems))
        elif verdict == "error":
            message = _text(scenario.get("error")) or f"invalid or error verdict {scenario.get('verdict')!r}"
            error = ET.SubElement(case, "error", {"message": _xml_text(message)})
            error.text = _xml_text("\n".join([message, *problems]))
        elif verdict == "unknown":
            unknown = [c for c in checks if c.get("verdict") == "unknown"]
            why = (
                "check(s) could not decide: " + ", ".join(_text(c.get("name")) for c in unknown)
                if unknown
                else "no check was made, so nothing could decide"
            )
            failure = ET.SubElement(case, "failure", {"message": _xml_text(f"verdict unknown: {why}")})
            failure.text = _xml_text("\n".join(_check_line(c) for c in unknown) or why)
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text("\n".join(_check_line(c) for c in checks))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


# ---------------------------------------------------------------- history.jsonl and logs


def _history(scenarios: list[dict[str, Any]]) -> str:
    events = []
    for scenario in scenarios:
        for event in scenario.get("history") or []:
            events.append({**event, "scenario": scenario.get("id")})
    events.sort(key=lambda e: _num(e.get("t")))  # stable: ties keep their order
    return "".join(json.dumps(_plain(e), allow_nan=False) + "\n" for e in events)


def _safe(name: Any) -> str:
    return _UNSAFE_FILE_CHARS.sub("_", _text(name)).strip(".") or "_"


def _scenario_folder(scenario: dict[str, Any]) -> str:
    sid = _text(scenario.get("id"))
    lab, _, name = sid.partition("/")
    return f"{_safe(scenario.get('lab') or lab)}/{_safe(name or sid)}"


def discard_kept_copies(scenarios: list[dict[str, Any]]) -> None:
    """Remove the temporary folders a run's kept files waited in (`files`), once the report has its own copy or
    there is no report; a `files` folder that is not such a temporary copy (a merged report's) is left alone."""
    tmp = Path(tempfile.gettempdir()).resolve()
    for s in scenarios:
        path = Path(s["files"]) if s.get("files") else None
        if path is not None and path.name.startswith(KEPT_COPY_PREFIX) and path.resolve().parent == tmp:
            shutil.rmtree(path, ignore_errors=True)


def _kept_files(scenarios: list[dict[str, Any]]) -> dict[str, Path]:
    """{`<lab>/<scenario>`: the folder its kept files were copied to}, for the scenarios that kept any."""
    return {_scenario_folder(s): Path(s["files"]) for s in scenarios if s.get("files") and Path(s["files"]).is_dir()}


def safe_name(name: Any) -> str:
    """`name` as the report names its folder or file under logs/ (lab.merge reads them back by it)."""
    return _safe(name)


def _host_logs(scenarios: list[dict[str, Any]]) -> dict[str, str]:
    """{`<lab>/<scenario>/<host>.log`: the host's log during that scenario}. Names are made safe for file names;
    two scenarios or hosts whose names sanitize alike get `-2`, `-3`... rather than overwrite each other."""
    out: dict[str, str] = {}
    for scenario in scenarios:
        folder = _scenario_folder(scenario)
        base, n = folder, 1
        while any(k.startswith(folder + "/") for k in out):
            n += 1
            folder = f"{base}-{n}"
        taken: set[str] = set()
        for host, text in sorted((scenario.get("logs") or {}).items()):
            body = _text(text)
            if body and not body.endswith("\n"):
                body += "\n"
            file_name, k = _safe(host), 1
            while file_name in taken:
                k += 1
                file_name = f"{_safe(host)}-{k}"
            taken.add(file_name)
            out[f"{folder}/{file_name}.log"] = body
    return out


# ---------------------------------------------------------------- report.html


def _esc(value: Any) -> str:
    return html.escape(_XML_INVALID.sub("\ufffd", _text(value)), quote=True)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _duration(seconds: Any) -> str:
    s = _num(seconds)
    if s < 60:
        return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    minutes, rest = divmod(int(round(s)), 60)
    return f"{minutes}m {rest:02d}s"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return _text(value)


def _badge(verdict: str) -> str:
    return f'<span class="badge v-{_esc(verdict)}">{_esc(verdict)}</span>'


def _anchor(index: int, scenario_id: Any) -> str:
    return f"s{index}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", _text(scenario_id))


_CSS = """
:root { --pass:#1e8e3e; --fail:#c5221f; --unknown:#80868b; --error:#a142f4; --ink:#202124; --muted:#5f6368;
  --line:#dadce0; --bg:#f8f9fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0; background: #fff; }
header { padding: 20px 32px; border-bottom: 1px solid var(--line); background: var(--bg); }
header h1 { margin: 0 0 6px; font-size: 22px; }
main { padding: 16px 32px 48px; max-width: 1200px; }
h2 { font-size: 18px; margin: 36px 0 8px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; text-transform: uppercase; letter-spacing: .04em;
  color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: var(--bg); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { background: #fce8e6; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--bg); padding: 1px 4px; border-radius: 3px; word-break: break-all; }
pre { background: var(--bg); border: 1px solid var(--line); padding: 8px; margin: 4px 0; overflow-x: auto;
  white-space: pre-wrap; word-break: break-all; max-height: 420px; }
details summary { cursor: pointer; color: var(--muted); }
.badge { display: inline-block; min-width: 58px; text-align: center; padding: 1px 8px; border-radius: 10px;
  color: #fff; font-size: 12px; font-weight: 600; text-transform: uppercase; }
.v-pass { background: var(--pass); } .v-fail { background: var(--fail); }
.v-unknown { background: var(--unknown); } .v-error { background: var(--error); }
.big { font-size: 16px; padding: 3px 14px; }
.counts span { margin-right: 14px; }
.muted { color: var(--muted); }
.errorbox { border-left: 4px solid var(--error); background: #f3e8fd; padding: 8px 12px; margin: 8px 0; }
.legend span { margin-right: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 10px; margin-right: 4px; vertical-align: middle; }
svg.timeline { width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
"""


def _html_page(title: str, scenarios: list[dict[str, Any]], results: Mapping[str, Any], preface: str = "") -> str:
    summary = results["summary"]
    entries = results["scenarios"]
    counts = " ".join(f"<span>{_badge(v)} {summary[v]}</span>" for v in VERDICTS)
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_esc(title)} {_badge(results['verdict'])}</h1>",
        f'<div class="counts">{summary["total"]} scenario(s) &nbsp; {counts}</div>',
        f'<div class="muted">generated {_esc(generated)}</div></header><main>',
        preface,
        _matrix_table(scenarios, entries),
        "<h3>Scenarios</h3>",
        _summary_table(scenarios, entries),
    ]
    for index, (scenario, entry) in enumerate(zip(scenarios, entries, strict=True)):
        parts.append(_scenario_section(index, scenario, entry))
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


_MATRIX_ID = re.compile(r"^(?P<base>[^\[]+)\[(?P<combo>[^\]]+)\]$")


def _matrix_table(scenarios: list[dict[str, Any]], entries: list[dict[str, Any]]) -> str:
    """A run with a matrix (`--matrix engine=a,b`: ids `lab/name[engine=a]`): one row per scenario, one column per
    combination, each cell its verdict (linked to its section) and duration; under each column's head the
    `server_version` fact its scenarios reported. Empty when no id carries a combination."""
    columns: list[str] = []
    rows: dict[str, dict[str, tuple[int, str, Any]]] = {}
    versions: dict[str, set[str]] = {}
    for index, (scenario, entry) in enumerate(zip(scenarios, entries, strict=True)):
        m = _MATRIX_ID.match(_text(scenario.get("id")))
        if not m:
            continue
        base, combo = m.group("base"), m.group("combo")
        if combo not in columns:
            columns.append(combo)
        rows.setdefault(base, {})[combo] = (index, entry["verdict"], scenario.get("duration_s"))
        version = (scenario.get("facts") or {}).get("server_version")
        if version:
            versions.setdefault(combo, set()).add(_text(version))
    if not columns:
        return ""
    head = "".join(
        f"<th>{_esc(c)}"
        + (f'<br><span class="muted">{_esc(", ".join(sorted(versions[c])))}</span>' if c in versions else "")
        + "</th>"
        for c in columns
    )
    body = []
    for base, cells in rows.items():
        tds = []
        for c in columns:
            if c not in cells:
                tds.append('<td class="muted">not run</td>')
                continue
            index, verdict, duration = cells[c]
            tds.append(
                f'<td><a href="#{_anchor(index, f"{base}[{c}]")}">{_badge(verdict)}</a> {_duration(duration)}</td>'
            )
        body.append(f"<tr><td>{_esc(base)}</td>{''.join(tds)}</tr>")
    return (
        f"<h3>Matrix</h3><table><thead><tr><th>scenario</th>{head}</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _summary_table(scenarios: list[dict[str, Any]], entries: list[dict[str, Any]]) -> str:
    if not scenarios:
        return '<p class="muted">No scenarios ran.</p>'
    rows = []
    for index, (scenario, entry) in enumerate(zip(scenarios, entries, strict=True)):
        metrics = list((scenario.get("metrics") or {}).items())[:_KEY_METRICS]
        shown = ", ".join(f"{_esc(k)}={_esc(_number(v))}" for k, v in metrics)
        failed = sum(_check_failed(c) for c in scenario.get("checks") or [])
        checks = len(scenario.get("checks") or [])
        rows.append(
            f'<tr><td><a href="#{_anchor(index, scenario.get("id"))}">{_esc(scenario.get("id"))}</a></td>'
            f"<td>{_badge(entry['verdict'])}</td>"
            f'<td class="num">{_duration(scenario.get("duration_s"))}</td>'
            f'<td class="num">{checks - failed}/{checks}</td>'
            f"<td>{shown}</td></tr>"
        )
    return (
        "<table><thead><tr><th>scenario</th><th>verdict</th><th>duration</th><th>checks as expected</th>"
        "<th>key metrics</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _scenario_section(index: int, scenario: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    started = scenario.get("started")
    when = _iso(_num(started)) if started is not None else "?"
    parts = [
        f'<section id="{_anchor(index, scenario.get("id"))}">',
        f"<h2>{_esc(scenario.get('id'))} {_badge(entry['verdict'])}</h2>",
        f'<div class="muted">lab <b>{_esc(scenario.get("lab"))}</b> · project '
        f"<code>{_esc(scenario.get('project'))}</code> · started {_esc(when)} · "
        f"{_duration(scenario.get('duration_s'))}</div>",
    ]
    if entry.get("error"):
        parts.append(f'<div class="errorbox"><b>error:</b> {_esc(entry["error"])}</div>')
    if scenario.get("description"):
        parts.append(f"<p>{_esc(scenario.get('description'))}</p>")
    parts.append("<h3>Timeline</h3>")
    parts.append(_timeline(scenario))
    parts.append(_checks_table(scenario.get("checks") or []))
    parts.append(_steps_table(scenario.get("steps") or [], _start(scenario)))
    parts.append(_faults_table(scenario.get("faults") or [], _start(scenario)))
    parts.append(_metrics_table(scenario.get("metrics") or {}))
    parts.append(_events_list(scenario.get("history") or [], _start(scenario)))
    parts.append("</section>")
    return "\n".join(parts)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{_esc(summary)}</summary>{body}</details>"


def _pre(text: Any) -> str:
    body = _text(text)
    note = ""
    if len(body) > _HTML_OUTPUT_LIMIT:
        note = f'<div class="muted">cut at {_HTML_OUTPUT_LIMIT} of {len(body)} characters; see results.json'
        note += "</div>"
        body = body[:_HTML_OUTPUT_LIMIT]
    return f"<pre>{_esc(body)}</pre>{note}"


def _checks_table(checks: list[Mapping[str, Any]]) -> str:
    if not checks:
        return '<h3>Checks</h3><p class="muted">No checks.</p>'
    rows = []
    for check in checks:
        bad = _check_failed(check)
        evidence = check.get("evidence")
        shown = _details("evidence", _pre(json.dumps(_plain(evidence), indent=2))) if evidence else ""
        outcome = "differs from expected" if bad else "as expected"
        rows.append(
            f"<tr{_BAD if bad else ''}><td>{_esc(check.get('name'))}</td>"
            f"<td>{_badge(_verdict(check.get('verdict')))}</td><td>{_esc(check.get('expected', 'pass'))}</td>"
            f"<td>{outcome}</td><td>{_esc(check.get('detail'))}{shown}</td></tr>"
        )
    return (
        "<h3>Checks</h3><table><thead><tr><th>check</th><th>verdict</th><th>expected</th><th>outcome</th>"
        "<th>detail</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _steps_table(steps: list[Mapping[str, Any]], t0: float) -> str:
    if not steps:
        return '<h3>Steps</h3><p class="muted">No steps.</p>'
    rows = []
    for number, step in enumerate(steps, 1):
        output = ""
        if step.get("stdout") or step.get("stderr"):
            body = ""
            if step.get("stdout"):
                body += '<div class="muted">stdout</div>' + _pre(step.get("stdout"))
            if step.get("stderr"):
                body += '<div class="muted">stderr</div>' + _pre(step.get("stderr"))
            output = _details("output", body)
        at = _rel_label(step.get("started"), t0)
        title = f"<div>{_esc(step.get('title'))}</div>" if step.get("title") else ""
        rows.append(
            f'<tr{_BAD if _step_failed(step) else ""}><td class="num">{number}</td>'
            f"<td>{_esc(step.get('host'))}</td><td>{title}<code>{_esc(step.get('command'))}</code>{output}</td>"
            f'<td class="num">{_esc(step.get("rc"))}</td><td class="num">{at}</td>'
            f'<td class="num">{_duration(step.get("duration_s"))}</td></tr>'
        )
    return (
        "<h3>Steps</h3><table><thead><tr><th>#</th><th>host</th><th>command</th><th>rc</th><th>at</th>"
        "<th>duration</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _faults_table(faults: list[Mapping[str, Any]], t0: float) -> str:
    if not faults:
        return ""
    rows = []
    for fault in faults:
        heal_ok = fault.get("heal_ok")
        healed = "yes" if heal_ok else ("not run" if heal_ok is None else "FAILED")
        if fault.get("heal_detail"):  # what the fault's probe saw: on a failed heal, what is still in place
            healed += f" — {_esc(fault.get('heal_detail'))}"
        rows.append(
            f"<tr{_BAD if heal_ok is False else ''}><td>{_esc(fault.get('name'))}</td>"
            f"<td>{_esc(fault.get('detail'))}</td>"
            f'<td class="num">{_rel_label(fault.get("invoked"), t0)}</td>'
            f'<td class="num">{_rel_label(fault.get("healed"), t0)}</td><td>{healed}</td></tr>'
        )
    return (
        "<h3>Faults</h3><table><thead><tr><th>fault</th><th>detail</th><th>invoked</th><th>healed</th>"
        "<th>heal ok</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    if not metrics:
        return ""
    rows = "".join(
        f'<tr><td>{_esc(name)}</td><td class="num">{_esc(_number(value))}</td></tr>' for name, value in metrics.items()
    )
    return (
        '<h3>Metrics</h3><table style="width:auto"><thead><tr><th>metric</th><th>value</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _events_list(history: list[Mapping[str, Any]], t0: float) -> str:
    notes = sorted((e for e in history if e.get("kind") in ("metric", "note", "lab")), key=lambda e: _num(e.get("t")))
    if not notes:
        return ""
    rows = "".join(
        f'<tr><td class="num">{_rel_label(e.get("t"), t0)}</td><td>{_esc(e.get("kind"))}</td>'
        f"<td>{_esc(e.get('name'))}</td><td>{_esc(e.get('host') or '')}</td>"
        f"<td>{_esc(e.get('detail') or '')}{_esc(_extra(e))}</td></tr>"
        for e in notes
    )
    return (
        "<h3>Notes and metrics</h3><table><thead><tr><th>at</th><th>kind</th><th>name</th><th>host</th>"
        f"<th>detail</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _extra(event: Mapping[str, Any]) -> str:
    standard = {"t", "kind", "name", "host", "ok", "detail", "scenario"}
    extra = {k: v for k, v in event.items() if k not in standard}
    return f" {json.dumps(_plain(extra))}" if extra else ""


def _start(scenario: Mapping[str, Any]) -> float:
    if scenario.get("started") is not None:
        return _num(scenario.get("started"))
    times: list[float] = [_num(e.get("t")) for e in scenario.get("history") or [] if e.get("t") is not None]
    return min(times, default=0.0)


def _rel_label(epoch: Any, t0: float) -> str:
    if epoch is None:
        return "—"
    return f"+{_num(epoch) - t0:.2f} s"


# ---------------------------------------------------------------- timeline (inline SVG)

_W = 960
_LABEL_W = 92
_PAD_R = 16
_LANE_H = 28
_TOP = 8
_AXIS_H = 26
_LANES = ("steps", "faults", "workload", "checks")
_COLOUR = {True: "#1e8e3e", False: "#c5221f", None: "#9aa0a6"}


def _nice_step(span: float) -> float:
    raw = span / 8
    magnitude: float = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _outages(ops: list[tuple[float, bool | None]]) -> list[tuple[float, float, int]]:
    """Runs of consecutive failed operations as (first failure, last failure, count)."""
    runs: list[tuple[float, float, int]] = []
    current: tuple[float, float, int] | None = None
    for t, ok in ops:
        if ok is False:
            current = (t, t, 1) if current is None else (current[0], t, current[2] + 1)
        elif ok is True and current is not None:
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    return runs


def _timeline(scenario: Mapping[str, Any]) -> str:
    t0 = _start(scenario)
    history = list(scenario.get("history") or [])
    steps = [s for s in scenario.get("steps") or [] if s.get("started") is not None]
    faults = [f for f in scenario.get("faults") or [] if f.get("invoked") is not None]
    ops = sorted(((_num(e.get("t")) - t0, e.get("ok")) for e in history if e.get("kind") == "op"), key=lambda o: o[0])
    marks = [e for e in history if e.get("kind") in ("check", "invariant")]
    workload_marks = [e for e in history if e.get("kind") == "workload"]

    times = [0.0, _num(scenario.get("duration_s"))]
    times += [_num(s.get("started")) - t0 + _num(s.get("duration_s")) for s in steps]
    times += [_num(s.get("started")) - t0 for s in steps]
    for fault in faults:
        times += [_num(fault.get("invoked")) - t0, _num(fault.get("healed"), _num(fault.get("invoked"))) - t0]
    times += [_num(e.get("t")) - t0 for e in history if e.get("t") is not None]
    lo, hi = min(times), max(times)
    if hi - lo < 1e-6:
        hi = lo + 1.0
    plot_w = _W - _LABEL_W - _PAD_R
    height = _TOP + len(_LANES) * _LANE_H + _AXIS_H

    def x(rel: float) -> float:
        return round(_LABEL_W + (rel - lo) / (hi - lo) * plot_w, 2)

    def lane_y(lane: str) -> int:
        return _TOP + _LANES.index(lane) * _LANE_H

    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
        f'width="{_W}" height="{height}" role="img" aria-label="timeline of {_esc(scenario.get("id"))}" '
        'font-family="system-ui, sans-serif" font-size="11">'
    ]
    for i, lane in enumerate(_LANES):
        y = lane_y(lane)
        fill = "#f8f9fa" if i % 2 == 0 else "#ffffff"
        out.append(f'<rect x="{_LABEL_W}" y="{y}" width="{plot_w}" height="{_LANE_H}" fill="{fill}"/>')
        out.append(f'<text x="8" y="{y + _LANE_H / 2 + 4}" fill="#5f6368">{lane}</text>')
    bottom = _TOP + len(_LANES) * _LANE_H
    step = _nice_step(hi - lo)
    tick = math.ceil(lo / step) * step
    while tick <= hi + 1e-9:
        tx = x(tick)
        out.append(f'<line x1="{tx}" y1="{_TOP}" x2="{tx}" y2="{bottom}" stroke="#e8eaed"/>')
        out.append(f'<text x="{tx}" y="{bottom + 16}" text-anchor="middle" fill="#5f6368">{tick:g}s</text>')
        tick += step
    out.append(f'<line x1="{_LABEL_W}" y1="{bottom}" x2="{_W - _PAD_R}" y2="{bottom}" stroke="#9aa0a6"/>')

    # A fault's span is shaded across every lane, so its effect on the workload lines up beneath it.
    y = lane_y("faults")
    for fault in faults:
        start = _num(fault.get("invoked")) - t0
        healed = fault.get("healed")
        end = _num(healed) - t0 if healed is not None else hi
        x1, x2 = x(start), x(end)
        width = max(x2 - x1, 2)
        label = f"{_text(fault.get('name'))}: {_text(fault.get('detail'))} (+{start:.2f}s → "
        label += f"+{end:.2f}s)" if healed is not None else "never healed)"
        out.append(
            f'<rect x="{x1}" y="{_TOP}" width="{width}" height="{bottom - _TOP}" fill="#f9ab00" opacity="0.10"/>'
        )
        dash = "" if healed is not None else ' stroke-dasharray="4 2"'
        out.append(
            f'<rect x="{x1}" y="{y + 5}" width="{width}" height="{_LANE_H - 10}" fill="#f9ab00" '
            f'opacity="0.75" stroke="#e37400"{dash}><title>{_esc(label)}</title></rect>'
        )
        if width > 60:
            out.append(f'<text x="{x1 + 4}" y="{y + _LANE_H / 2 + 4}" fill="#202124">{_esc(fault.get("name"))}</text>')

    y = lane_y("steps")
    for s in steps:
        start = _num(s.get("started")) - t0
        x1 = x(start)
        width = max(x(start + _num(s.get("duration_s"))) - x1, 2)
        label = f"{_text(s.get('host'))}: {_text(s.get('title') or s.get('command'))} "
        label += f"rc={_text(s.get('rc'))} "
        label += f"(+{start:.2f}s, {_duration(s.get('duration_s'))})"
        colour = _COLOUR.get(s.get("ok"), _COLOUR[None])
        out.append(
            f'<rect x="{x1}" y="{y + 5}" width="{width}" height="{_LANE_H - 10}" fill="{colour}" '
            f'opacity="0.85" stroke="#fff" stroke-width="0.5"><title>{_esc(label)}</title></rect>'
        )

    y = lane_y("workload")
    for first, last, count in _outages(ops):
        x1 = x(first)
        out.append(
            f'<rect x="{x1}" y="{y + 1}" width="{max(x(last) - x1, 3)}" height="{_LANE_H - 2}" '
            f'fill="#c5221f" opacity="0.18"><title>unavailable {last - first:.2f}s: '
            f"{count} failed operation(s) "
            f"from +{first:.2f}s to +{last:.2f}s</title></rect>"
        )
    for rel, ok in ops:
        colour = _COLOUR.get(ok, _COLOUR[None])
        tx = x(rel)
        out.append(
            f'<line x1="{tx}" y1="{y + 5}" x2="{tx}" y2="{y + _LANE_H - 5}" stroke="{colour}" stroke-width="1.5"/>'
        )
    for event in workload_marks:
        tx = x(_num(event.get("t")) - t0)
        label = f"{_text(event.get('name'))}: {_text(event.get('detail'))}"
        out.append(
            f'<path d="M{tx - 4} {y + 2} L{tx + 4} {y + 2} L{tx} {y + 8} Z" fill="#1a73e8">'
            f"<title>{_esc(label)}</title></path>"
        )

    y = lane_y("checks")
    for event in marks:
        tx = x(_num(event.get("t")) - t0)
        colour = _COLOUR.get(event.get("ok"), _COLOUR[None])
        label = f"{_text(event.get('kind'))} {_text(event.get('name'))}: {_text(event.get('detail'))}"
        if event.get("kind") == "invariant":
            shape = f'<rect x="{tx - 3}" y="{y + _LANE_H / 2 - 3}" width="6" height="6" fill="{colour}">'
            out.append(f"{shape}<title>{_esc(label)}</title></rect>")
        else:
            out.append(
                f'<circle cx="{tx}" cy="{y + _LANE_H / 2}" r="4.5" fill="{colour}" stroke="#fff">'
                f"<title>{_esc(label)}</title></circle>"
            )
    out.append("</svg>")

    failed_ops = sum(ok is False for _, ok in ops)
    outages = _outages(ops)
    longest = max((last - first for first, last, _ in outages), default=0.0)
    legend = (
        '<div class="legend"><span><i style="background:#1e8e3e"></i>ok</span>'
        '<span><i style="background:#c5221f"></i>failed</span>'
        '<span><i style="background:#9aa0a6"></i>outcome unknown</span>'
        '<span><i style="background:#f9ab00"></i>fault (invoked → healed)</span>'
        '<span><i style="background:#c5221f;opacity:.25"></i>workload unavailable</span>'
        "<span>● check &nbsp;■ invariant &nbsp;▼ workload event</span></div>"
    )
    workload = ""
    if ops:
        workload = (
            f'<div class="muted">workload: {len(ops)} operation(s), {failed_ops} failed; '
            f"{len(outages)} unavailable window(s), longest {longest:.2f} s "
            "(first to last failed operation)</div>"
        )
    return "\n".join(out) + legend + workload

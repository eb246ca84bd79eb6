"""What a lab is: its name, its compose folder, its parameters and the facts its procedures use.

Each lab declares one `LabSpec` (opslab's own labs in `scenarios/<lab>/lab.py` as `SPEC`); its lab definition
(lab.registry) carries it to opslab through the `opslab.labs` entry point. The compose file is the one source
of truth for hosts, networks and addresses; the spec adds only what the compose file cannot say: parameters
(passed to compose as variables) and facts derived from the running lab (`facts(lab)`, e.g. the service IP),
which fill the `{fields}` of procedure steps.

Parameters are typed. A `Param` declares its type (`int`, `float`, `str`, `bool`), its default, and what the
software behind it accepts: a range (`min`/`max`), a set of `choices`, a `pattern` (with its `form` in words),
and values known but `unavailable` (with why). Relations between parameters that the software enforces are the
spec's `rules`. A parameter may decide more compose variables than its own (`LabSpec.derived_env`: the mysql
engine picks its Debian suite). `LabSpec.compose(env)` reads the compose file with those variables put in
(`${NAME}`, `${NAME:-default}`, `${NAME-default}` as Compose reads them; a variable not given stays as written),
so the images built are the ones the parameters ask for. A lab whose hosts have roles names them in `groups`
({"slaves": ("slave1", "slave2")}): the groups of its Ansible inventory (lab.ansible.inventory).

`LabSpec.param_values` is the one parser of a lab's parameters (the command line, the pytest
plugin and `Lab` all go through it): every value is checked before any lab starts, and a bad one is a
`UsageError` whose `Hint:` says what to give instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from lab.errors import UsageError

if TYPE_CHECKING:
    from lab.lifecycle import Lab

ROOT = Path(__file__).resolve().parent.parent  # the repository when opslab runs from a checkout (tests use it)

Value = int | float | str | bool
TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0")
_NUMBER = {"int": r"[+-]?\d+", "float": r"[+-]?(\d+(\.\d*)?|\.\d+)"}
_TYPE_WORDS = {"int": "a whole number", "float": "a number"}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    help: str
    env: str  # the compose variable it sets
    type: Literal["int", "float", "str", "bool"] = "str"
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a `str` must match it whole (case-insensitive) ...
    form: str = ""  # ... which says in words what it matches ("a size like 4M")
    unavailable: tuple[tuple[str, str], ...] = ()  # (value, why it cannot be used yet)

    def allowed(self) -> str:
        """What it accepts, in words: `int 0..2147483`, `one of: a, b`, `float >= 0.1`, `str, <form>`."""
        if self.choices:
            later = f" (not available yet: {', '.join(v for v, _ in self.unavailable)})" if self.unavailable else ""
            return f"one of: {', '.join(self.choices)}{later}"
        if self.min is not None and self.max is not None:
            return f"{self.type} {_num(self.min)}..{_num(self.max)}"
        if self.min is not None:
            return f"{self.type} >= {_num(self.min)}"
        if self.max is not None:
            return f"{self.type} <= {_num(self.max)}"
        return f"{self.type}, {self.form}" if self.form else self.type

    def describe(self) -> str:
        """One line for `opslab list`: name, type and allowed values, default, meaning."""
        kind = f"{self.type}, " if self.choices else ""
        return f"{self.name} ({kind}{self.allowed()}; default {self.default}): {self.help}"

    def parse(self, raw: object) -> Value:
        """The value `raw` (text from the command line, or a marker's value) as its type, checked; or a
        `UsageError` naming the parameter, the value, what is wrong and what to give instead."""
        text = str(raw).strip() if not isinstance(raw, bool) else ("true" if raw else "false")
        hint = f"{self.name} takes {self.allowed()}; its default is {self.default}"
        why = dict(self.unavailable).get(text)
        if why is not None:
            raise UsageError(f"{self.name}={text} is not available: {why}", hint)
        value: Value
        if self.type in _NUMBER:
            if not re.fullmatch(_NUMBER[self.type], text):
                raise UsageError(f"{self.name}={text!r} is not {_TYPE_WORDS[self.type]}", hint)
            value = int(text) if self.type == "int" else float(text)
            if self.min is not None and value < self.min:
                raise UsageError(f"{self.name}={text} is below its least value {_num(self.min)}", hint)
            if self.max is not None and value > self.max:
                raise UsageError(f"{self.name}={text} is above its greatest value {_num(self.max)}", hint)
        elif self.type == "bool":
            if text.lower() not in TRUE + FALSE:
                raise UsageError(f"{self.name}={text!r} is not true or false", hint)
            value = text.lower() in TRUE
        else:
            value = text
            if self.pattern is not None and not re.fullmatch(self.pattern, text, re.IGNORECASE):
                raise UsageError(f"{self.name}={text!r} is not {self.form or 'of the form ' + self.pattern}", hint)
        if self.choices and text not in self.choices:
            raise UsageError(f"{self.name}={text!r} is not one of its values", hint)
        return value

    def text(self, value: Value) -> str:
        """The value as the compose variable carries it."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return format(value, "f").rstrip("0").rstrip(".")
        return str(value)


@dataclass(frozen=True)
class Rule:
    """A relation between a lab's parameters that the software behind them enforces (heartbeat refuses a
    deadtime not above twice its keepalive): `holds(values)` says whether it holds; `claim` says it in words."""

    names: tuple[str, ...]
    claim: str
    holds: Callable[[Mapping[str, Value]], bool]
    hint: str


@dataclass(frozen=True)
class LabSpec:
    name: str
    title: str
    params: tuple[Param, ...] = ()
    facts: Callable[[Lab], dict[str, Any]] = field(default=lambda lab: {})
    ready_timeout: float = 60.0
    scenario_timeout_s: float = 600.0  # a scenario's deadline (`--timeout` overrides): past it, error and down
    watch_interval_s: float = 1.0  # how often watched invariants are sampled between steps
    # (host, path) whose files a scenario keeps in its report (files/<lab>/<scenario>/<host>/...), copied out of
    # the lab before it goes down: what a person wants to open afterwards (a mirror, a dump)
    keep_files: tuple[tuple[str, str], ...] = ()
    rules: tuple[Rule, ...] = ()
    compose_folder: Path | None = None  # the folder of compose.yaml; None: opslab's own compose/<name>
    # more compose variables decided by the parameters' values (beyond each Param's own `env`)
    derived_env: Callable[[Mapping[str, Value]], Mapping[str, str]] = field(default=lambda values: {})
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # hosts by role (Ansible's groups)

    @property
    def compose_dir(self) -> Path:
        if self.compose_folder is not None:
            return self.compose_folder
        from lab.files import builtin_compose_dir

        return builtin_compose_dir(self.name)

    @property
    def compose_file(self) -> Path:
        return self.compose_dir / "compose.yaml"

    def compose(self, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The compose file as data, with the variables of `env` put in (see `interpolate`)."""
        doc: dict[str, Any] = yaml.safe_load(self.compose_file.read_text())
        return interpolate(doc, env) if env else doc

    @property
    def hosts(self) -> list[str]:
        return list(self.compose().get("services", {}))

    @property
    def networks(self) -> list[str]:
        return list(self.compose().get("networks", {}) or {})

    def param_values(self, overrides: Mapping[str, object] | None = None) -> dict[str, Value]:
        """Every parameter's value (an override, else the default), typed and checked, rules included."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - {p.name for p in self.params})
        if unknown:
            names = ", ".join(p.name for p in self.params) or "none"
            raise UsageError(
                f"lab {self.name} has no parameter {unknown[0]!r}",
                f"its parameters: {names} (`opslab list` shows their types and values)",
            )
        values: dict[str, Value] = {}
        for p in self.params:
            try:
                values[p.name] = p.parse(overrides.get(p.name, p.default))
            except UsageError as exc:
                raise UsageError(f"lab {self.name}: {exc.message}", exc.hint) from None
        for rule in self.rules:
            if not rule.holds(values):
                shown = ", ".join(f"{k}={self.param(k).text(values[k])}" for k in rule.names)
                raise UsageError(f"lab {self.name}: {rule.claim}, but {shown}", rule.hint)
        return values

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def param_env(self, overrides: Mapping[str, object] | None = None) -> dict[str, str]:
        """The compose variables for these overrides (see `param_values`)."""
        values = self.param_values(overrides)
        return {**{p.env: p.text(values[p.name]) for p in self.params}, **self.derived_env(values)}


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def interpolate(doc: Any, env: Mapping[str, str]) -> Any:
    """`doc` with `${NAME}`, `${NAME:-default}` and `${NAME-default}` of every string replaced as Compose does,
    for the names `env` gives; a name it does not give (a subnet known only once the lab starts) stays as
    written, and so does `$$`."""
    if isinstance(doc, dict):
        return {k: interpolate(v, env) for k, v in doc.items()}
    if isinstance(doc, list):
        return [interpolate(v, env) for v in doc]
    if not isinstance(doc, str):
        return doc

    def one(m: re.Match[str]) -> str:
        name, how, default = m.group(1), m.group(2), m.group(3)
        if name is None or name not in env:
            return m.group(0)
        value = env[name]
        return default if how == ":-" and value == "" else value

    return _VARIABLE.sub(one, doc)


def parse_params(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (`--param`, `--opslab-param`) as a dict; anything else is a clear error."""
    out = {}
    for kv in pairs:
        key, sep, value = kv.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"the parameter {kv!r} is not KEY=VALUE", "write it as NAME=VALUE, e.g. retrans_ms=500")
        out[key.strip()] = value.strip()
    return out


def parse_matrix(pairs: list[str]) -> list[dict[str, str]]:
    """`KEY=V1,V2` strings (`--matrix`, `--opslab-matrix`) as the list of every combination of their values, in
    order (`["engine=a,b"]` → `[{"engine": "a"}, {"engine": "b"}]`); none given → `[]`. A key given twice, or
    without values, is a clear error; whether the lab takes each value is `LabSpec.param_values`' to say."""
    axes: dict[str, list[str]] = {}
    for kv in pairs:
        key, sep, values = kv.partition("=")
        key = key.strip()
        hint = "write it as NAME=VALUE1,VALUE2, e.g. --matrix engine=mariadb-10.11,mariadb-11.8"
        if not sep or not key:
            raise UsageError(f"the matrix {kv!r} is not NAME=VALUE1,VALUE2", hint)
        if key in axes:
            raise UsageError(f"the matrix names {key!r} twice", "give each parameter's values in one NAME=V1,V2")
        axes[key] = [v.strip() for v in values.split(",") if v.strip()]
        if not axes[key]:
            raise UsageError(f"the matrix {kv!r} gives {key} no value", hint)
    combos: list[dict[str, str]] = [{}] if axes else []
    for key, vals in axes.items():
        combos = [{**c, key: v} for c in combos for v in vals]
    return combos


def matrix_label(combo: Mapping[str, object]) -> str:
    """A matrix combination as scenario ids carry it: `engine=mariadb-11.8` (several: joined by commas)."""
    return ",".join(f"{k}={v}" for k, v in combo.items())


def lab_names() -> list[str]:
    """The names of every registered lab (opslab's own and other packages', see lab.registry), sorted."""
    from lab.registry import labs

    return sorted(labs())


def get_spec(name: str) -> LabSpec:
    """The spec of the lab called `name`; an unknown name is a `UsageError` listing the labs there are."""
    from lab.registry import get_lab

    return get_lab(name).spec

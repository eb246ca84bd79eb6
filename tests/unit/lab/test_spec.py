"""Typed lab parameters: one parser (`LabSpec.param_values`) refuses every bad value with a Hint."""

import ast

import pytest

from lab.catalog import scenario_files
from lab.errors import UsageError
from lab.spec import LabSpec, Param, Rule, get_spec, lab_names

SPEC = LabSpec(
    "demo",
    "a lab to test parameters on",
    params=(
        Param("count", "3", "how many", "COUNT", type="int", min=0, max=10),
        Param("ratio", "0.5", "how much", "RATIO", type="float", min=0.1),
        Param("flag", "false", "whether", "FLAG", type="bool"),
        Param("size", "4M", "how big", "SIZE", pattern=r"\d+[km]?", form="a size like 4M"),
        Param("engine", "a", "which", "ENGINE", choices=("a", "b"), unavailable=(("c", "no image for c yet"),)),
    ),
    rules=(Rule(("count", "ratio"), "count must exceed ratio", lambda v: v["count"] > v["ratio"], "raise count"),),
)


def refused(overrides: dict[str, object]) -> str:
    with pytest.raises(UsageError) as exc:
        SPEC.param_values(overrides)
    assert exc.value.hint
    text = str(exc.value)
    assert len(text.splitlines()) <= 3
    return text


def test_defaults_and_overrides_are_typed_and_reach_compose_as_text() -> None:
    assert SPEC.param_values() == {"count": 3, "ratio": 0.5, "flag": False, "size": "4M", "engine": "a"}
    values = SPEC.param_values({"count": " 07 ", "ratio": "2", "flag": "yes", "size": "512k", "engine": "b"})
    assert values == {"count": 7, "ratio": 2.0, "flag": True, "size": "512k", "engine": "b"}
    env = SPEC.param_env({"count": "7", "ratio": "2", "flag": True})
    assert env["COUNT"] == "7" and env["RATIO"] == "2" and env["FLAG"] == "true"
    assert SPEC.param_env({"ratio": "0.25"})["RATIO"] == "0.25"


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"nosuch": "1"}, "lab demo has no parameter 'nosuch'\nHint: its parameters: count, ratio"),
        ({"count": "abc"}, "count='abc' is not a whole number\nHint: count takes int 0..10"),
        ({"count": "2.5"}, "count='2.5' is not a whole number"),
        ({"count": "11"}, "count=11 is above its greatest value 10"),
        ({"count": "-1"}, "count=-1 is below its least value 0"),
        ({"ratio": "nan"}, "ratio='nan' is not a number\nHint: ratio takes float >= 0.1"),
        ({"ratio": "0.05"}, "ratio=0.05 is below its least value 0.1"),
        ({"flag": "maybe"}, "flag='maybe' is not true or false"),
        ({"size": "4 M"}, "size='4 M' is not a size like 4M\nHint: size takes str, a size like 4M"),
        ({"engine": "z"}, "engine='z' is not one of its values\nHint: engine takes one of: a, b (not available"),
        ({"engine": "c"}, "engine=c is not available: no image for c yet\nHint: engine takes one of"),
        ({"count": "0", "ratio": "1"}, "lab demo: count must exceed ratio, but count=0, ratio=1\nHint: raise count"),
    ],
)
def test_a_bad_value_is_refused_with_what_to_give_instead(overrides: dict[str, object], says: str) -> None:
    assert says in refused(overrides)


@pytest.mark.parametrize("lab", lab_names())
def test_every_lab_declares_typed_params_whose_defaults_parse(lab: str) -> None:
    spec = get_spec(lab)
    assert spec.params, f"{lab} has no parameters"
    for p in spec.params:
        assert p.type != "str" or p.choices or p.pattern, f"{lab}.{p.name}: say what text it takes"
        assert p.type == "str" or p.min is not None or p.choices, f"{lab}.{p.name}: say its range"
    env = spec.param_env()
    assert set(env) == {p.env for p in spec.params} | set(spec.derived_env(spec.param_values()))


def marker_params(lab: str) -> list[dict[str, object]]:
    """The keyword arguments of every `lab_params(...)` marker in the lab's scenario files."""
    found = []
    for path in scenario_files(lab):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "lab_params":
                found.append({k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg})
    return found


@pytest.mark.parametrize("lab", lab_names())
def test_the_scenarios_own_params_are_valid(lab: str) -> None:
    for params in marker_params(lab):
        get_spec(lab).param_values(params)


@pytest.mark.parametrize(
    ("lab", "overrides", "says"),
    [
        ("arp", {"delay_first_probe_s": "abc"}, "lab arp: delay_first_probe_s='abc' is not a whole number"),
        ("arp", {"retrans_ms": "5"}, "retrans_ms=5 is below its least value 10"),
        ("arp", {"delay_first_probe_s": "9999999"}, "is above its greatest value 2147483"),
        ("mysql", {"engine": "nosuchengine"}, "engine='nosuchengine' is not one of its values"),
        ("mysql", {"engine": "mysql8"}, "engine=mysql8 is not available: MySQL 8.0.22+ is not packaged by Debian"),
        ("drbd", {"keepalive": "2s"}, "keepalive='2s' is not a heartbeat time"),
        ("drbd", {"keepalive": "0ms"}, "heartbeat refuses a keepalive under 1 ms"),
        ("drbd", {"deadtime_s": "0.5"}, "deadtime not above twice the keepalive, but deadtime_s=0.5, keepalive=250ms"),
        ("drbd", {"initdead_s": "1"}, "initdead below the deadtime, but initdead_s=1, deadtime_s=2"),
        ("drbd", {"resync_rate": "fast"}, "resync_rate='fast' is not a rate like 4M"),
        ("drbd", {"resync_rate": "0"}, "resync_rate='0' is not a rate like 4M"),
        ("mirror", {"limit_rate": "0"}, "limit_rate='0' is not a rate above 0"),
        ("mirror", {"wait_s": "0"}, "wait_s=0 is below its least value 0.1"),
        ("mirror", {"large_kb": "64"}, "large_kb=64 is below its least value 256"),
        ("openvpn", {"pi_tun_device": "/dev/sda"}, "pi_tun_device='/dev/sda' is not one of its values"),
        ("openvpn", {"pi_net_admin": "SYS_ADMIN"}, "Hint: pi_net_admin takes one of: NET_ADMIN, NET_RAW"),
    ],
)
def test_each_lab_refuses_what_its_software_would(lab: str, overrides: dict[str, str], says: str) -> None:
    with pytest.raises(UsageError) as exc:
        get_spec(lab).param_values(overrides)
    assert says in str(exc.value) and exc.value.hint


@pytest.mark.parametrize(
    ("lab", "overrides"),
    [
        ("arp", {"delay_first_probe_s": "14400", "retrans_ms": "10", "ucast_solicit": "0"}),
        ("drbd", {"keepalive": "1", "deadtime_s": "2.5", "initdead_s": "2.5", "resync_rate": "250"}),
        ("drbd", {"keepalive": "500000us", "deadtime_s": "1.01"}),
        ("mirror", {"wait_s": "0.2", "limit_rate": "1.5m", "large_kb": "256"}),
        ("openvpn", {"pi_tun_device": "/dev/null", "pi_net_admin": "NET_RAW"}),
    ],
)
def test_what_works_is_accepted(lab: str, overrides: dict[str, str]) -> None:
    get_spec(lab).param_values(overrides)


def test_a_matrix_is_every_combination_of_its_values() -> None:
    from lab.spec import matrix_label, parse_matrix

    assert parse_matrix([]) == []
    assert parse_matrix(["engine=a, b"]) == [{"engine": "a"}, {"engine": "b"}]
    combos = parse_matrix(["engine=a,b", "n=1,2"])
    assert combos == [
        {"engine": "a", "n": "1"},
        {"engine": "a", "n": "2"},
        {"engine": "b", "n": "1"},
        {"engine": "b", "n": "2"},
    ]
    assert matrix_label(combos[1]) == "engine=a,n=2"
    for bad, message in (
        (["engine"], "is not NAME=VALUE1,VALUE2"),
        (["engine=,"], "gives engine no value"),
        (["e=a", "e=b"], "names 'e' twice"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_matrix(bad)


def test_compose_variables_are_put_in_as_compose_reads_them() -> None:
    from lab.spec import interpolate

    doc = {"image": "x:${E}", "args": ["${S:-dflt}", "${S-dflt}", "${DB_NET}.10", "$${E}"], "n": 3}
    assert interpolate(doc, {"E": "e1", "S": ""}) == {
        "image": "x:e1",
        "args": ["dflt", "", "${DB_NET}.10", "$${E}"],
        "n": 3,
    }


def test_the_mysql_engine_picks_its_image_and_debian_suite() -> None:
    from lab.images import lab_images

    spec = get_spec("mysql")
    for engine, suite in (("mariadb-10.11", "bookworm"), ("mariadb-11.8", "trixie")):
        env = spec.param_env({"engine": engine})
        assert env == {"MYSQL_ENGINE": engine, "MYSQL_SUITE": suite}
        ((image, build),) = lab_images(spec, env).items()
        assert image == f"opslab/mysql-node:{engine}"
        assert build["args"] == {"BASE": f"opslab/base:{suite}", "ENGINE": engine}

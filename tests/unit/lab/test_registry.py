"""Labs are plugins: every lab, opslab's own included, comes from an `opslab.labs` entry point (lab.registry)."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from lab import registry
from lab.errors import EnvironmentProblem, UsageError
from lab.files import files_root
from lab.spec import get_spec, lab_names

OWN = ["arp", "drbd", "mirror", "mysql", "openvpn"]


def test_opslabs_own_labs_register_through_the_entry_point() -> None:
    assert set(OWN) <= set(lab_names())  # and whatever other packages are installed (examples/keepalived)
    for name in OWN:
        lab = registry.get_lab(name)
        assert lab.spec is get_spec(name) and lab.name == name
        assert lab.origin.startswith("opslab ") and f"{name} = scenarios.{name}.definition:LAB" in lab.origin
        assert lab.scenario_files() and lab.spec.compose_file.is_file()
        assert lab.procedures and lab.invariants and set(lab.plans) <= set(lab.procedures)


def test_an_unknown_lab_is_a_usage_error_listing_the_labs() -> None:
    with pytest.raises(UsageError, match="no lab named 'nosuch'") as e:
        registry.get_lab("nosuch")
    assert "arp, drbd" in str(e.value.hint)


def test_a_scenario_file_belongs_to_the_lab_whose_folder_holds_it() -> None:
    arp = registry.get_lab("arp")
    assert registry.lab_of_file(arp.scenario_files()[0]) == "arp"
    assert registry.lab_of_file(Path(__file__)) is None


def test_the_lab_files_are_laid_out_as_the_repository() -> None:
    root = files_root()
    assert (root / "compose" / "arp" / "compose.yaml").is_file() and (root / "fixtures" / "mirror").is_dir()
    assert (root / "sims" / "drbd").is_dir() and (root / ".dockerignore").is_file()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("no_such_module_xyz:LAB", "does not load: ModuleNotFoundError"),
        ("scenarios.arp.lab:SPEC", "points at a LabSpec, not a LabDefinition"),
        ("scenarios.mysql.definition:LAB", "defines a lab named 'mysql'"),
    ],
)
def test_a_broken_plugin_is_named_with_a_hint(value: str, says: str) -> None:
    with pytest.raises(EnvironmentProblem, match=says) as e:
        registry._load(EntryPoint("arp", value, registry.GROUP))
    assert "the lab plugin arp from" in e.value.message and e.value.hint


def test_two_packages_registering_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPoint("arp", "scenarios.arp.definition:LAB", registry.GROUP)] * 2
    monkeypatch.setattr(registry, "entry_points", lambda group: eps)
    origins = iter(["pkg-a 1", "pkg-b 2", "pkg-b 2"])
    monkeypatch.setattr(registry, "_origin", lambda ep: next(origins))
    registry.labs.cache_clear()
    try:
        with pytest.raises(EnvironmentProblem, match="two packages register a lab named arp"):
            registry.labs()
    finally:
        registry.labs.cache_clear()


def test_no_lab_at_all_says_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    registry.labs.cache_clear()
    try:
        with pytest.raises(EnvironmentProblem, match="no lab is registered"):
            registry.labs()
    finally:
        registry.labs.cache_clear()


def test_pyproject_installs_every_package_and_registers_every_own_lab() -> None:
    """The packages are listed by hand (the lab files' data package is mapped onto the repository root, which
    package discovery cannot combine with): a new lab's package, or its entry point, cannot be forgotten."""
    import tomllib

    from lab.spec import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("lab", "scenarios", "sims")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert on_disk | {"opslab_files"} == listed
    labs = {p.parent.name for p in (ROOT / "scenarios").glob("*/definition.py")}
    entry_points = project["project"]["entry-points"]["opslab.labs"]
    assert entry_points == {name: f"scenarios.{name}.definition:LAB" for name in labs}

"""The checks the command line and the plugin share: they read, refuse with a Hint, and leave nothing behind."""

from pathlib import Path

import pytest

from lab.errors import UsageError
from lab.inputs import check_host, check_procedure, check_report_dir, check_run, lab_of


def test_a_report_folder_that_can_be_made_is_not_made_yet(tmp_path: Path) -> None:
    assert check_report_dir(tmp_path / "a" / "b") == (tmp_path / "a" / "b").resolve()
    assert list(tmp_path.iterdir()) == []
    assert check_report_dir(tmp_path) == tmp_path.resolve()
    assert list(tmp_path.iterdir()) == []


def test_a_report_folder_that_cannot_be_written_names_the_option(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError) as exc:
        check_report_dir(tmp_path / "f", option="--opslab-report")
    assert "is a file" in exc.value.message and "--opslab-report" in str(exc.value.hint)


def test_a_procedure_is_checked_against_every_lab_it_replaces_in(tmp_path: Path) -> None:
    runbook = tmp_path / "r.steps"
    runbook.write_text("gateway: true\n")
    check_procedure(f"migrate_with_garp={runbook}", ["arp"])
    with pytest.raises(UsageError, match="no host 'gateway'"):
        check_procedure(str(runbook), ["arp", "mysql"])


def test_check_run_checks_params_for_every_lab(tmp_path: Path) -> None:
    check_run(["arp"], {"retrans_ms": "500"}, None, tmp_path)
    with pytest.raises(UsageError, match="lab mysql has no parameter 'retrans_ms'"):
        check_run(["arp", "mysql"], {"retrans_ms": "500"}, None, tmp_path)


def test_lab_of_a_lab_or_an_instance() -> None:
    assert lab_of("arp") == "arp"
    assert lab_of("opslab-mysql-0a1b2c") == "mysql"
    for bad in ("nosuch", "opslab-nosuch-0a1b2c", "opslab-arp-"):
        with pytest.raises(UsageError, match="no lab or instance"):
            lab_of(bad)
    check_host("arp", "gateway")
    with pytest.raises(UsageError, match="its hosts: gateway, old, new, client"):
        check_host("arp", "nosuch")

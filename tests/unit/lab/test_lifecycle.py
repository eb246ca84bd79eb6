import ipaddress
import os
from pathlib import Path
from typing import Any

import pytest

import lab.lifecycle as lab_lifecycle
from lab.errors import OpslabError, UsageError
from lab.lifecycle import BLACKHOLE_HOST, Lab, allocate_subnets, owner_alive, owner_token, resolver_mode
from lab.spec import get_spec, lab_names


def test_subnets_skip_what_docker_networks_use() -> None:
    got = allocate_subnets(2, ["10.213.0.0/24", "172.17.0.0/16", "10.213.2.0/23"], pool="10.213.0.0/16")
    assert got == [ipaddress.ip_network("10.213.1.0/24"), ipaddress.ip_network("10.213.4.0/24")]


def test_an_exhausted_pool_is_a_clear_error() -> None:
    with pytest.raises(OpslabError) as e:
        allocate_subnets(2, ["10.0.0.0/24"], pool="10.0.0.0/23")
    assert "no free /24" in e.value.message and "OPSLAB_SUBNET_POOL" in (e.value.hint or "")


def test_owner_token_is_alive_for_this_process_and_dead_for_a_gone_one() -> None:
    assert owner_alive(owner_token())
    host, pid, start = owner_token().rsplit(":", 2)
    assert not owner_alive(f"{host}:{pid}:{int(start) + 1}")  # same pid, another process (pid reuse)
    assert not owner_alive(f"{host}:999999999:1")
    assert owner_alive(f"another-machine:{os.getpid()}:1")  # not ours to judge
    assert not owner_alive("garbage")


def _lab_with_subnets(name: str, resolver: str) -> Lab:
    lab = Lab(get_spec(name), resolver=resolver)
    for i, net in enumerate(lab.spec.networks):  # what up() allocates
        lab.env[f"{net.upper()}_NET"] = f"10.99.{i}"
    return lab


def test_the_resolver_mode_comes_from_the_environment_and_a_bad_one_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPSLAB_RESOLVER", raising=False)
    assert resolver_mode() == "machine"
    monkeypatch.setenv("OPSLAB_RESOLVER", "blackhole")
    assert resolver_mode() == "blackhole"
    assert resolver_mode("machine") == "machine"  # an argument wins over the environment
    monkeypatch.setenv("OPSLAB_RESOLVER", "none")
    with pytest.raises(UsageError) as e:
        resolver_mode()
    assert "'none'" in e.value.message and "blackhole" in (e.value.hint or "")


@pytest.mark.parametrize("name", lab_names())
def test_blackhole_gives_every_networked_host_an_unheld_resolver_in_its_own_lab(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab_lifecycle, "pinned", lambda spec, env=None: {})
    lab = _lab_with_subnets(name, "blackhole")
    services = lab.spec.compose()["services"]
    got = lab.service_overrides()
    networked = {s for s, svc in services.items() if not svc.get("network_mode")}
    assert set(got) == networked
    lab_prefixes = {lab.net_prefix(n) for n in lab.spec.networks}
    held = {str(a.get("ipv4_address")) for svc in services.values() for a in (svc.get("networks") or {}).values() if a}
    assert not any(h.endswith(f".{BLACKHOLE_HOST}") for h in held), f"{name}: a host holds .{BLACKHOLE_HOST}"
    for service, settings in got.items():
        [address] = settings["dns"]
        prefix, last = address.rsplit(".", 1)
        assert prefix in lab_prefixes and int(last) == BLACKHOLE_HOST, (service, address)
    assert _lab_with_subnets(name, "machine").service_overrides() == {}


def test_every_instance_runs_the_image_of_its_own_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab_lifecycle, "pinned", lambda spec, env=None: {"old": "opslab/arp-node:0123abcd"})
    assert _lab_with_subnets("arp", "machine").service_overrides() == {"old": {"image": "opslab/arp-node:0123abcd"}}
    got = _lab_with_subnets("arp", "blackhole").service_overrides()
    assert got["old"]["image"] == "opslab/arp-node:0123abcd" and "dns" in got["old"] and "image" not in got["new"]


class FakeContainer:
    def __init__(self, project: str) -> None:
        self.name = f"{project}-old-1"
        self.status = "running"
        self.attrs = {"Config": {"Labels": {
            "org.opslab.lab": "arp", "org.opslab.owner": "gone:1:1", "org.opslab.keep": "0",
            "com.docker.compose.project": project, "com.docker.compose.service": "old",
        }}}  # fmt: skip


class FakeEngine:
    def __init__(self, *containers: FakeContainer) -> None:
        class Listing:
            def __init__(self, items: list[Any]) -> None:
                self.items = items

            def list(self, **kw: Any) -> list[Any]:
                return list(self.items)

        self.containers, self.networks, self.volumes = Listing(list(containers)), Listing([]), Listing([])


def test_a_lab_kept_after_it_started_is_kept_for_status_and_sweeps_until_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lab import dockerapi, lifecycle

    project = "opslab-arp-abc123"
    engine = FakeEngine(FakeContainer(project))
    monkeypatch.setattr(dockerapi, "client", lambda: engine)
    monkeypatch.setattr(lifecycle, "KEPT_DIR", tmp_path / "kept")
    monkeypatch.setattr(lifecycle, "remove_project", lambda p: engine.containers.items.clear())
    assert lifecycle.instances()[project]["keep"] is False
    lab = lifecycle.Lab(get_spec("arp"), project=project)
    lab.keep_from_now()
    assert lab.keep and lifecycle.instances()[project]["keep"] is True
    assert lifecycle.sweep_stale() == [] and engine.containers.items  # its owner is gone, yet it stays


def test_removing_a_project_forgets_that_it_was_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lab import dockerapi, lifecycle

    monkeypatch.setattr(dockerapi, "client", lambda: FakeEngine())
    monkeypatch.setattr(lifecycle, "KEPT_DIR", tmp_path)
    (tmp_path / "opslab-arp-abc123").touch()
    lifecycle.remove_project("opslab-arp-abc123")
    assert not (tmp_path / "opslab-arp-abc123").exists()


def test_down_without_a_name_removes_only_leftovers_and_this_users_kept_instances() -> None:
    from lab.lifecycle import down_plan, user_token

    me = user_token()
    host, pid, start = owner_token().rsplit(":", 2)
    gone = f"{host}:{pid}:{int(start) + 1}"  # this pid with another start time: a process that is gone
    found = {
        "opslab-arp-live01": {"owner": owner_token(), "keep": False, "user": me},  # a run in progress (this one)
        "opslab-arp-dead01": {"owner": gone, "keep": False, "user": "someone@else"},  # a killed run's leftover
        "opslab-arp-mine01": {"owner": gone, "keep": True, "user": me},  # kept by me (`opslab up`)
        "opslab-arp-them01": {"owner": gone, "keep": True, "user": "other@" + me.split("@")[1]},
        "opslab-arp-old001": {"owner": gone, "keep": True, "user": ""},  # kept before users were labelled
        "opslab-arp-far001": {"owner": "elsewhere:12:34", "keep": False, "user": "x@elsewhere"},
    }
    remove, left = down_plan(found)
    assert remove == ["opslab-arp-dead01", "opslab-arp-mine01"]
    assert set(left) == {"opslab-arp-live01", "opslab-arp-them01", "opslab-arp-old001", "opslab-arp-far001"}
    assert "running process" in left["opslab-arp-live01"] and "kept by other@" in left["opslab-arp-them01"]
    assert left["opslab-arp-far001"] == "in use by a running process (pid 12 on elsewhere)"


def test_a_retry_skips_free_subnets_and_falls_back_to_the_first_when_few_are_left() -> None:
    got = allocate_subnets(2, ["10.213.0.0/24"], pool="10.213.0.0/16", skip=3)
    assert [str(n) for n in got] == ["10.213.4.0/24", "10.213.5.0/24"]
    got = allocate_subnets(2, ["10.0.0.0/24"], pool="10.0.0.0/22", skip=5)
    assert [str(n) for n in got] == ["10.0.1.0/24", "10.0.2.0/24"]

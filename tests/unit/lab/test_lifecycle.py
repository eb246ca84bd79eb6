import ipaddress
import os

import pytest

from lab.errors import OpslabError
from lab.lifecycle import allocate_subnets, owner_alive, owner_token


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

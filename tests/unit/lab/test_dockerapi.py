"""Which engine opslab uses, and --engines: form checked without contacting anything."""

from __future__ import annotations

import pytest

from lab import dockerapi
from lab.errors import CommandError, UsageError
from lab.lifecycle import pool_taken


def test_docker_host_wins_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://build-3.example:2375")
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    assert dockerapi.engine() == dockerapi.Engine("tcp://build-3.example:2375", "DOCKER_HOST")


def test_bind_points_this_process_and_its_commands_at_one_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    monkeypatch.setenv("DOCKER_CONTEXT", "elsewhere")
    dockerapi.bind("unix:///tmp/opslab-dockerd2/docker.sock")
    import os

    assert os.environ["DOCKER_HOST"] == "unix:///tmp/opslab-dockerd2/docker.sock"
    assert "DOCKER_CONTEXT" not in os.environ
    assert dockerapi.engine().url == "unix:///tmp/opslab-dockerd2/docker.sock"


def test_parse_engines_keeps_the_order() -> None:
    urls = "unix:///var/run/docker.sock, tcp://10.0.0.5:2375,ssh://ci@build-2"
    assert dockerapi.parse_engines(urls) == [
        "unix:///var/run/docker.sock",
        "tcp://10.0.0.5:2375",
        "ssh://ci@build-2",
    ]


@pytest.mark.parametrize(
    "bad", ["", ",", "unix:///a.sock,", "http://example.org", "build-2:2375", "tcp://", "unix:///a.sock,unix:///a.sock"]
)
def test_parse_engines_refuses_what_is_not_a_list_of_engines(bad: str) -> None:
    with pytest.raises(UsageError) as err:
        dockerapi.parse_engines(bad)
    assert err.value.hint


def test_an_unreachable_engine_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError) as err:
        dockerapi.check_reachable(["unix:///nonexistent/opslab/docker.sock"])
    assert "does not answer" in err.value.message and "DOCKER_HOST=" in (err.value.hint or "")


def test_a_pool_taken_meanwhile_is_told_from_other_compose_failures() -> None:
    taken = "failed to create network opslab-arp-1_lan: Error response from daemon: Pool overlaps with other one"
    assert pool_taken(CommandError("docker compose up --no-start", 1, "", taken))
    assert not pool_taken(CommandError("docker compose up --no-start", 1, "", "no such image: opslab/arp-node"))


def test_bound_uses_an_engine_for_a_block_then_gives_back_the_one_before(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from lab.dockerapi import bound

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONTEXT", "build-3")
    with bound("unix:///tmp/other.sock"):
        assert os.environ["DOCKER_HOST"] == "unix:///tmp/other.sock" and "DOCKER_CONTEXT" not in os.environ
    assert "DOCKER_HOST" not in os.environ and os.environ["DOCKER_CONTEXT"] == "build-3"
    with bound(None):
        assert os.environ["DOCKER_CONTEXT"] == "build-3"

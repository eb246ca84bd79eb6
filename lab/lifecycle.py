"""Lab lifecycle: bring one instance of a lab up, know its hosts, take it down; find what a killed run left.

An instance is one Compose project named `opslab-<lab>-<token>` with its own /24 subnets taken from a pool
(`OPSLAB_SUBNET_POOL`, default 10.213.0.0/16) that no other Docker network uses, so several labs, and
several copies of one lab, run side by side. The engine is the only record of what is taken, so allocation is safe
for every process using that engine, on this machine or another (parallel workers, other users' runs, CI runners
sharing a remote engine): the free /24s are read from the engine's networks, compose creates the project's
networks with them, and when the engine refuses one because another process took an overlapping pool meanwhile
("Pool overlaps"), what was made is removed and the allocation is tried again from a fresh read, a random
number of free /24s further on (`ALLOCATION_TRIES` times). Nothing about subnets is kept on this machine.

Every engine: the docker SDK client (lab.dockerapi) and every `docker`/`docker compose` command opslab runs use
the engine of `DOCKER_HOST` / the current docker context, so a lab runs the same on an engine elsewhere; nothing a
lab needs is on this machine's filesystem or network (packet capture runs in a lab host, lab.capture; fixtures are
baked into images).
Every container, network and volume carries the labels `org.opslab.lab`, `org.opslab.owner` (host:pid:start time
of the process that made it), `org.opslab.user` (user@machine), `org.opslab.keep` and `org.opslab.params` (its
parameters: `Lab.attach(spec, project)` finds a running instance's facts from them). `down_plan()` is what
`opslab down` without a name removes: what killed runs left and this user's kept instances, never an instance a
live run uses or another user's kept one.

- `up()` returns when every host is healthy (compose healthchecks, polled with a deadline) and shows progress.
- `down()` removes containers, networks and volumes of the instance.
- `with Lab(spec) as lab:` takes the lab down on any exit, Ctrl-C included, unless `keep=True`.
- `sweep_stale()` removes what runs whose owner process is gone left behind (kept labs excepted);
  `up()` calls it first.
- `keep_from_now()` keeps a lab that was started to be removed (a rehearsal aborted by a person who wants to
  look around): labels cannot change on a running container, so a marker file (`KEPT_DIR/<project>`) says so,
  read wherever the keep label is; `remove_project` deletes it.

The outside resolver. Containers on a lab network resolve through Docker's embedded DNS (127.0.0.11), which
answers the lab's own names (services, aliases) and forwards anything else (unknown names, reverse lookups of
addresses no container holds) to the machine's resolver. Labs need nothing from it: every name a lab uses is
its own, and no lab program makes a lookup it waits on. `resolver=` (default: `OPSLAB_RESOLVER`) proves it:
- `machine` (the default): Docker's usual forwarding, nothing changed;
- `blackhole`: every service's upstream DNS (`dns:`) is `<prefix>.253` of its first network, an address inside
  the lab's own subnet that no host holds, so a forwarded query goes nowhere (no ARP answer, nothing leaves
  the lab) and an outside lookup hangs for the client's whole timeout (glibc: 2 tries of 5 s) instead of
  answering. A lab that still depends on outside DNS gets slow or fails there, on every machine alike.
  `<prefix>.253` is reserved: no lab may give it to a host (.254 is each lab network's gateway). Hosts with
  `network_mode` (no network, or another's) are left as they are.
`service_overrides()` is what opslab asks of each service: the image of this checkout's inputs
(`images.pinned`) and what the resolver mode needs; a lab that recreates a host with its own compose command
(drbd replaces nodes) adds it, so a replaced host runs the same image and resolves like the rest.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import secrets
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from lab import dockerapi
from lab.errors import CommandError, OpslabError, UsageError, WaitTimeout
from lab.host import DockerTransport, Host
from lab.images import build_lab, pinned
from lab.proc import run
from lab.spec import LabSpec
from lab.wait import wait_until

LABEL_LAB = "org.opslab.lab"
LABEL_OWNER = "org.opslab.owner"
LABEL_KEEP = "org.opslab.keep"
LABEL_PARAMS = "org.opslab.params"  # the instance's parameters (JSON), so `Lab.attach` can work out its facts
LABEL_USER = "org.opslab.user"  # user@machine that made the instance (`opslab down` removes only its own kept ones)
LABEL_PROJECT = "com.docker.compose.project"
PROJECT_PREFIX = "opslab-"
RESOLVERS = ("machine", "blackhole")
BLACKHOLE_HOST = 253  # the last octet of the black-holed resolver's address in a lab network (see above)
ALLOCATION_TRIES = 10  # allocations tried when the engine refuses a pool another process took meanwhile
KEPT_DIR = Path(tempfile.gettempdir()) / "opslab-kept"  # projects kept after they were started (keep_from_now)

Progress = Callable[[str], None]


def _proc_start(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_token(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_proc_start(pid)}"


def user_token() -> str:
    """Who makes an instance: `user@machine` (the effective user's name, else its uid)."""
    try:
        import pwd

        user = pwd.getpwuid(os.geteuid()).pw_name
    except (KeyError, ImportError):
        user = str(os.geteuid())
    return f"{user}@{socket.gethostname()}"


def down_plan(found: dict[str, dict[str, Any]]) -> tuple[list[str], dict[str, str]]:
    """What `opslab down` without a name removes, from `instances()`: (projects to remove, {project: why it is
    left}). Removed: instances whose owner process is gone (a killed run's, not kept) and this user's kept ones
    on this machine. Left: an instance a run still uses (its owner process is alive, on this machine or another
    machine), and instances kept by another user or made on another machine (or with no user label)."""
    me = user_token()
    remove: list[str] = []
    left: dict[str, str] = {}
    for project, info in sorted(found.items()):
        user = info.get("user") or ""
        if info["keep"]:
            if user == me:
                remove.append(project)
            else:
                left[project] = f"kept by {user or 'an unknown user'}"
        elif owner_alive(info["owner"]):
            host, _, rest = str(info["owner"]).partition(":")
            pid = rest.split(":")[0]
            left[project] = f"in use by a running process (pid {pid} on {host})"
        else:
            remove.append(project)
    return remove, left


def owner_alive(token: str) -> bool:
    """Whether the process that made a resource still runs (another machine's owner counts as alive)."""
    try:
        host, pid, start = token.rsplit(":", 2)
        return host != socket.gethostname() or (_proc_start(int(pid)) == start and start != "")
    except ValueError:
        return False


def resolver_mode(value: str | None = None) -> str:
    """The resolver mode asked for (`value`, else `OPSLAB_RESOLVER`, else `machine`), checked."""
    mode = (value if value is not None else os.environ.get("OPSLAB_RESOLVER", "")).strip() or "machine"
    if mode not in RESOLVERS:
        raise UsageError(
            f"unknown resolver mode {mode!r} (OPSLAB_RESOLVER)",
            f"use one of: {', '.join(RESOLVERS)} (blackhole: the labs' containers get no answer from outside DNS)",
        )
    return mode


def service_networks(service: dict[str, Any]) -> list[str]:
    """The networks a compose service joins, in the order its file names them (none with `network_mode`)."""
    if service.get("network_mode"):
        return []
    nets = service.get("networks")
    return list(nets or {}) if not isinstance(nets, list) else [str(n) for n in nets]


def allocate_subnets(
    count: int, used: list[str], pool: str | None = None, skip: int = 0
) -> list[ipaddress.IPv4Network]:
    """The first `count` /24s of the pool that overlap no network in `used`, after passing over `skip` free ones
    (a retry spreads out so that processes that collided do not collide again; fewer free ones: no skip)."""
    pool_net = ipaddress.IPv4Network(pool or os.environ.get("OPSLAB_SUBNET_POOL", "10.213.0.0/16"))
    taken = [ipaddress.ip_network(u, strict=False) for u in used]
    free: list[ipaddress.IPv4Network] = []
    for candidate in pool_net.subnets(new_prefix=24):
        if not any(candidate.overlaps(t) for t in taken):
            free.append(candidate)
            if len(free) == count + skip:
                return free[skip:]
    if len(free) >= count:
        return free[:count]
    raise OpslabError(
        f"no free /24 left in the subnet pool {pool_net}",
        "take labs down (`opslab down`) or set OPSLAB_SUBNET_POOL to a larger private range",
    )


def engine_subnets() -> list[str]:
    """Every IPv4 subnet of the engine's networks (any project's, any user's), as the engine reports them."""
    return [
        c["Subnet"]
        for n in dockerapi.client().api.networks()
        for c in ((n.get("IPAM") or {}).get("Config") or [])
        if c.get("Subnet") and ":" not in c["Subnet"]
    ]


def pool_taken(exc: CommandError) -> bool:
    """Whether the engine refused a network because its subnet overlaps one that exists (taken meanwhile)."""
    return "overlaps" in f"{exc.stderr}\n{exc.stdout}".lower()


@contextmanager
def interrupts_as_keyboard() -> Iterator[None]:
    """SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so every `finally` (heals, down) still runs."""

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Lab:
    def __init__(
        self,
        spec: LabSpec,
        *,
        params: dict[str, str] | None = None,
        keep: bool = False,
        progress: Progress | None = None,
        project: str | None = None,
        resolver: str | None = None,
    ) -> None:
        self.spec = spec
        self.resolver = resolver_mode(resolver)
        self.keep = keep
        self.progress: Progress = progress or (lambda msg: None)
        self.project = project or f"{PROJECT_PREFIX}{spec.name}-{secrets.token_hex(3)}"
        self.env: dict[str, str] = spec.param_env(params)
        # the parameters as the run used them (defaults filled in), for the report
        self.params = {p.name: str((params or {}).get(p.name, p.default)) for p in spec.params}
        self._hosts: dict[str, Host] = {}
        self._override: Path | None = None
        self.started: float | None = None

    @classmethod
    def attach(cls, spec: LabSpec, project: str) -> Lab:
        """The running instance `project` of this lab, as `up()` left it (its parameters from its label, its
        subnets from its networks), to ask about (hosts, facts), e.g. for `opslab inventory`. It is kept: the
        caller did not start it and does not take it down."""
        client = dockerapi.client()
        containers = client.containers.list(filters={"label": f"{LABEL_PROJECT}={project}"})
        if not containers:
            raise UsageError(f"no instance {project} is running", "`opslab status` lists the running instances")
        params = json.loads(containers[0].labels.get(LABEL_PARAMS) or "{}")
        lab = cls(spec, params=params, keep=True, project=project)
        for name in spec.networks:
            config = client.networks.get(f"{project}_{name}").attrs.get("IPAM", {}).get("Config") or []
            subnet = next(c["Subnet"] for c in config if ":" not in c.get("Subnet", ":"))
            lab.env[f"{name.upper()}_NET"] = str(ipaddress.ip_network(subnet).network_address).rsplit(".", 1)[0]
        return lab

    # -- compose -----------------------------------------------------------------------------------
    def _compose(self, *args: str, stream: bool = False, check: bool = True, timeout: float | None = None) -> Any:
        files = ["-f", str(self.spec.compose_file)]
        if self._override:
            files += ["-f", str(self._override)]
        env = {**os.environ, **self.env, "COMPOSE_PROJECT_NAME": self.project}
        return run(
            ["docker", "compose", "-p", self.project, *files, *args],
            env=env,
            stream=stream,
            check=check,
            timeout=timeout,
            cwd=str(self.spec.compose_dir),
            hint=f"see the hosts' logs with `docker compose -p {self.project} logs`, or run `opslab doctor`",
        )

    def service_overrides(self) -> dict[str, dict[str, Any]]:
        """Per service, the compose settings opslab sets: the pinned image of a built service, and what the
        resolver mode asks for (nothing for `machine`; `blackhole` needs the subnets)."""
        out: dict[str, dict[str, Any]] = {svc: {"image": ref} for svc, ref in pinned(self.spec, self.env).items()}
        if self.resolver == "machine":
            return out
        for name, service in (self.spec.compose().get("services") or {}).items():
            nets = service_networks(service or {})
            if nets:
                out.setdefault(name, {})["dns"] = [f"{self.net_prefix(nets[0])}.{BLACKHOLE_HOST}"]
        return out

    def _write_override(self) -> Path:
        """A compose override that puts opslab's labels on every service, network and volume, and the resolver
        mode's settings on every service (so it is written once the subnets are known)."""
        compose = self.spec.compose()
        labels = {
            LABEL_LAB: self.spec.name,
            LABEL_OWNER: owner_token(),
            LABEL_USER: user_token(),
            LABEL_KEEP: "1" if self.keep else "0",
            LABEL_PARAMS: json.dumps(self.params, sort_keys=True),
        }
        extra = self.service_overrides()
        doc: dict[str, Any] = {
            "services": {s: {"labels": labels, **extra.get(s, {})} for s in compose.get("services", {})}
        }
        for kind in ("networks", "volumes"):
            names = list(compose.get(kind) or {})
            if names:
                doc[kind] = {n: {"labels": labels} for n in names}
        fd, path = tempfile.mkstemp(prefix=f"{self.project}-", suffix=".override.json")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        return Path(path)

    # -- lifecycle ---------------------------------------------------------------------------------
    def up(self, *, build: bool = True) -> Lab:
        """Bring the instance up; `build=False` when the caller built the lab's images just before."""
        sweep_stale(progress=self.progress)
        if build:
            build_lab(self.spec, self.progress, env=self.env)
        resolver = "" if self.resolver == "machine" else f"; outside resolver: {self.resolver}"
        self.progress(f"{self.spec.name}: starting {self.project} ({', '.join(self.spec.hosts)}{resolver})")
        t0 = time.monotonic()
        nets = self.spec.networks
        for attempt in range(1, ALLOCATION_TRIES + 1):
            skip = random.randrange(8 * attempt) if attempt > 1 else 0  # alone: the first free ones
            for name, subnet in zip(nets, allocate_subnets(len(nets), engine_subnets(), skip=skip), strict=True):
                self.env[f"{name.upper()}_NET"] = str(subnet.network_address).rsplit(".", 1)[0]
            self._override = self._write_override()
            try:
                # the networks exist once this returns: the engine then refuses their pools to anyone else
                self._compose("up", "--no-start", "--no-build", "--remove-orphans", timeout=300)
                break
            except CommandError as exc:
                self._override.unlink(missing_ok=True)
                self._override = None
                if not pool_taken(exc) or attempt == ALLOCATION_TRIES:
                    raise
                self.progress(f"{self.spec.name}: a subnet was taken meanwhile; allocating again ({attempt})")
                remove_project(self.project)
            except BaseException:
                self._override.unlink(missing_ok=True)
                self._override = None
                raise
        assert self._override is not None
        try:
            self._compose("up", "-d", "--no-build", timeout=300)
        finally:  # the labels are on the resources now; down() finds them by label, not through compose
            self._override.unlink(missing_ok=True)
            self._override = None
        self._wait_ready()
        self.started = time.time()
        self.progress(f"{self.spec.name}: ready in {time.monotonic() - t0:.1f}s")
        return self

    def _containers(self) -> list[Any]:
        return dockerapi.client().containers.list(
            all=True, filters={"label": f"{LABEL_PROJECT}={self.project}"}, ignore_removed=True
        )

    def _wait_ready(self) -> None:
        expected = set(self.spec.hosts)
        last_line = ""

        def all_healthy() -> bool:
            nonlocal last_line
            states = {}
            for c in self._containers():
                svc = c.labels.get("com.docker.compose.service", c.name)
                health = (c.attrs.get("State", {}).get("Health") or {}).get("Status")
                states[svc] = health or c.status
                if c.status in ("exited", "dead"):
                    raise OpslabError(
                        f"host {svc} of {self.project} exited while starting",
                        f"read its log: docker logs {c.name}",
                    )
            waiting = sorted(s for s in expected if states.get(s) not in ("healthy", "running"))
            line = "waiting for " + ", ".join(f"{s} ({states.get(s, 'absent')})" for s in waiting) if waiting else ""
            if line and line != last_line:
                self.progress(f"{self.spec.name}: {line}")
            last_line = line
            return not waiting

        try:
            wait_until(
                all_healthy,
                what=f"every host of {self.project} to be healthy",
                timeout=self.spec.ready_timeout,
                interval=0.2,
                hint=f"read the hosts' logs: docker compose -p {self.project} logs",
            )
        except WaitTimeout as exc:
            exc.last = last_line
            raise

    def down(self) -> None:
        self.progress(f"{self.spec.name}: removing {self.project}")
        remove_project(self.project)
        self._hosts.clear()

    def keep_from_now(self) -> None:
        """Keep this instance after all (opslab down removes it; no sweep does)."""
        self.keep = True
        KEPT_DIR.mkdir(exist_ok=True)
        (KEPT_DIR / self.project).touch()

    def __enter__(self) -> Lab:
        try:
            return self.up()
        except BaseException:
            if not self.keep:
                self.down()
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self.keep:
            self.progress(
                f"{self.spec.name}: kept {self.project}; log in with `opslab shell {self.project} HOST`,"
                f" remove with `opslab down {self.project}`"
            )
        else:
            self.down()

    # -- what scenarios ask ------------------------------------------------------------------------
    def container_name(self, host: str) -> str:
        for c in self._containers():
            if c.labels.get("com.docker.compose.service") == host:
                return str(c.name)
        hosts = ", ".join(self.spec.hosts)
        raise UsageError(f"lab {self.spec.name} has no host {host!r}", f"its hosts are: {hosts}")

    def host(self, name: str) -> Host:
        if name not in self._hosts:
            if name not in self.spec.hosts:
                raise UsageError(
                    f"lab {self.spec.name} has no host {name!r}", f"its hosts are: {', '.join(self.spec.hosts)}"
                )
            container = self.container_name(name)
            self._hosts[name] = Host(name, container, DockerTransport(container))
        return self._hosts[name]

    @property
    def hosts(self) -> dict[str, Host]:
        return {name: self.host(name) for name in self.spec.hosts}

    def ip(self, host: str, network: str) -> str:
        c = dockerapi.client().containers.get(self.container_name(host))
        nets = c.attrs["NetworkSettings"]["Networks"]
        return str(nets[f"{self.project}_{network}"]["IPAddress"])

    def net_prefix(self, network: str) -> str:
        """The first three octets of a lab network ('10.213.4'), as compose got them."""
        return self.env[f"{network.upper()}_NET"]

    def first_host_on(self, network: str) -> str:
        """The first host the compose file puts on a lab network (where a capture runs unless told otherwise)."""
        for name, service in (self.spec.compose().get("services") or {}).items():
            if network in service_networks(service or {}):
                return str(name)
        raise UsageError(
            f"lab {self.spec.name} has no host on a network {network!r}",
            f"its networks are: {', '.join(self.spec.networks)}",
        )

    def facts(self) -> dict[str, Any]:
        base: dict[str, Any] = {"project": self.project}
        for net in self.spec.networks:
            base[f"{net}_net"] = self.net_prefix(net)
        base.update(self.spec.facts(self))
        return base

    def copy_out(self, host: str, path: str, dest: Path) -> None:
        """Copy `path` (a file or a folder) out of a host into `dest` (Docker's archive API: read-only)."""
        import io
        import tarfile

        stream, _ = dockerapi.client().containers.get(self.container_name(host)).get_archive(path)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            tar.extractall(dest, filter="data")

    def read_bytes(self, host: str, path: str) -> bytes:
        """The bytes of one file in a host, through the engine's archive API (read-only; b'' when it is absent)."""
        import io
        import tarfile

        import docker

        try:
            stream, _ = dockerapi.client().containers.get(self.container_name(host)).get_archive(path)
        except docker.errors.NotFound:
            return b""
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            fh = tar.extractfile(member) if member is not None else None
            return fh.read() if fh is not None else b""

    def logs(self) -> dict[str, str]:
        out = {}
        for c in self._containers():
            svc = c.labels.get("com.docker.compose.service", c.name)
            try:
                out[svc] = c.logs(timestamps=True).decode(errors="replace")
            except Exception as exc:  # a log we cannot read is reported, not fatal
                out[svc] = f"(log unavailable: {exc})"
        return out


def remove_project(project: str) -> None:
    """Remove every container, network and volume of a compose project, found by label."""
    import docker

    client = dockerapi.client()
    flt = {"label": f"{LABEL_PROJECT}={project}"}
    removals = [
        lambda c=c: c.remove(force=True, v=True)
        for c in client.containers.list(all=True, filters=flt, ignore_removed=True)
    ]
    for removal in removals:
        try:
            removal()
        except docker.errors.NotFound:  # removed meanwhile (another sweep): what we wanted
            pass
    for n in client.networks.list(filters=flt):
        try:
            n.remove()
        except docker.errors.NotFound:
            pass
    for v in client.volumes.list(filters=flt):
        try:
            v.remove(force=True)
        except docker.errors.NotFound:
            pass
    (KEPT_DIR / project).unlink(missing_ok=True)
    for leftover in Path(tempfile.gettempdir()).glob(f"{project}-*.override.json"):
        leftover.unlink(missing_ok=True)  # compose overrides a lab wrote for this project (e.g. to replace a host)


def instances(lab: str | None = None) -> dict[str, dict[str, Any]]:
    """Every opslab project on this engine: {project: {lab, owner, keep, containers: {host: status}}}."""
    client = dockerapi.client()
    found: dict[str, dict[str, Any]] = {}
    for kind in (
        # another run may remove its containers while we look: those are skipped, not an error
        client.containers.list(all=True, filters={"label": LABEL_LAB}, ignore_removed=True),
        client.networks.list(filters={"label": LABEL_LAB}),
        client.volumes.list(filters={"label": LABEL_LAB}),
    ):
        for obj in kind:
            labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
            project = labels.get(LABEL_PROJECT)
            if not project or (lab and labels.get(LABEL_LAB) != lab):
                continue
            entry = found.setdefault(
                project,
                {
                    "lab": labels.get(LABEL_LAB),
                    "owner": labels.get(LABEL_OWNER, ""),
                    "user": labels.get(LABEL_USER, ""),
                    "keep": labels.get(LABEL_KEEP) == "1" or (KEPT_DIR / project).exists(),
                    "containers": {},
                },
            )
            if hasattr(obj, "status"):
                svc = labels.get("com.docker.compose.service", obj.name)
                health = (obj.attrs.get("State", {}).get("Health") or {}).get("Status")
                entry["containers"][svc] = health or obj.status
    return found


def sweep_stale(progress: Progress | None = None) -> list[str]:
    """Remove the instances whose owner process is gone (a killed run), except kept ones."""
    removed = []
    for project, info in instances().items():
        if not info["keep"] and not owner_alive(info["owner"]):
            if progress:
                progress(f"removing {project}, left behind by a run that is gone")
            remove_project(project)
            removed.append(project)
    return removed

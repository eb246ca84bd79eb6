"""Host setup: what the labs need on this machine, checked, and installed on request (Debian/Ubuntu, root).

`diagnose()` returns one `Finding` per need (the Docker engine opslab will use, running and reachable, with its
version and which one it is: `DOCKER_HOST`, the docker context or the local socket (lab.dockerapi), or each engine
of `--engines`; Compose v2, binfmt for ARM, /dev/net/tun, the base image tools); each missing one carries a hint.
`fix()` installs and starts what is missing (dockerd only for the local socket: an engine elsewhere is not this
machine's to start), idempotently, as HOST.md describes: Docker from Debian (`docker.io`), mmdebstrap for base images,
Compose v2 as a CLI plugin (from Debian trixie's `docker-compose` package when the release has none),
qemu-user-static + binfmt-support with binfmt_misc mounted, and a dockerd started in the background when no
init system runs it; then waits for the engine to answer."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.errors import EnvironmentProblem, OpslabError
from lab.proc import run
from lab.wait import wait_until

Progress = Callable[[str], None]
DOCKERD_LOG = Path("/var/log/opslab-dockerd.log")
TRIXIE_SOURCES = Path("/etc/apt/sources.list.d/opslab-trixie.sources")
TRIXIE_PIN = Path("/etc/apt/preferences.d/opslab-trixie")
BINFMT = Path("/proc/sys/fs/binfmt_misc")


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    hint: str = ""


def _quiet(
    argv: list[str], timeout: float = 20, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_engine(url: str | None = None) -> Finding:
    """The engine opslab will use (lab.dockerapi.engine: DOCKER_HOST, else the docker context, else the local
    socket), or `url`: reachable, its version, OS/architecture, and which engine it is and why."""
    from lab import dockerapi

    if shutil.which("docker") is None:
        return Finding("docker engine", False, "the docker command is not installed", "opslab doctor --fix")
    try:
        eng = dockerapi.Engine(url, "--engines") if url else dockerapi.engine()
    except OpslabError as exc:
        return Finding("docker engine", False, exc.message, exc.hint or "")
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONTEXT"} if url else None
    if url:
        env = {**(env or {}), "DOCKER_HOST": url}
    r = _quiet(["docker", "version", "--format", "{{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}}"], env=env)
    where = f"{eng.url} ({eng.source})"
    if r is None or r.returncode != 0:
        why = (r.stderr.strip().splitlines() or ["no answer"])[-1] if r else "no answer"
        hint = (
            "opslab doctor --fix starts dockerd"
            if eng.url == dockerapi.DEFAULT_URL
            else f"start that engine, or leave it out of --engines (`DOCKER_HOST={eng.url} docker version`)"
            if url
            else f"start that engine, or point DOCKER_HOST / the docker context at one that runs (now: {eng.source})"
        )
        return Finding("docker engine", False, f"{where} not reachable: {why}", hint)
    version, _, platform = r.stdout.strip().partition(" ")
    return Finding("docker engine", True, f"{where}: running, version {version}, {platform}")


def check_compose() -> Finding:
    r = _quiet(["docker", "compose", "version", "--short"])
    if r is None or r.returncode != 0:
        return Finding(
            "compose v2",
            False,
            "`docker compose` is not installed",
            "opslab doctor --fix installs Debian's docker-compose (v2) as a CLI plugin",
        )
    return Finding("compose v2", True, f"docker compose {r.stdout.strip()}")


def check_binfmt() -> Finding:
    entry = BINFMT / "qemu-arm"
    if not entry.exists():
        return Finding(
            "binfmt arm",
            False,
            "qemu-arm is not registered with binfmt_misc (needed by the openvpn lab)",
            "opslab doctor --fix installs qemu-user-static and binfmt-support",
        )
    text = entry.read_text()
    flags = next((ln.split()[1] for ln in text.splitlines() if ln.startswith("flags:") and len(ln.split()) > 1), "")
    enabled = text.startswith("enabled")
    return Finding(
        "binfmt arm",
        enabled and "F" in flags,
        f"qemu-arm {'enabled' if enabled else 'disabled'}, flags {flags or '-'}",
        "" if enabled and "F" in flags else "opslab doctor --fix",
    )


def check_tun() -> Finding:
    ok = Path("/dev/net/tun").exists()
    return Finding(
        "/dev/net/tun",
        ok,
        "present" if ok else "missing (the openvpn lab needs it)",
        "" if ok else "load the tun module on the host (modprobe tun) or run on a machine that has it",
    )


def check_bootstrap() -> Finding:
    """mmdebstrap (or debootstrap) to make base images, and arch-test, without which mmdebstrap refuses to
    bootstrap a foreign architecture (the armhf Pi): it is only a Recommends of mmdebstrap."""
    tool = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if tool is None:
        return Finding(
            "base image tools", False, "neither mmdebstrap nor debootstrap", "opslab doctor --fix installs mmdebstrap"
        )
    if tool.endswith("mmdebstrap") and shutil.which("arch-test") is None:
        return Finding(
            "base image tools",
            False,
            f"{tool}, but arch-test is missing (mmdebstrap needs it for the armhf base image)",
            "opslab doctor --fix installs arch-test",
        )
    return Finding("base image tools", True, tool)


def diagnose(engines: list[str] | None = None) -> list[Finding]:
    """One finding per need; the engine opslab will use, or each of `engines` (`--engines`). binfmt and
    /dev/net/tun are looked at on this machine: for an engine elsewhere, they are needed on its machine."""
    found = [check_engine(url) for url in engines] if engines else [check_engine()]
    return [*found, check_compose(), check_binfmt(), check_tun(), check_bootstrap()]


def _apt(progress: Progress, *packages: str, target: str | None = None) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not getattr(_apt, "updated", False):
        progress("apt-get update")
        run(["apt-get", "update", "-qq"], env=env, check=False, timeout=600)
        _apt.updated = True  # type: ignore[attr-defined]
    progress(f"apt-get install {' '.join(packages)}" + (f" (from {target})" if target else ""))
    argv = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    run(
        argv + (["-t", target] if target else []) + list(packages),
        env=env,
        timeout=1200,
        hint="this needs root and Debian's package mirror",
    )


def _compose_candidates() -> str:
    r = _quiet(["apt-cache", "policy", "docker-compose"])
    return r.stdout if r else ""


def install_compose(progress: Progress) -> None:
    policy = _compose_candidates()
    if "Candidate: 2." in policy:
        _apt(progress, "docker-compose")
        return
    progress("compose v2 is not in this release; adding Debian trixie (pinned low) for docker-compose only")
    TRIXIE_SOURCES.write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    TRIXIE_PIN.write_text("Package: *\nPin: release n=trixie\nPin-Priority: 100\n")
    _apt.updated = False  # type: ignore[attr-defined]
    _apt(progress, "docker-compose", target="trixie")


def start_dockerd(progress: Progress) -> None:
    """Start the engine: systemd when it runs, else dockerd in the background (its log in DOCKERD_LOG)."""
    if Path("/run/systemd/system").exists():
        _quiet(["systemctl", "start", "docker"], timeout=60)
    if check_engine().ok:
        return
    progress(f"starting dockerd in the background (log: {DOCKERD_LOG})")
    log = open(DOCKERD_LOG, "ab")
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    wait_until(
        lambda: check_engine().ok, what="dockerd to answer", timeout=60, interval=0.5, hint=f"read {DOCKERD_LOG}"
    )


def enable_binfmt(progress: Progress) -> None:
    if not (BINFMT / "status").exists():
        progress("mounting binfmt_misc")
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=False)
    run(["update-binfmts", "--enable"], check=False)
    if not (BINFMT / "qemu-arm").exists():
        # binfmt-support's own files; qemu-user-static ships them (F flag: the interpreter is opened now)
        for f in sorted(Path("/usr/share/binfmts").glob("qemu-arm*")):
            run(["update-binfmts", "--import", f.name], check=False)


def fix(progress: Progress) -> list[Finding]:
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "opslab doctor --fix installs packages and starts dockerd: it needs root",
            "run it as root (sudo opslab doctor --fix)",
        )
    if shutil.which("apt-get") is None:
        raise EnvironmentProblem(
            "--fix knows Debian and Ubuntu (apt-get) only", "install Docker, Compose v2 and qemu-user-static by hand"
        )
    if shutil.which("dockerd") is None:
        _apt(progress, "docker.io", "iptables")
    if not check_compose().ok:
        install_compose(progress)
    if not check_bootstrap().ok:  # mmdebstrap bootstraps foreign (ARM) roots in one go, with arch-test's help
        _apt(progress, "mmdebstrap", "arch-test", "debootstrap")
    if not (Path("/usr/bin/qemu-arm-static").exists() and shutil.which("update-binfmts")):
        _apt(progress, "qemu-user-static", "binfmt-support")
    if not check_binfmt().ok:
        enable_binfmt(progress)
    if not check_engine().ok:
        from lab.dockerapi import DEFAULT_URL, engine

        if engine().url != DEFAULT_URL:  # an engine elsewhere is not this machine's to start
            return diagnose()
        start_dockerd(progress)
    return diagnose()

"""Images without a registry: the base image, then each lab's images, rebuilt only when their inputs change.

A base image (`opslab/base:bookworm`, `opslab/base:trixie`, ARM variants: `BASES` says each one's Debian suite and
architecture) is pulled as `debian:<suite>-slim` where a registry answers; otherwise it is bootstrapped here
(`debootstrap --variant=minbase <suite>`, then `docker import`). A lab's images are
the services of its compose file that have a `build:` section; each is built with the Docker engine's API and
labelled with the hash of its inputs (the build context's files, the Dockerfile, the build args, the base
image's id) and tagged with it: `opslab/arp-node:<inputs>` (and `:latest`, for people). A lab instance runs the
tag of its own inputs (`pinned()`, through the instance's compose override), so two checkouts with different
Dockerfiles on one engine each run their own image instead of rebuilding each other's `:latest`. An image whose
tag exists is not rebuilt. Builds print their progress. What is hashed is what is sent: the build context is
sent as a tar of exactly `context_files()` (never a `__pycache__`, which pip writes beside an installed lab's
programs), so a checkout and a wheel install of the same files build and run the same image.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from lab import dockerapi
from lab.errors import CommandError, EnvironmentProblem, UsageError
from lab.proc import run
from lab.spec import LabSpec

BASE = "opslab/base:bookworm"
# base images a Dockerfile may name in its build args (`BASE: opslab/base:bookworm-armhf`):
# Debian suite, Debian arch, Docker platform
BASES = {
    BASE: ("bookworm", "amd64", "linux/amd64"),
    "opslab/base:bookworm-armhf": ("bookworm", "armhf", "linux/arm/v7"),
    "opslab/base:bookworm-arm64": ("bookworm", "arm64", "linux/arm64"),
    "opslab/base:trixie": ("trixie", "amd64", "linux/amd64"),
}
LABEL_INPUTS = "org.opslab.inputs"
Progress = Callable[[str], None]


def _ignore_rules(context: Path) -> list[tuple[bool, str]]:
    """The context's .dockerignore as (negated, pattern) rules, in order (the last match wins)."""
    f = context / ".dockerignore"
    rules = []
    for raw in f.read_text().splitlines() if f.is_file() else []:
        line = raw.strip()
        if line and not line.startswith("#"):
            neg = line.startswith("!")
            rules.append((neg, line[1:].strip("/") if neg else line.strip("/")))
    return rules


def _ignored(rel: str, rules: list[tuple[bool, str]]) -> bool:
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for neg, pattern in rules:
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            ignored = not neg
    return ignored


def context_files(context: Path) -> list[Path]:
    """The files Docker is sent as the build context: everything under it less what .dockerignore leaves out, and
    less any `__pycache__` (Python's, never an input)."""
    rules = [*_ignore_rules(context), (False, "**/__pycache__"), (False, "__pycache__")]
    keepers = [pattern for neg, pattern in rules if neg]
    out = []
    for dirpath, dirnames, filenames in os.walk(context):
        rel_dir = Path(dirpath).relative_to(context).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        # a left-out folder is not walked unless a `!pattern` may bring something under it back
        dirnames[:] = sorted(
            d for d in dirnames if not _ignored(rel_dir + d, rules) or any(k.startswith(rel_dir + d) for k in keepers)
        )
        out += [Path(dirpath) / f for f in sorted(filenames) if not _ignored(rel_dir + f, rules)]
    return out


def context_tar(context: Path) -> IO[bytes]:
    """The build context as Docker is sent it: a tar of `context_files(context)`, the files `tree_hash` hashes."""
    out = tempfile.TemporaryFile()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path in context_files(context):
            tar.add(path, arcname=path.relative_to(context).as_posix(), recursive=False)
    out.seek(0)
    return out


def tree_hash(context: Path, extra: str = "") -> str:
    """A hash of every file of the build context (path, mode and content) and `extra`."""
    h = hashlib.sha256(extra.encode())
    for path in sorted(context_files(context)):
        rel = path.relative_to(context).as_posix()
        h.update(f"\0{rel}\0{path.stat().st_mode & 0o111}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _image(name: str) -> Any | None:
    import docker

    try:
        return dockerapi.client().images.get(name)
    except docker.errors.ImageNotFound:
        return None


def ensure_base(progress: Progress, name: str = BASE) -> str:
    """The base image's id, pulled or bootstrapped once (ARM ones run under qemu through binfmt)."""
    if name not in BASES:
        raise EnvironmentProblem(f"unknown base image {name}", f"use one of: {', '.join(BASES)}")
    img = _image(name)
    if img is not None:
        return str(img.id)
    suite, arch, platform = BASES[name]
    pull = f"debian:{suite}-slim"
    progress(f"base image {name}: trying `docker pull --platform {platform} {pull}`")
    pulled = run(["docker", "pull", "-q", "--platform", platform, pull], check=False, timeout=120)
    if pulled.returncode == 0:
        run(["docker", "tag", pull, name])
    else:
        progress(f"base image {name}: no registry answers; bootstrapping Debian {suite}/{arch} here (minutes)")
        bootstrap_base(progress, arch=arch, name=name, suite=suite)
    img = _image(name)
    if img is None:
        raise EnvironmentProblem(f"the base image {name} could not be made", "run `opslab images` and read its output")
    return str(img.id)


def _native_arch() -> str:
    r = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True)
    return r.stdout.strip() or "amd64"


def bootstrap_base(progress: Progress, arch: str = "amd64", name: str = BASE, suite: str = "bookworm") -> None:
    tool = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if tool is None:
        raise EnvironmentProblem("neither mmdebstrap nor debootstrap is installed", "run `opslab doctor --fix`")
    mirror = os.environ.get("OPSLAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    with tempfile.TemporaryDirectory(prefix="opslab-rootfs-") as tmp:
        root = Path(tmp) / "root"
        if tool.endswith("mmdebstrap"):
            if arch != _native_arch() and shutil.which("arch-test") is None:
                raise EnvironmentProblem(
                    f"mmdebstrap needs arch-test to bootstrap a foreign architecture ({arch})",
                    "run `opslab doctor --fix` (it installs arch-test)",
                )
            argv = [tool, "--variant=minbase", f"--architectures={arch}", suite, str(root), mirror]
        else:
            argv = [tool, "--variant=minbase", f"--arch={arch}", suite, str(root), mirror]
        progress(f"base image: {' '.join(argv)}")
        run(argv, timeout=1200, hint=f"{Path(tool).name} says why in its last lines above (stderr)")
        progress(f"base image: docker import → {name}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "-c", 'CMD ["/bin/bash"]', "-c", "ENV DEBIAN_FRONTEND=noninteractive", "-", name],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
        )
        tar.wait()
        if imp.returncode != 0:
            raise CommandError(f"docker import - {name}", imp.returncode, imp.stdout, imp.stderr)


def _env(spec: LabSpec, env: Mapping[str, str] | None) -> Mapping[str, str]:
    return spec.param_env() if env is None else env


def lab_images(spec: LabSpec, env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """{image name: {context, dockerfile, args}} for every service of the lab with a build section, as the
    parameters' compose variables `env` make them (default: the parameters' defaults)."""
    out: dict[str, dict[str, Any]] = {}
    for svc, conf in (spec.compose(_env(spec, env)).get("services") or {}).items():
        build = conf.get("build")
        if not build:
            continue
        build = {"context": build} if isinstance(build, str) else build
        image = str(conf.get("image", f"opslab/{spec.name}-{svc}:latest"))
        out[image] = {
            "context": (spec.compose_dir / build.get("context", ".")).resolve(),
            "dockerfile": build.get("dockerfile", "Dockerfile"),
            "args": {str(k): str(v) for k, v in (build.get("args") or {}).items()},
        }
    return out


def image_variants(spec: LabSpec) -> list[dict[str, str]]:
    """The compose variables of every distinct set of images the lab can run: its defaults, then each value of a
    parameter with a set of choices (the mysql engine) that changes what is built. `opslab images` builds them
    all, so a run with `--param engine=...` finds its images ready."""
    variants = [spec.param_env()]
    seen = [lab_images(spec, variants[0])]
    for p in spec.params:
        for choice in p.choices:
            try:
                env = spec.param_env({p.name: choice})
            except UsageError:  # a value the lab lists but does not run here (mysql8), or that a rule refuses
                continue
            images = lab_images(spec, env)
            if images not in seen:
                seen.append(images)
                variants.append(env)
    return variants


def _inputs(b: dict[str, Any], base_id: str) -> str:
    return tree_hash(b["context"], f"{b['dockerfile']}|{sorted(b['args'].items())}|{base_id}")


def _pinned_ref(image: str, inputs: str) -> str:
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}:{inputs}"


def pinned(spec: LabSpec, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """{service: image reference of the inputs this checkout has}, for the services with a build section whose
    base image exists (a lab is built before it starts, so in practice all of them)."""
    out: dict[str, str] = {}
    images = lab_images(spec, env)
    for svc, conf in (spec.compose(_env(spec, env)).get("services") or {}).items():
        if not conf.get("build"):
            continue
        image = str(conf.get("image", f"opslab/{spec.name}-{svc}:latest"))
        b = images[image]
        base = _image(b["args"].get("BASE", BASE))
        if base is not None:
            out[svc] = _pinned_ref(image, _inputs(b, str(base.id)))
    return out


def build_lab(
    spec: LabSpec, progress: Progress, *, force: bool = False, env: Mapping[str, str] | None = None
) -> list[str]:
    """Build the lab's images whose inputs changed, for the parameters' compose variables `env` (default: the
    parameters' defaults); returns the names built."""
    built = []
    for image, b in lab_images(spec, env).items():
        base = b["args"].get("BASE", BASE)
        base_id = ensure_base(progress, base)
        inputs = _inputs(b, base_id)
        ref = _pinned_ref(image, inputs)
        current = _image(ref)
        if current is not None and not force and current.labels.get(LABEL_INPUTS) == inputs:
            latest = _image(image)
            if latest is None or latest.id != current.id:
                current.tag(*image.rsplit(":", 1))
            progress(f"{spec.name}: {image} is up to date ({inputs})")
            continue
        progress(f"{spec.name}: building {image} (inputs {inputs})")
        api = dockerapi.client().api
        last_error = None
        with context_tar(b["context"]) as tar:
            for chunk in api.build(
                fileobj=tar,
                custom_context=True,
                dockerfile=b["dockerfile"],
                tag=ref,
                rm=True,
                forcerm=True,
                decode=True,
                labels={LABEL_INPUTS: inputs},
                buildargs={**b["args"], "BASE": base},
            ):
                line = str(chunk.get("stream", "")).rstrip()
                if line.startswith("Step ") or line.startswith("Successfully"):
                    progress(f"  {line}")
                if "error" in chunk:
                    last_error = chunk.get("error")
        if last_error:
            raise CommandError(
                f"docker build {b['context']} -t {image}",
                1,
                "",
                str(last_error),
                hint="read the build output above; `opslab images --force` rebuilds from scratch",
            )
        made = _image(ref)
        if made is not None:
            made.tag(*image.rsplit(":", 1))
        built.append(image)
    return built

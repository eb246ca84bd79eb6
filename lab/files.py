"""Where opslab's own lab files are: the folder laid out as the repository is (compose/, fixtures/, sims/).

`files_root()` is that folder. From a checkout (an editable install, or `python -m lab` in the repository) it is
the repository itself; from an installed wheel it is the package-data folder `opslab_files/` in site-packages,
which `pyproject.toml` fills with the same layout (compose files, Dockerfiles, in-host programs, fixtures, and a
copy of sims/ for the drbd image's build context, with the repository's .dockerignore). Compose files reach
their fixtures by relative paths (`../../fixtures/mirror`), so the layout, not only the files, must be the same.

Nothing here depends on the current directory: opslab runs from any folder.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from lab.errors import EnvironmentProblem

KEPT_COPY_PREFIX = "opslab-files-"  # a scenario's kept files wait in a temporary folder of this name until reported

CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, when lab/ runs from one


def _is_root(folder: Path) -> bool:
    return (folder / "compose").is_dir() and (folder / ".dockerignore").is_file()


@cache
def files_root() -> Path:
    """The folder holding compose/, fixtures/ and sims/ (the checkout, else the installed `opslab_files`)."""
    if _is_root(CHECKOUT):
        return CHECKOUT
    found = importlib.util.find_spec("opslab_files")
    for location in (found.submodule_search_locations or []) if found else []:
        if _is_root(Path(location)):
            return Path(location).resolve()
    raise EnvironmentProblem(
        "opslab's lab files (compose/, fixtures/) are not installed beside its code",
        "reinstall opslab from its repository or a wheel built from it: `pip install .`",
    )


def builtin_compose_dir(lab: str) -> Path:
    """The compose folder of one of opslab's own labs: <files root>/compose/<lab>."""
    return files_root() / "compose" / lab

"""The `opslab` command as the integration tests run it: this Python's `-m lab`, from the checkout, no stdin."""

from __future__ import annotations

import subprocess
import sys

from lab.spec import ROOT


def opslab(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )

"""The demo's sample targets (sample-targets/<part>/start.sh), made fresh by the tests that scan them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SAMPLE_TARGETS = Path(__file__).resolve().parents[2] / "sample-targets"


def start(part: str, out: Path, timeout: float = 120) -> Path:
    """Runs ``part``'s start.sh into ``out`` with this interpreter's keysweep; returns ``out``."""
    env = {**os.environ, "KEYSWEEP_PYTHON": sys.executable}
    subprocess.run(["bash", str(SAMPLE_TARGETS / part / "start.sh"), str(out)], check=True, env=env, timeout=timeout)
    return out

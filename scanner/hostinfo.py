"""Who runs keysweep, and where: facts every scan and fleet report records."""

from __future__ import annotations

import getpass


def operator() -> str:
    """The user name of whoever runs the scan."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"

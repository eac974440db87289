"""keysweep: crypto inventory auditor and compliance scanner.

The public API is ``scanner.api`` (also ``import keysweep``): ``scan``, ``ScanResult``,
``load_report``, ``KeysweepError``; they are importable from here too, loaded on first use so that
the command line does not pay for them. Other modules are internal.
"""

from typing import Any

__version__ = "0.1.0"

_API = frozenset({"scan", "ScanResult", "load_report", "KeysweepError"})


def __getattr__(name: str) -> Any:
    if name in _API:
        from scanner import api

        return getattr(api, name)
    raise AttributeError(f"module 'scanner' has no attribute {name!r}")

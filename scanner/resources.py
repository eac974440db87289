"""Where the policy packs and report templates are: inside the wheel, or at the checkout's root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = _PACKAGE / "_bundled" / name
    if installed.is_dir():
        return installed
    # an editable install or a plain checkout: the folders sit beside the package
    return _PACKAGE.parent / name


def rules_dir() -> Path:
    return _bundled("rules")


def reports_dir() -> Path:
    return _bundled("reports")

"""The reporter extension point: a reporter renders a ScanResult and sees nothing else.

Reporters are found through the entry-point group ``keysweep.reporters``; the entry point's name
is the format name (``json``, ``html``, ``cbom``, ``sarif``, ...).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Protocol

from scanner import plugins
from scanner.inventory.model import ScanResult


class ReporterError(RuntimeError):
    pass


class Reporter(Protocol):
    format: ClassVar[str]

    def render(self, result: ScanResult) -> bytes: ...


def load_reporter(name: str, **settings: Any) -> Reporter:
    """The reporter ``name``, built with its own settings (e.g. ``root`` for ``--sarif-root``)."""
    try:
        cls = plugins.load(plugins.REPORTERS, name)
    except plugins.PluginError as exc:
        raise ReporterError(str(exc)) from None
    try:
        reporter: Reporter = cls(**settings)
    except (TypeError, ValueError) as exc:
        raise ReporterError(f"{name} report: {exc}") from None
    return reporter


def write_atomically(path: Path, content: bytes) -> None:
    """Write beside the target and rename, so that a reader never sees half a report."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""The reporter extension point: a reporter renders a ScanResult and sees nothing else.

Reporters are found through the entry-point group ``keysweep.reporters``; the entry point's name
is the format name (``json``, ``html``, ``cbom``, ``sarif``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from scanner import plugins
from scanner.inventory.model import ScanResult
from scanner.reporting.output import write_output


class ReporterError(RuntimeError):
    pass


class Reporter(Protocol):
    format: ClassVar[str]

    def render(self, result: ScanResult) -> bytes: ...


@runtime_checkable
class WritingReporter(Reporter, Protocol):
    """A reporter that writes its output itself: streamed (JSON), or with a companion file beside it
    (a large HTML report). ``path`` follows the rules of scanner.reporting.output (``-`` is stdout)."""

    def write(self, result: ScanResult, path: str) -> None: ...


def write_report(reporter: Reporter, result: ScanResult, path: str) -> None:
    """The report at ``path``: by the reporter's own ``write`` when it has one, else its rendered bytes
    written by :func:`write_output`. OutputError names the path that could not be written."""
    if isinstance(reporter, WritingReporter):
        reporter.write(result, path)
    else:
        write_output(path, reporter.render(result))


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
    """Write a file (its directory created if missing) the safe way of ``scanner.reporting.output``:
    a regular file is replaced atomically, a device, pipe or symlink is written through."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(str(path), content)

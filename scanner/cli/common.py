"""What every command shares: exit codes, verbosity and logging, messages, usage errors, the
history-store options."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any, TextIO

import click

from scanner.compat import UTC, parse_iso_datetime
from scanner.inventory.model import Severity
from scanner.plurals import plural as plural  # the commands' helper lives in the utility layer
from scanner.printable import printable

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SEVERITIES = [s.value for s in Severity]

# -1 quiet, 0 default, 1 -v, 2 -vv; kept in the context's meta, which every subcommand shares
_VERBOSITY = "keysweep.verbosity"


def verbosity(ctx: click.Context | None = None) -> int:
    ctx = ctx or click.get_current_context(silent=True)
    return int(ctx.meta.get(_VERBOSITY, 0)) if ctx is not None else 0


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if not value:
        return
    if param.name == "quiet":
        ctx.meta[_VERBOSITY] = -1
    elif ctx.meta.get(_VERBOSITY, 0) >= 0:  # --quiet wins wherever it is given
        ctx.meta[_VERBOSITY] = min(ctx.meta.get(_VERBOSITY, 0) + int(value), 2)
    configure_logging(verbosity(ctx))


def add_verbosity_options(command: click.Command) -> click.Command:
    """-v/-vv and -q on ``command`` (once), so they work before and after the subcommand."""
    if any(p.name in ("verbose", "quiet") for p in command.params):
        return command
    command.params += [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_set_verbosity,
            help="More on stderr: -v progress per collector and counts, -vv per file and target, tracebacks.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_set_verbosity,
            help="Nothing on the terminal but errors.",
        ),
    ]
    return command


def add_environment_variables(command: click.Command, name: str) -> click.Command:
    """KEYSWEEP_<COMMAND>_<OPTION> for every option, named after the option as users type it
    (``--fail-on`` is KEYSWEEP_SCAN_FAIL_ON, ``--policy`` KEYSWEEP_SCAN_POLICY), not after the
    Python parameter behind it, which is what click's automatic names would use."""
    prefix = f"KEYSWEEP_{name.upper().replace('-', '_')}_"
    for param in command.params:
        if not isinstance(param, click.Option) or param.envvar is not None or param.name in ("verbose", "quiet"):
            continue
        longest = max(param.opts, key=len).lstrip("-")
        param.envvar = prefix + longest.upper().replace("-", "_")
        param.show_envvar = True
    return command


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when the record is emitted (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


class PrintableFormatter(logging.Formatter):
    """One escaped line per record: log messages quote file names and peer answers."""

    def __init__(self, tracebacks: bool) -> None:
        super().__init__("keysweep: %(levelname)s: %(message)s")
        self._tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        message = printable(record.getMessage())
        line = f"keysweep: {record.levelname.lower()}: {message}"
        if record.exc_info and self._tracebacks:
            trace = self.formatException(record.exc_info)
            line += "".join("\n" + printable(t) for t in trace.splitlines())
        return line


def configure_logging(level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(PrintableFormatter(tracebacks=level >= 2))
    root.addHandler(handler)
    # -v/-vv open keysweep's own logs; other libraries (sslyze, ...) stay at warnings
    root.setLevel(logging.ERROR if level < 0 else logging.WARNING)
    own = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(level, logging.DEBUG)
    logging.getLogger("scanner").setLevel(own)


def error(message: str) -> None:
    """An error line on stderr (shown even with --quiet); ``message`` must be escaped already."""
    click.echo(f"keysweep: error: {message}", err=True)


def warning(message: str) -> None:
    """A warning line on stderr (not with --quiet); ``message`` must be escaped already."""
    if verbosity() >= 0:
        click.echo(f"keysweep: warning: {message}", err=True)


def note(message: str, level: int = 0) -> None:
    """An informational line on stderr, shown at verbosity ``level`` and above."""
    if verbosity() >= level:
        click.echo(f"keysweep: {message}", err=True)


def parse_as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = parse_iso_datetime(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def usage_error(message: str) -> click.UsageError:
    return click.UsageError(printable(message))


def store_options(command: Any) -> Any:
    """--store / --no-store, shared by the commands that save scans to the history store."""
    command = click.option(
        "--no-store", is_flag=True, help="Do not use the history store (scan: do not save this scan)."
    )(command)
    return store_option(command)


def store_option(command: Any) -> Any:
    """--store alone, for the commands that only read the history store."""
    return click.option(
        "--store",
        metavar="URL|PATH",
        help="Store: a SQLite file, or postgresql://user@host/db (password through PGPASSWORD, ~/.pgpass or a"
        " service file) [default: $KEYSWEEP_STORE, else $XDG_DATA_HOME/keysweep/history.sqlite3].",
    )(command)


def store_path(opts: dict[str, Any]) -> str | None:
    """The store to use: --store, else $KEYSWEEP_STORE, else the user's SQLite file; None with --no-store."""
    if opts.get("no_store"):
        return None  # decided before importing the store layer, which a --no-store scan never needs
    from scanner.store.history import default_store

    return str(opts["store"]) if opts.get("store") else default_store()

"""What every command shares: exit codes, usage errors, the history-store options."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from scanner.inventory.model import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
SEVERITIES = [s.value for s in Severity]


def parse_as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def usage_error(message: str) -> click.UsageError:
    return click.UsageError(message)


def store_options(command: Any) -> Any:
    """--store / --no-store, shared by the commands that use the history store."""
    command = click.option(
        "--no-store", is_flag=True, help="Do not use the history store (scan: do not save this scan)."
    )(command)
    return store_option(command)


def store_option(command: Any) -> Any:
    return click.option(
        "--store",
        metavar="URL|PATH",
        help="Store: a SQLite file, or postgresql://user@host/db (password through PGPASSWORD, ~/.pgpass or a"
        " service file) [default: $KEYSWEEP_STORE, else $XDG_DATA_HOME/keysweep/history.sqlite3].",
    )(command)


def store_path(opts: dict[str, Any]) -> str | None:
    """The store to use: --store, else $KEYSWEEP_STORE, else the user's SQLite file; None with --no-store."""
    from scanner.store.history import default_store

    if opts.get("no_store"):
        return None
    return str(opts["store"]) if opts.get("store") else default_store()

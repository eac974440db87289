"""``keysweep history``: past scans in the history store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_USAGE, error, note, store_option
from scanner.printable import printable


@click.command("history")
@store_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many scans to list.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the list on stdout.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def history_command(store: Path | None, limit: int, fmt: str, as_json: bool) -> None:
    """List past scans in the history store, newest first.

    \b
    Examples:
      keysweep history
      keysweep history --store /var/lib/keysweep/history.sqlite3 --format json
    """
    import json
    from dataclasses import asdict

    from scanner.store.history import HistoryStore, StoreError, default_store_path

    as_json = as_json or fmt == "json"
    path = store or default_store_path()
    if not path.is_file():
        note(f"no scans yet (no history store at {printable(path)})")
        if as_json:
            click.echo("[]")
        return
    try:
        with HistoryStore(path, create=False) as history:
            scans = history.scans(limit=limit)
    except StoreError as exc:
        error(printable(exc))
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in scans], indent=1))
        return
    click.echo(f"{'scan id':<36}  {'finished (UTC)':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  targets")
    for s in scans:
        # target paths and host names come from the scanned estate: escaped, never raw
        shown = ", ".join(printable(t) for t in s.targets[:3])
        targets = shown + (f" (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")
        ready = "n/a" if s.readiness is None else f"{s.readiness}%"
        click.echo(
            f"{printable(s.id):<36}  {printable(s.finished_at):<20}  {s.assets:>6}  {s.open_findings:>5}  "
            f"{ready:>5}  {targets}"
        )

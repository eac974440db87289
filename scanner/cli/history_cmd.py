"""``keysweep history``: past scans in the history store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_USAGE, store_options, store_path, usage_error


@click.command("history")
@store_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many scans to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def history_command(store: Path | None, no_store: bool, limit: int, as_json: bool) -> None:
    """List past scans in the history store, newest first."""
    import json
    from dataclasses import asdict

    from scanner.store.history import HistoryStore, StoreError

    path = store_path({"store": store, "no_store": no_store})
    if path is None:
        raise usage_error("history needs a store; --no-store leaves nothing to list")
    if not path.is_file():
        click.echo(f"keysweep: no scans yet (no history store at {path})", err=True)
        if as_json:
            click.echo("[]")
        return
    try:
        with HistoryStore(path, create=False) as history:
            scans = history.scans(limit=limit)
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in scans], indent=1))
        return
    click.echo(f"{'scan id':<36}  {'finished (UTC)':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  targets")
    for s in scans:
        ready = "n/a" if s.readiness is None else f"{s.readiness}%"
        targets = ", ".join(s.targets[:3]) + (f" (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")
        click.echo(f"{s.id:<36}  {s.finished_at:<20}  {s.assets:>6}  {s.open_findings:>5}  {ready:>5}  {targets}")

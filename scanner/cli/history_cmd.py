"""``keysweep history``: past scans in the store, and ``--verify`` of its hash chains."""

from __future__ import annotations

import sys

import click

from scanner.cli.common import EXIT_FINDINGS, EXIT_USAGE, error, note, store_option, warning
from scanner.plurals import plural
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
@click.option("--scope", help="Only the scans of this scope.")
@click.option(
    "--verify",
    is_flag=True,
    help="Check every scope's hash chain: report altered or deleted scans (exit 1 if any).",
)
def history_command(store: str | None, limit: int, fmt: str, as_json: bool, scope: str | None, verify: bool) -> None:
    """List past scans in the store, newest first (read-only: works on a store you cannot write).

    \b
    Examples:
      keysweep history
      keysweep history --store /var/lib/keysweep/history.sqlite3 --format json
      keysweep history --store postgresql://keysweep@db.example.org/keysweep --verify
    """
    import json
    from dataclasses import asdict
    from pathlib import Path

    from scanner.store.backends import is_local_file, open_store
    from scanner.store.history import default_store
    from scanner.store.interface import StoreError

    as_json = as_json or fmt == "json"
    location = store or default_store()
    if is_local_file(location) and not Path(location).expanduser().is_file():
        note(f"no scans yet (no history store at {printable(location)})")
        if as_json:
            click.echo("[]")
        return
    try:
        with open_store(location, create=False, read_only=True) as opened:
            if verify:
                _verify(opened.verify(), as_json)
                return
            listing = opened.listing(limit=limit, scope=scope)
    except StoreError as exc:
        error(printable(exc))
        sys.exit(EXIT_USAGE)
    for damaged in listing.damaged:  # reported and skipped: the rest of the store stays usable
        warning(f"scan {printable(damaged.id)} is damaged and skipped: {printable(damaged.reason)}")
    if as_json:
        click.echo(json.dumps([asdict(s) for s in listing.scans], indent=1))
        return
    click.echo(
        f"{'scan id':<36}  {'finished (UTC)':<20}  {'scope':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  targets"
    )
    for s in listing.scans:
        # target paths and host names come from the scanned estate: escaped, never raw
        shown = ", ".join(printable(t) for t in s.targets[:3])
        targets = shown + (f" (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")
        ready = "n/a" if s.readiness is None else f"{s.readiness}%"
        click.echo(
            f"{printable(s.id):<36}  {printable(s.finished_at):<20}  {printable(s.scope):<20}  {s.assets:>6}"
            f"  {s.open_findings:>5}  {ready:>5}  {targets}"
        )


def _verify(result: object, as_json: bool) -> None:
    import json
    from dataclasses import asdict

    from scanner.store.interface import Verification

    assert isinstance(result, Verification)
    if as_json:
        click.echo(json.dumps({"ok": result.ok, **asdict(result)}, indent=1))
    else:
        for head in result.scopes:
            click.echo(f"scope {printable(head.scope)}: {plural(head.scans, 'scan')}, head {head.digest or '-'}")
        for problem in result.problems:
            where = f"scan {problem.scan_id}" if problem.scan_id else "chain end"
            error(f"TAMPERED scope {printable(problem.scope)}, {printable(where)}: {printable(problem.problem)}")
        click.echo(
            "keysweep: history verified: every chain intact"
            if result.ok
            else f"keysweep: history verification failed: {plural(len(result.problems), 'problem')}",
            err=True,
        )
    if not result.ok:
        sys.exit(EXIT_FINDINGS)

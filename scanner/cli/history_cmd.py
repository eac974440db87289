"""``keysweep history``: past scans in the store, and ``--verify`` of its hash chains."""

from __future__ import annotations

import sys

import click

from scanner.cli.common import EXIT_FINDINGS, EXIT_USAGE, store_options, store_path, usage_error


@click.command("history")
@store_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many scans to list.")
@click.option("--scope", help="Only the scans of this scope.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--verify",
    is_flag=True,
    help="Check every scope's hash chain: report altered or deleted scans (exit 1 if any).",
)
def history_command(
    store: str | None, no_store: bool, limit: int, scope: str | None, as_json: bool, verify: bool
) -> None:
    """List past scans in the store, newest first (read-only: works on a store you cannot write)."""
    import json
    from dataclasses import asdict
    from pathlib import Path

    from scanner.store.backends import is_local_file, open_store
    from scanner.store.interface import StoreError

    location = store_path({"store": store, "no_store": no_store})
    if location is None:
        raise usage_error("history needs a store; --no-store leaves nothing to list")
    if is_local_file(location) and not Path(location).expanduser().is_file():
        click.echo(f"keysweep: no scans yet (no history store at {location})", err=True)
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
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for damaged in listing.damaged:  # reported and skipped: the rest of the store stays usable
        click.echo(f"keysweep: warning: scan {damaged.id} is damaged and skipped: {damaged.reason}", err=True)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in listing.scans], indent=1))
        return
    click.echo(
        f"{'scan id':<36}  {'finished (UTC)':<20}  {'scope':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  targets"
    )
    for s in listing.scans:
        targets = ", ".join(s.targets[:3]) + (f" (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")
        click.echo(
            f"{s.id:<36}  {s.finished_at:<20}  {s.scope:<20}  {s.assets:>6}  {s.open_findings:>5}"
            f"  {s.readiness:>4}%  {targets}"
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
            click.echo(f"scope {head.scope}: {head.scans} scan(s), head {head.digest or '-'}")
        for problem in result.problems:
            where = f"scan {problem.scan_id}" if problem.scan_id else "chain end"
            click.echo(f"keysweep: TAMPERED scope {problem.scope}, {where}: {problem.problem}", err=True)
        click.echo(
            "keysweep: history verified: every chain intact"
            if result.ok
            else f"keysweep: history verification failed: {len(result.problems)} problem(s)",
            err=True,
        )
    if not result.ok:
        sys.exit(EXIT_FINDINGS)

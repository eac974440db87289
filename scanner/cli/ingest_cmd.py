"""``keysweep ingest``: verify signed bundles and store them (central host)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_OK, EXIT_USAGE, store_option, store_path


@click.command("ingest")
@store_option
@click.option(
    "--trusted-keys",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the hosts' public keys (*.pub from `keysweep keygen`).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per bundle on stdout.")
@click.argument("bundles", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def ingest_command(store: str | None, trusted_keys: Path, as_json: bool, bundles: tuple[Path, ...]) -> None:
    """Verify each bundle (signer, signature, length), then store it once. A rejected bundle stores
    nothing, is named with the reason, and makes the exit code 2; the others are still ingested."""
    import json
    from dataclasses import asdict

    from scanner.fleet.ingest import Outcome, ingest
    from scanner.fleet.keys import SigningKeyError, load_trusted_keys
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError

    try:
        trusted = load_trusted_keys(trusted_keys)
    except SigningKeyError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    for problem in trusted.problems:
        click.echo(f"keysweep: warning: trusted keys: {problem}; skipped", err=True)
    location = store_path({"store": store})
    assert location is not None
    try:
        with open_store(location) as opened:
            results = ingest(bundles, opened, trusted.keys)
    except StoreError as exc:
        click.echo(f"keysweep: {exc}; nothing ingested", err=True)
        sys.exit(EXIT_USAGE)
    for result in results:
        if as_json:
            click.echo(json.dumps(asdict(result)))
        bad = result.outcome in (Outcome.REJECTED, Outcome.FAILED)
        click.echo(f"keysweep: {'error: ' if bad else ''}{result.message}", err=True)
    counts = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    click.echo("keysweep: ingest: " + ", ".join(f"{n} {o}" for o, n in counts.items()), err=True)
    failed = counts[Outcome.REJECTED] + counts[Outcome.FAILED]
    sys.exit(EXIT_USAGE if failed else EXIT_OK)

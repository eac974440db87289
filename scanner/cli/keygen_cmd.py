"""``keysweep keygen``: this host's Ed25519 key for signing bundles."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_USAGE


@click.command("keygen")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
def keygen_command(key_file: Path) -> None:
    """Make KEY_FILE (private, 0600) and KEY_FILE.pub (copy it into the central host's --trusted-keys DIR)."""
    from scanner.fleet.keys import SigningKeyError, generate

    try:
        public, key_id = generate(key_file)
    except SigningKeyError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"keysweep: signing key written to {key_file} (mode 0600); public key {public}", err=True)
    click.echo(key_id)

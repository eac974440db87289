"""``keysweep store``: the store's schema (``upgrade``, ``version``)."""

from __future__ import annotations

import sys

import click

from scanner.cli.common import EXIT_USAGE, store_option, store_path


@click.group("store")
def store_command() -> None:
    """Manage the store (SQLite file or PostgreSQL database)."""


@store_command.command("upgrade")
@store_option
def upgrade_command(store: str | None) -> None:
    """Apply the pending schema migrations, in order, in one transaction (refuses a newer schema)."""
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError

    location = store_path({"store": store})
    assert location is not None
    try:
        with open_store(location, check_schema=False) as opened:
            before, after = opened.upgrade()
            display = opened.display
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if before == after:
        click.echo(f"keysweep: store {display} is at schema version {after}; nothing to do", err=True)
    else:
        click.echo(f"keysweep: store {display} upgraded from schema version {before} to {after}", err=True)


@store_command.command("version")
@store_option
def version_command(store: str | None) -> None:
    """Print the store's schema version and the one this keysweep needs."""
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError
    from scanner.store.schema import LATEST

    location = store_path({"store": store})
    assert location is not None
    try:
        with open_store(location, create=False, read_only=True, check_schema=False) as opened:
            version = opened.schema_version()
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"schema version {version} (this keysweep: {LATEST})")

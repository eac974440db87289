"""``keysweep demo``: scan sample-targets/ and write the HTML report."""

from __future__ import annotations

import sys

import click

from scanner.cli.common import EXIT_USAGE, store_options


def _hidden() -> bool:
    from scanner.demo import sample_targets_available

    return not sample_targets_available()


# listed only where it can run: a source checkout (pip-installed users get the reason if they try)
@click.command("demo", hidden=_hidden())
@store_options
def demo_command(store: str | None, no_store: bool) -> None:
    """Start sample-targets/, scan it, write the HTML report (its path is printed), stop the servers."""
    from scanner.demo import DemoError, run_demo

    extra = ["--no-store"] if no_store else (["--store", str(store)] if store else [])
    try:
        html = run_demo(extra)
    except DemoError as exc:
        click.echo(f"keysweep demo: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(str(html.absolute()))

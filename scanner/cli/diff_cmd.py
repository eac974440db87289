"""``keysweep diff``: what changed between two scans."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_FINDINGS, SEVERITIES, store_options, store_path, usage_error
from scanner.inventory.model import Severity
from scanner.reporting.base import write_atomically


@click.command("diff")
@click.argument("old")
@click.argument("new")
@store_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the diff here, not stdout.")
@click.option(
    "--fail-on-new",
    type=click.Choice(SEVERITIES),
    metavar="SEVERITY",
    help="Exit 1 when a new open finding is at or above this severity (for CI).",
)
def diff_command(
    old: str, new: str, store: str | None, no_store: bool, fmt: str, output: Path | None, fail_on_new: str | None
) -> None:
    """Compare two scans: OLD and NEW are JSON report files or scan ids (or id prefixes) in the store."""
    import json

    from scanner.reporting.diff import DiffError, diff_dict, diff_reports, diff_text, load_report

    path = store_path({"store": store, "no_store": no_store})
    try:
        result = diff_reports(load_report(old, path), load_report(new, path))
    except DiffError as exc:
        raise usage_error(str(exc)) from None
    text = json.dumps(diff_dict(result), indent=1, ensure_ascii=False) + "\n" if fmt == "json" else diff_text(result)
    if output:
        write_atomically(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)
    if fail_on_new and result.new_at_or_above(Severity(fail_on_new)):
        sys.exit(EXIT_FINDINGS)

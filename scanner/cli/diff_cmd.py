"""``keysweep diff``: what changed between two scans."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scanner.cli.common import EXIT_FINDINGS, SEVERITIES, store_options, store_path, usage_error
from scanner.inventory.model import Severity
from scanner.reporting.output import Output, OutputError, check_outputs, write_output


@click.command("diff")
@click.argument("old")
@click.argument("new")
@store_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "table", "json"]),
    default="text",
    show_default=True,
    help="How to print the diff (table is the same as text).",
)
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
    """Compare two scans: OLD and NEW are JSON report files or scan ids (or id prefixes) in the store.

    \b
    Examples:
      keysweep diff yesterday.json today.json
      keysweep diff 3f2a 9be1 --format json
      keysweep diff old.json new.json --fail-on-new high
    """
    import json

    from scanner.reporting.diff import diff_dict, diff_reports, diff_text

    path = store_path({"store": store, "no_store": no_store})
    if output is not None:
        for problem in check_outputs([Output("diff", str(output))]):
            raise usage_error(problem)
    result = diff_reports(_load(old, path), _load(new, path))
    text = json.dumps(diff_dict(result), indent=1, ensure_ascii=False) + "\n" if fmt == "json" else diff_text(result)
    if output:
        try:
            write_output(str(output), text.encode("utf-8"))
        except OutputError as exc:
            raise usage_error(f"diff not written: {exc}") from None
    else:
        click.echo(text, nl=False)
    if fail_on_new and result.new_at_or_above(Severity(fail_on_new)):
        sys.exit(EXIT_FINDINGS)


def _load(ref: str, store: str | None) -> dict[str, Any]:
    """A report file's path, or a scan id (or unique id prefix) in the history store."""
    from scanner.api import KeysweepError, load_report
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError

    if Path(ref).expanduser().is_file():
        try:
            return load_report(Path(ref).expanduser())
        except KeysweepError as exc:
            raise usage_error(str(exc)) from None
    if store is None:
        raise usage_error(f"{ref!r} is not a report file, and no history store is in use")
    try:
        with open_store(store, create=False, read_only=True) as history:
            return history.load(ref)
    except StoreError as exc:
        raise usage_error(f"{ref!r} is not a report file, and {exc}") from None

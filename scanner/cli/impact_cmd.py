"""``keysweep impact``: the blast radius of a key or certificate."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.common import store_option, usage_error
from scanner.compat import UTC
from scanner.printable import printable

if TYPE_CHECKING:
    from scanner.inventory.graph import InventoryGraph


@click.command("impact")
@click.argument("asset")
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, path_type=Path),
    help="A keysweep JSON report to read the inventory from.",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Sweep these files or directories instead of reading a report; repeatable.",
)
@click.option(
    "--scan",
    "scan_ref",
    metavar="ID",
    help="A scan in the history store (id or unique prefix) [default: the latest, when no --report or --path].",
)
@store_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def impact_command(
    asset: str,
    report_path: Path | None,
    paths: tuple[Path, ...],
    scan_ref: str | None,
    store: str | None,
    fmt: str,
    as_json: bool,
) -> None:
    """Everything that depends on a key or certificate: its blast radius if compromised.

    ASSET is an asset id, a unique part of one (e.g. a fingerprint), a certificate's subject or a
    name in its subjectAltName, or the path of a file holding one key or one certificate. The
    inventory comes from --report, from --path, or from the history store (latest scan by default).

    \b
    Examples:
      keysweep impact shop.example                       (latest scan in the history store)
      keysweep impact /etc/ssl/private/shop.key --path /etc
      keysweep impact 3f2a9c --report report.json --format json
    """
    import json

    from scanner.engine.impact import ImpactError, blast_radius, graph_from_report, render_text, resolve_asset

    if sum(map(bool, (report_path, paths, scan_ref))) > 1:
        raise usage_error("give one of --report FILE, --path PATH or --scan ID")
    try:
        if report_path is not None:
            graph = graph_from_report(report_path)
        elif paths:
            from scanner.collectors.base import SilentProgress
            from scanner.inventory.enrich import enrich
            from scanner.scan import ScanRequest, build_graph, path_targets

            request = ScanRequest(targets=tuple(path_targets([p.absolute() for p in paths])), packs=())
            graph = build_graph(request, SilentProgress())
            enrich(graph, datetime.now(UTC))
        else:
            graph = _graph_from_store(store, scan_ref)
        result = blast_radius(graph, resolve_asset(graph, asset))
    except ImpactError as exc:
        raise usage_error(str(exc)) from None
    if as_json or fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=1))
    else:
        click.echo(render_text(result))


def _graph_from_store(store: str | Path | None, ref: str | None) -> InventoryGraph:
    from scanner.engine.impact import graph_from_report_data
    from scanner.store.backends import is_local_file, open_store
    from scanner.store.history import default_store
    from scanner.store.interface import StoreError

    path = str(store) if store else default_store()
    if is_local_file(path) and not Path(path).expanduser().is_file():
        raise usage_error(f"no history store at {printable(path)}: give --report FILE or --path PATH")
    try:
        with open_store(path, create=False, read_only=True) as history:
            if ref is None:
                latest = history.scans(limit=1)
                if not latest:
                    raise usage_error(f"no scans in {printable(path)} yet: give --report FILE or --path PATH")
                ref = latest[0].id
            return graph_from_report_data(history.load(ref), f"scan {ref}")
    except StoreError as exc:
        raise usage_error(str(exc)) from None

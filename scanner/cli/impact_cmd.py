"""``keysweep impact``: the blast radius of a key or certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from scanner.cli.common import usage_error


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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def impact_command(asset: str, report_path: Path | None, paths: tuple[Path, ...], as_json: bool) -> None:
    """Everything that depends on a key or certificate: its blast radius if compromised.

    ASSET is an asset id, a unique part of one (e.g. a fingerprint), or the path of a file holding
    one key or one certificate.
    """
    import json

    from scanner.engine.impact import ImpactError, blast_radius, graph_from_report, render_text, resolve_asset

    if bool(report_path) == bool(paths):
        raise usage_error("give either --report FILE or --path PATH")
    try:
        if report_path is not None:
            graph = graph_from_report(report_path)
        else:
            from scanner.collectors.base import SilentProgress
            from scanner.inventory.enrich import enrich
            from scanner.scan import ScanRequest, build_graph, path_targets

            request = ScanRequest(targets=tuple(path_targets([p.absolute() for p in paths])), packs=())
            graph = build_graph(request, SilentProgress())
            enrich(graph, datetime.now(UTC))
        result = blast_radius(graph, resolve_asset(graph, asset))
    except ImpactError as exc:
        raise usage_error(str(exc)) from None
    click.echo(json.dumps(result.as_dict(), indent=1) if as_json else render_text(result))

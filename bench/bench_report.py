"""What follows the sweep, per stage: enrichment, the rules, the summary, the JSON report, the findings
table, CSV and SARIF, for one real scan of a tree (CPU and wall seconds, each stage's best of three).

    .venv/bin/python bench/bench_report.py [--path /tmp/benchfiles/files-20000] [--cache DIR]

The tree is scanned once (with a file cache when given, so a second run skips the parse);
enrichment is timed inside that scan, then on fresh copies of the graph, the rest on its result.
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import scan
from scanner.collectors.base import Target
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory import summary
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.reporting.csv_report import CsvReporter
from scanner.reporting.json_report import JsonReporter
from scanner.reporting.sarif import SarifReporter
from scanner.reporting.table import render_table


def _best(run: Callable[[], Any], times: int = 3) -> tuple[float, float]:
    best = (float("inf"), float("inf"))
    for _ in range(times):
        cpu, wall = time.process_time(), time.perf_counter()
        run()
        best = min(best, (time.process_time() - cpu, time.perf_counter() - wall))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", default="/tmp/benchfiles/files-20000")
    parser.add_argument("--cache", default=None, help="a file cache directory (a second run skips the parse)")
    args = parser.parse_args()
    # as the CLI does: no re-walks of the long-lived objects by the collector
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)
    graphs: list[tuple[InventoryGraph, datetime]] = []

    def keep(graph: InventoryGraph, as_of: datetime) -> None:
        graphs.append((copy.deepcopy(graph), as_of))
        enrich(graph, as_of)

    setattr(scan, "enrich", keep)  # noqa: B010 - the scan's own enrichment, observed
    options = {"file_cache": args.cache} if args.cache else {}
    request = scan.ScanRequest(
        (Target("path", args.path),), tuple(select_packs(discover_packs(()), ())), options=options
    )
    # the collector off once the graph is built, as `keysweep scan` has it (scanner/cli/scan_cmd.py)
    result = scan.run_scan(request, collected=gc.disable)
    setattr(scan, "enrich", enrich)  # noqa: B010
    print(f"{len(result.assets)} assets, {len(result.relations)} relations, {len(result.findings)} findings")
    graph, as_of = graphs[0]
    copies = [copy.deepcopy(graph) for _ in range(3)]
    enriched = copy.deepcopy(graph)
    enrich(enriched, as_of)
    engine = RuleEngine(request.packs)

    def summarize() -> None:
        summary._summary_of.cache_clear()  # the summary is memoised per scan: time computing it
        summary.summarize(result)

    stages: dict[str, Callable[[], Any]] = {
        "enrich": lambda: enrich(copies.pop(), as_of),
        "rules": lambda: engine.evaluate(enriched, EvalContext(as_of=as_of)),
        "summary": summarize,
        "json report (summary cached)": lambda: JsonReporter().render(result),
        "findings table": lambda: render_table(result),
        "csv": lambda: CsvReporter().render(result),
        "sarif": lambda: SarifReporter(root="/srv").render(result),
    }
    for name, run in stages.items():
        cpu, wall = _best(run)
        print(f"{name:30} {cpu:6.3f} s cpu {wall:6.3f} s wall")


if __name__ == "__main__":
    main()

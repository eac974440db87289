"""CBOM (CycloneDX 1.6 and 1.7) and SARIF for a large scan: render time and size against the JSON
report of the same scan (the baseline, measured in the same run); then the peak memory of the CBOM
written streamed (CbomReporter.write) against rendered whole and written, beside the JSON report's,
each in a fresh forked process.

    .venv/bin/python bench/bench_formats.py [--assets 20000] [--no-memory]

The scan is bench_html's synthetic one: hosts with a TLS endpoint, a certificate, its key and the
file holding them, and findings on a share of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_html import _in_child, synthetic

from scanner.inventory.model import ScanResult
from scanner.reporting.cbom import CbomReporter
from scanner.reporting.json_report import JsonReporter
from scanner.reporting.output import write_output
from scanner.reporting.sarif import SarifReporter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=20000)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    result = synthetic(args.assets)
    print(f"{len(result.assets)} assets, {len(result.relations)} relations, {len(result.findings)} findings")
    reporters = {
        "json (baseline)": JsonReporter(),
        "cbom 1.6": CbomReporter("1.6"),
        "cbom 1.7": CbomReporter("1.7"),
        "sarif": SarifReporter(root="/srv"),
    }
    baseline = 0.0
    for name, reporter in reporters.items():
        started = time.perf_counter()
        size = len(reporter.render(result))
        took = time.perf_counter() - started
        baseline = baseline or took
        print(f"{name:16} {took:7.2f} s  {took / baseline:5.1f}x  {size / 1e6:7.1f} MB")
    if not args.no_memory:
        memory(result)


def memory(result: ScanResult) -> None:
    """Peak MB of Python allocations (traced) and wall/CPU seconds (untraced) of writing each report
    to a file: rendered whole then written, against the reporter's own streamed write."""
    with tempfile.TemporaryDirectory() as tmp:
        target = str(Path(tmp) / "report")
        for name, reporter in (("json", JsonReporter()), ("cbom 1.6", CbomReporter("1.6"))):
            for how, work in (
                ("rendered", lambda r=reporter: write_output(target, r.render(result))),
                ("streamed", lambda r=reporter: r.write(result, target)),
            ):
                peak = _in_child(work, trace=True)[0]
                _, wall, cpu = _in_child(work, trace=False)
                print(
                    f"  {name:9} {how}: peak {peak:7.1f} MB of Python allocations, {wall:6.2f} s wall, {cpu:6.2f} s CPU"
                )


if __name__ == "__main__":
    main()

"""Benchmark: saving one big scan to the history store (SQLite), as `keysweep scan --store` does.

The report is a real one: give it with --report (e.g. the --json of a scan of the 20k-file bench
tree, 62 MB) or let the bench scan --tree first. Each round saves it into a new store (the first
scan) and then the same content under another scan id into that store (the re-scan, which meets
the first scan's rows in the indexes). Baseline in the same run: the same saves with the json
module's encoders for the rows (what keysweep did before orjson wrote them), so the two figures
share the machine's load. CPU seconds include the compressing thread. Target (issue 12): a
20k-file scan saved in at most 0.5 s wall.

    .venv/bin/python bench/bench_store.py --report /tmp/r.json [--rounds 3]
    .venv/bin/python bench/bench_store.py --tree /tmp/benchfiles/files-20000
    .venv/bin/python bench/bench_store.py --report /tmp/r.json --postgres   (also into a real PostgreSQL)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.store import rows as R
from scanner.store.backends import open_store
from tests.support.postgres import PostgresServer


def report_of(tree: Path, workdir: Path) -> bytes:
    out = workdir / "report.json"
    subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--path", str(tree), "--no-store", "--no-cache", "--json", str(out)],
        check=False,
        capture_output=True,
    )
    return out.read_bytes()


def with_new_id(report_json: bytes) -> bytes:
    old = json.loads(report_json)["scan"]["id"]
    return report_json.replace(f'"{old}"'.encode(), f'"{uuid.uuid4()}"'.encode())


@contextmanager
def json_module_encoders() -> Iterator[None]:
    """derive as before: the json module writes every JSON column and every string is made valid."""
    fast = R._parse

    def reference(report_json: bytes) -> tuple[Any, Any, Any]:
        return json.loads(report_json), R._compact, R._valid_text

    R._parse = reference  # type: ignore[assignment]
    try:
        yield
    finally:
        R._parse = fast  # type: ignore[assignment]


def timed_saves(report_json: bytes, new_store: Callable[[], str]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of the first save into a new store and of the second."""
    times: list[tuple[float, float]] = []
    with open_store(new_store()) as store:
        for payload in (report_json, with_new_id(report_json)):
            wall, cpu = time.perf_counter(), time.process_time()
            store.save(payload)
            times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path, help="a keysweep JSON report (default: scan --tree first)")
    parser.add_argument("--tree", type=Path, default=Path("/tmp/benchfiles/files-20000"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also save into a real PostgreSQL (started here)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    # as `keysweep scan` sets them (scanner/cli/scan_cmd.py): the store runs after a big scan
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        workdir = Path(work)
        report_json = args.report.read_bytes() if args.report else report_of(args.tree, workdir)
        report = json.loads(report_json)
        print(
            f"report: {len(report_json) / 1e6:.1f} MB, {len(report['assets'])} assets, "
            f"{len(report['relations'])} relations, {len(report['findings'])} findings"
        )
        del report
        n = iter(range(1_000_000))
        backends: dict[str, Callable[[], str]] = {"SQLite": lambda: str(workdir / f"h{next(n)}.sqlite3")}
        server = PostgresServer.start() if args.postgres else None
        try:
            if server is not None:
                os.environ["PGPASSWORD"] = server.password
                backends["PostgreSQL"] = server.new_database
            for backend, new_store in backends.items():
                compare(backend, report_json, new_store, args.rounds)
        finally:
            if server is not None:
                server.remove()


def compare(backend: str, report_json: bytes, new_store: Callable[[], str], rounds: int) -> None:
    best: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        with json_module_encoders():
            baseline = timed_saves(report_json, new_store)
        current = timed_saves(report_json, new_store)
        for name, times in (("json module", baseline), ("keysweep", current)):
            kept = best.setdefault(name, times)
            best[name] = [min(a, b) for a, b in zip(kept, times, strict=True)]
    print(f"{backend}, best of {rounds} rounds   first save              re-save")
    for name, ((wall1, cpu1), (wall2, cpu2)) in best.items():
        print(f"  {name:14s}  {wall1:6.2f} s wall {cpu1:5.2f} CPU  {wall2:6.2f} s wall {cpu2:5.2f} CPU")


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so that the PostgreSQL server is removed


if __name__ == "__main__":
    main()

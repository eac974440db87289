"""Benchmark: saving one big scan to the history store, as `keysweep scan --store` does.

The report is a real one: give it with --report (e.g. the --json of a scan of the 20k-file bench
tree, 62 MB) or let the bench scan --tree first. Two situations, each timed and weighed:

- into an empty store (a first scan);
- into a store already holding --held scans of the same content (an unchanged nightly re-scan,
  meeting the earlier scans' rows in the store).

"bytes added" is how much the store grew by that one save (SQLite: the file and its WAL after
the store is closed; PostgreSQL: pg_database_size). CPU seconds include the threads that compress
and digest the report. The first save is what every save cost before schema 3, which stored every
scan's rows again: the two situations side by side are the comparison. The same measurements run
on a store kept at schema 3 (every report stored whole, as schema 3 lays it out) beside schema 4
(a report's body stored once, shared). With --baseline-python (the venv of another checkout, e.g.
`git worktree add ../v2 3774cd6` for schema 2) they also run in that interpreter with its own
keysweep, so all figures share the machine's load. Target (issue 12): an
unchanged re-scan of the 20k-file report saved in well under 0.2 s wall, adding under 1 MB.

With --changed (the report of a second scan of the same targets after one file was added) a third
situation: that report saved into a store holding --held scans of the first, on a store kept at
schema 4 (one row set per kind, every row written again) beside schema 5 (rows in buckets: the
changed buckets written), and with --buckets at other bucket counts too. Two real reports:

    keysweep scan --path /tmp/benchfiles/files-20000 --path /tmp/store5/extra --json r.json --no-store
    cp some.crt /tmp/store5/extra/   # one file added
    keysweep scan --path /tmp/benchfiles/files-20000 --path /tmp/store5/extra --json r2.json --no-store
    .venv/bin/python bench/bench_store.py --report r.json --changed r2.json [--buckets 64 1024]

Target: the changed re-save well under 0.5 s, adding a few MB.

    .venv/bin/python bench/bench_store.py --report /tmp/r.json [--rounds 3] [--held 5]
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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path


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


def sqlite_size(url: str) -> int:
    return sum(os.path.getsize(p) for p in (url, url + "-wal") if os.path.exists(p))


def postgres_size(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return int(db.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def layout(schema: int | None) -> AbstractContextManager[None]:
    """Stores created inside are kept at `schema` (None: the latest), written as that schema lays them out."""
    if schema is None:
        return nullcontext()
    from tests.store.helpers import schema_at

    return schema_at(schema)


def timed_save(
    report_json: bytes,
    url: str,
    held: int,
    size: Callable[[str], int],
    schema: int | None = None,
    changed: bytes | None = None,
    buckets: int | None = None,
) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes added) of one save (of the report, or of `changed`) into a store already
    holding `held` scans of the report; `buckets` per kind instead of the store's own count."""
    from scanner.store.backends import open_store

    with layout(schema):
        with open_store(url) as store:
            if buckets is not None:
                store.buckets = buckets  # type: ignore[attr-defined]
            for _ in range(held):
                store.save(with_new_id(report_json))
        before = size(url)
        payload = with_new_id(changed or report_json)
        with open_store(url) as store:
            if buckets is not None:
                store.buckets = buckets  # type: ignore[attr-defined]
            wall, cpu = time.perf_counter(), time.process_time()
            store.save(payload)
            took = (time.perf_counter() - wall, time.process_time() - cpu)
    return took[0], took[1], size(url) - before


def measure(
    report_json: bytes,
    new_store: Callable[[], str],
    size: Callable[[str], int],
    rounds: int,
    held: int,
    schema: int | None = None,
    changed: bytes | None = None,
    buckets: int | None = None,
) -> dict[str, list[float]]:
    """Best of `rounds` for each situation: {"empty": [wall, cpu, bytes], "held": [...]}; the held
    store saves `changed` when given, and `buckets` is timed_save's."""
    best: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, count, payload in (("empty", 0, None), ("held", held, changed)):
            result = list(timed_save(report_json, new_store(), count, size, schema, payload, buckets))
            kept = best.setdefault(name, result)
            best[name] = [min(a, b) for a, b in zip(kept, result, strict=True)]
    return best


def _child(args: argparse.Namespace) -> None:
    """The measurements in this interpreter, as JSON on stdout (how the baseline runs)."""
    report_json = args.report.read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        n = iter(range(1_000_000))
        result = measure(
            report_json, lambda: str(Path(work) / f"h{next(n)}.sqlite3"), sqlite_size, args.rounds, args.held
        )
    print(json.dumps(result))


# this keysweep on a store kept at schema 3 (reports whole), at schema 4 (shared bodies, one row set
# per kind), then at the latest (rows in buckets)
LAYOUTS: tuple[tuple[str, int | None], ...] = (
    ("this keysweep, schema 3 layout", 3),
    ("this keysweep, schema 4 layout", 4),
    ("this keysweep, schema 5", None),
)


def measure_changed(
    report_json: bytes,
    changed: bytes,
    new_store: Callable[[], str],
    size: Callable[[str], int],
    rounds: int,
    held: int,
    bucket_counts: list[int],
) -> None:
    """The changed report's save at schema 4's layout, at schema 5, and at other bucket counts."""
    runs: list[tuple[str, int | None, int | None]] = [("schema 4 layout (one set per kind)", 4, None)]
    from scanner.store.rows import BUCKETS

    runs.append((f"schema 5 ({BUCKETS} buckets per kind)", None, None))
    runs += [(f"schema 5, {n} buckets per kind", None, n) for n in bucket_counts]
    for label, schema, buckets in runs:
        # the first save too: more buckets cost it more statements and member rows
        best = measure(report_json, new_store, size, rounds, held, schema, changed, buckets)
        for text, name in (("first save", "empty"), ("re-save after one file changed", "held")):
            wall, cpu, added = best[name]
            print(f"  {label:37s} {text:30s}  {wall:6.2f} s wall {cpu:5.2f} CPU  {added / 1e6:8.3f} MB added")


def show(label: str, best: dict[str, list[float]], held: int) -> None:
    for name, text in (("empty", "into an empty store"), ("held", f"into a store of {held} such scans")):
        wall, cpu, added = best[name]
        print(f"  {label:31s} {text:30s} {wall:6.2f} s wall {cpu:5.2f} CPU  {added / 1e6:8.3f} MB added")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path, help="a keysweep JSON report (default: scan --tree first)")
    parser.add_argument("--tree", type=Path, default=Path("/tmp/benchfiles/files-20000"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--held", type=int, default=5, help="scans of the report already in the store")
    parser.add_argument("--baseline-python", type=Path, default=None)
    parser.add_argument("--postgres", action="store_true", help="also save into a real PostgreSQL (started here)")
    parser.add_argument("--changed", type=Path, help="the report of the same targets after one file changed")
    parser.add_argument("--buckets", type=int, nargs="*", default=[], help="other bucket counts to try (--changed)")
    parser.add_argument("--only-changed", action="store_true", help="with --changed: skip the other situations")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # as `keysweep scan` sets them (scanner/cli/scan_cmd.py): the store runs after a big scan
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)
    if args.child:
        _child(args)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="bench-store-") as work:
        workdir = Path(work)
        if args.report is None:
            args.report = workdir / "report.json"
            args.report.write_bytes(report_of(args.tree, workdir))
        report_json = args.report.read_bytes()
        report = json.loads(report_json)
        print(
            f"report: {len(report_json) / 1e6:.1f} MB, {len(report['assets'])} assets, "
            f"{len(report['relations'])} relations, {len(report['findings'])} findings; best of {args.rounds}"
        )
        del report
        print("SQLite")
        if args.baseline_python is not None:
            argv = [str(args.baseline_python), __file__, "--child", "--report", str(args.report)]
            argv += ["--rounds", str(args.rounds), "--held", str(args.held)]
            done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd="/")
            show(f"baseline ({args.baseline_python.parents[2].name})", json.loads(done.stdout), args.held)
        n = iter(range(1_000_000))
        for label, schema in () if args.only_changed else LAYOUTS:
            current = measure(
                report_json, lambda: str(workdir / f"h{next(n)}.sqlite3"), sqlite_size, args.rounds, args.held, schema
            )
            show(label, current, args.held)
        changed = None if args.changed is None else args.changed.read_bytes()
        if changed is not None:
            measure_changed(
                report_json,
                changed,
                lambda: str(workdir / f"h{next(n)}.sqlite3"),
                sqlite_size,
                args.rounds,
                args.held,
                args.buckets,
            )
        if args.postgres:
            from tests.support.postgres import PostgresServer

            server = PostgresServer.start()
            try:
                os.environ["PGPASSWORD"] = server.password
                print("PostgreSQL")
                for label, schema in () if args.only_changed else LAYOUTS:
                    show(
                        label,
                        measure(report_json, server.new_database, postgres_size, args.rounds, args.held, schema),
                        args.held,
                    )
                if changed is not None:
                    measure_changed(
                        report_json, changed, server.new_database, postgres_size, args.rounds, args.held, []
                    )
            finally:
                server.remove()


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so that the PostgreSQL server is removed


if __name__ == "__main__":
    main()

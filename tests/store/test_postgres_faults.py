"""PostgreSQL under faults: a connection lost in the middle of an ingest, and 20 concurrent ingests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.fleet.bundle import seal
from scanner.store import bodies
from scanner.store import rows as R
from scanner.store.interface import SaveStatus, StoreError
from scanner.store.postgres import PostgresStore
from tests.store.helpers import Pieces, execute, noted, variant


def test_connection_lost_mid_ingest_rolls_back_and_the_retry_stores_once(postgres_server, report_json: bytes) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.new_database()
    scan = variant(report_json, "web-1", 1)
    with PostgresStore(url):
        pass  # the schema exists before the fault is staged
    admin = postgres_server.connect(url)
    admin.execute("BEGIN")
    # the ingest gets as far as the findings rows, then waits on this lock: mid-transaction
    admin.execute("LOCK TABLE findings IN ACCESS EXCLUSIVE MODE")
    store = PostgresStore(url)
    failure: list[BaseException] = []

    def save() -> None:
        try:
            store.save(scan)
        except BaseException as exc:
            failure.append(exc)

    writer = threading.Thread(target=save)
    writer.start()
    pid = store.backend_pid()
    deadline = time.monotonic() + 60
    while not admin.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[
        0
    ]:
        assert time.monotonic() < deadline, "the ingest never reached the locked table"
        time.sleep(0.05)
    # it has written the scan, asset, location and relation rows inside its transaction by now
    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    writer.join(60)
    admin.execute("ROLLBACK")
    admin.close()
    assert len(failure) == 1 and isinstance(failure[0], StoreError), failure
    assert postgres_server.password not in str(failure[0])
    assert execute(url, "SELECT (SELECT count(*) FROM scans) + (SELECT count(*) FROM assets)")[0][0] == 0
    assert execute(url, "SELECT count(*) FROM report_bodies")[0][0] == 0  # written inside the rolled back save

    with PostgresStore(url) as retry:
        assert retry.save(scan).status is SaveStatus.STORED
        assert retry.save(scan).status is SaveStatus.DUPLICATE
        assert retry.verify().ok
    report = json.loads(scan)
    assert execute(url, "SELECT count(*) FROM assets")[0][0] == len(report["assets"])


@pytest.mark.slow
def test_twenty_concurrent_ingests_store_every_scan_exactly_once(
    postgres_server,
    report_json: bytes,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    url = postgres_server.new_database()  # empty: the concurrent ingests race to create the schema too
    key = Ed25519PrivateKey.generate()
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "host.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bundles, reports = [], []
    for n in range(20):
        path = tmp_path / f"b{n:02d}.bundle"
        # five contents: four with one asset changed (as a changed file changes it), which share every
        # other bucket; the writers race for shared manifests, for shared buckets and for their own
        scope, note = f"scope-{n % 4}", f"changed in content {n % 5}"
        reports.append(noted(report_json, scope, n, n % 5, note) if n % 5 else variant(report_json, scope, n))
        path.write_bytes(seal(reports[-1], key))
        bundles.append(path)
    # each process ingests its own bundle and, as a retry would, its neighbour's
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scanner",
                "ingest",
                "--store",
                url,
                "--trusted-keys",
                str(trusted),
                str(b),
                str(bundles[(n + 1) % 20]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, b in enumerate(bundles)
    ]
    for process in processes:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
    per_report = json.loads(report_json)
    counts = execute(
        url,
        "SELECT (SELECT count(*) FROM scans), (SELECT count(DISTINCT id) FROM scans), (SELECT count(*) FROM assets),"
        " (SELECT count(*) FROM findings), (SELECT count(*) FROM scopes)",
    )[0]
    assert counts == (20, 20, 20 * len(per_report["assets"]), 20 * len(per_report["findings"]), 4)
    # each scan reads its own rows back: the sixteen changed ones their changed asset
    changed = execute(
        url, "SELECT count(*), count(DISTINCT scan_id) FROM assets WHERE properties LIKE ?", ("%changed in%",)
    )
    assert changed == [(16, 16)]
    # the writers that raced for each manifest and each bucket wrote it once
    manifests = {m.set_id: m for raw in reports[:5] for m in R.derive(raw).sets}
    buckets = {b.set_id: b for m in manifests.values() for b in m.buckets}
    asset_buckets = [b for b in buckets.values() if b.kind == "assets"]
    per_content = sum(len(m.buckets) for m in manifests.values() if m.kind == "assets") // 5
    assert len(asset_buckets) == per_content + 4  # each changed content has one bucket of its own
    sets = execute(
        url,
        "SELECT (SELECT count(*) FROM row_sets), (SELECT count(*) FROM set_members), (SELECT count(*) FROM asset_sets)",
    )[0]
    assert sets == (
        len(manifests) + len(buckets),
        sum(len(m.buckets) for m in manifests.values()),
        sum(len(b.rows) for b in asset_buckets),
    )
    # and the five report bodies were written once each: each scan keeps its own head
    assert execute(url, "SELECT count(*), count(DISTINCT report_body) FROM scans")[0] == (20, 5)
    named = "SELECT count(*) FROM report_bodies WHERE body_digest IN (SELECT report_body FROM scans)"
    assert execute(url, named)[0][0] == 5
    with PostgresStore(url) as store:
        verification = store.verify()
        assert verification.ok, verification.problems
        assert sorted(h.scans for h in verification.scopes) == [5, 5, 5, 5]
        assert all(store.load_bytes(json.loads(raw)["scan"]["id"]) == raw for raw in reports)


def test_concurrent_writers_race_for_shared_chunks_and_buckets(
    postgres_server,  # type: ignore[no-untyped-def]
    report_json: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten writers at once, each saving its report and its neighbour's, half of them in pieces: five
    contents that share most body chunks (cut after every id here) and buckets; every chunk and
    bucket is stored once, no writer deadlocks, and every scan reads back its own bytes and verifies."""
    monkeypatch.setattr(bodies, "_CUTS", (b'","type":"', b'","target":"', b'","rule_id":"'))
    url = postgres_server.new_database()
    PostgresStore(url).close()
    reports = []
    for n in range(10):
        reports.append(noted(report_json, f"scope-{n % 3}", n, n % 5, f"changed in content {n % 5}"))
    start = threading.Barrier(10)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with PostgresStore(url) as store:
                start.wait()
                for raw in (reports[n], reports[(n + 5) % 10]):
                    # half the writers take the report in pieces, as a scan's save does: both ways
                    # register sets in one order
                    if n % 2:
                        store.save_report(Pieces(raw))
                    else:
                        store.save(raw)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not failures, failures
    chunks = set()
    for raw in reports:
        cuts = bodies.chunk_bounds(raw, R.body_start(raw))
        chunks |= {raw[a:b] for a, b in zip(cuts, [*cuts[1:], len(raw)], strict=True)}
    lists = {R.body_digest(raw, R.body_start(raw)) for raw in reports}
    assert execute(url, "SELECT count(*) FROM report_bodies")[0][0] == len(chunks) + len(lists) == len(chunks) + 5
    buckets = {b.set_id: b for raw in reports for m in R.derive(raw).sets for b in m.buckets}
    assert execute(url, "SELECT count(*) FROM asset_sets")[0][0] == sum(
        len(b.rows) for b in buckets.values() if b.kind == "assets"
    )
    with PostgresStore(url) as store:
        verification = store.verify()
        assert verification.ok, verification.problems
        assert all(store.load_bytes(json.loads(raw)["scan"]["id"]) == raw for raw in reports)
    assert execute(url, "SELECT count(*) FROM scans")[0][0] == 10

"""The same store test-suite against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import json

import pytest

from scanner.store.backends import open_store
from scanner.store.interface import DamagedScan, SaveStatus, SchemaError, StoreError
from scanner.store.schema import LATEST
from tests.store.helpers import execute, noted, variant


def test_round_trip_duplicates_and_conflicts(store_url: str, report_json: bytes) -> None:
    first, second = variant(report_json, "web-1", 1), variant(report_json, "web-1", 2)
    with open_store(store_url) as store:
        assert store.save(first).status is SaveStatus.STORED
        assert store.save(second).status is SaveStatus.STORED
        # the same scan again (a retried ingest): stored once
        assert store.save(first).status is SaveStatus.DUPLICATE
        scan_id = json.loads(first)["scan"]["id"]
        assert store.load_bytes(scan_id) == first
        assert store.load(scan_id[:8]) == json.loads(first)
        assert [s.id for s in store.scans()] == [json.loads(second)["scan"]["id"], scan_id]
        # another scan under an existing id is refused, not merged
        altered = json.loads(first)
        altered["findings"] = []
        with pytest.raises(StoreError, match="different scan"):
            store.save(json.dumps(altered).encode())
        assert len(store.scans()) == 2
        with pytest.raises(StoreError, match="not a keysweep JSON report"):
            store.save(b'{"scan": 1}')


def test_fleet_questions_are_sql(store_url: str, report_json: bytes) -> None:
    """Rows, not only a blob: which scopes hold key X, open findings of rule R, latest scan per scope."""
    report = json.loads(report_json)
    key = next(a["id"] for a in report["assets"] if a["type"] == "key" and a["properties"].get("has_private_key"))
    rule = report["findings"][0]["rule_id"]
    with open_store(store_url) as store:
        for n, scope in enumerate(["web-1", "web-2", "db-1", "web-1"]):
            store.save(variant(report_json, scope, n))
        latest = {s.scope: s.id for s in store.latest_per_scope()}
    assert set(latest) == {"web-1", "web-2", "db-1"}
    holders = execute(
        store_url,
        "SELECT DISTINCT s.scope FROM assets a JOIN scans s ON s.id = a.scan_id WHERE a.asset_id = ? ORDER BY 1",
        (key,),
    )
    assert [h[0] for h in holders] == ["db-1", "web-1", "web-2"]
    expected = sum(1 for f in report["findings"] if f["rule_id"] == rule and f["waived"] is None)
    open_findings = execute(
        store_url,
        "SELECT count(*) FROM findings WHERE rule_id = ? AND waived = 0 AND scan_id = ?",
        (rule, latest["db-1"]),
    )
    assert open_findings[0][0] == expected > 0
    locations = execute(store_url, "SELECT count(*) FROM locations WHERE scan_id = ?", (latest["web-2"],))
    assert locations[0][0] == sum(len(a["locations"]) for a in report["assets"])


def test_verify_catches_an_edited_scan_row(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, "web-1", n)).scan_id for n in range(3)]
        store.save(variant(report_json, "web-2", 5))
        assert store.verify().ok
    execute(store_url, "UPDATE scans SET readiness = 100 WHERE id = ?", (ids[1],))
    with open_store(store_url) as store:
        result = store.verify()
    assert not result.ok
    assert [(p.scope, p.scan_id) for p in result.problems] == [("web-1", ids[1])]
    assert "altered" in result.problems[0].problem


def test_verify_catches_edited_rows_and_deleted_scans(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, "web-1", n)).scan_id for n in range(4)]
    # the four scans found the same: they share one asset manifest and its buckets, whose rows are altered for all
    execute(
        store_url,
        "UPDATE asset_sets SET properties = '{}' WHERE set_key IN (SELECT m.bucket_key FROM row_sets k"
        " JOIN set_members m ON m.manifest_key = k.set_key JOIN scans s ON k.set_id = s.assets_set WHERE s.id = ?)",
        (ids[0],),
    )
    execute(store_url, "DELETE FROM scans WHERE id = ?", (ids[2],))
    execute(store_url, "DELETE FROM scans WHERE id = ?", (ids[3],))
    with open_store(store_url) as store:
        problems = store.verify().problems
    texts = {(p.scan_id, p.problem.split(" (")[0]) for p in problems}
    assert (ids[0], "its asset, location, relation or finding rows were altered") in texts
    # the latest scan deleted: the scope's head still counts it
    assert any(p.scan_id == "" and "latest" in p.problem for p in problems)


def test_verify_catches_a_deleted_middle_scan(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, "web-1", n)).scan_id for n in range(3)]
    execute(store_url, "DELETE FROM scans WHERE id = ?", (ids[1],))
    with open_store(store_url) as store:
        problems = store.verify().problems
    assert {p.scan_id for p in problems} == {ids[2]}
    assert any("missing" in p.problem for p in problems)


def test_a_damaged_scan_is_reported_and_skipped(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, "web-1", n)).scan_id for n in range(3)]
    blob = "X'00ff'" if not store_url.startswith("postgresql") else "'\\x00ff'::bytea"
    execute(store_url, f"UPDATE scans SET report = {blob} WHERE id = ?", (ids[0],))
    execute(store_url, "UPDATE scans SET by_severity = '{not json' WHERE id = ?", (ids[1],))
    with open_store(store_url, read_only=True) as store:
        listing = store.listing()
        assert [s.id for s in listing.scans] == [ids[2], ids[0]]
        assert [d.id for d in listing.damaged] == [ids[1]]
        with pytest.raises(DamagedScan, match=ids[0]):
            store.load(ids[0])
        assert json.loads(store.load_bytes(ids[2]))["scan"]["id"] == ids[2]
        targets = json.loads(report_json)["scan"]["targets"]
        assert [p.scan_id for p in store.trend(targets)] == [ids[0], ids[2]]
        assert {p.scan_id for p in store.verify().problems} >= {ids[0], ids[1]}
    # a later scan is never blocked by the damaged ones
    with open_store(store_url) as store:
        assert store.save(variant(report_json, "web-1", 9)).status is SaveStatus.STORED


def test_schema_newer_than_keysweep_is_refused(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        store.save(variant(report_json, "web-1"))
        assert store.schema_version() == LATEST
    if store_url.startswith("postgresql"):
        execute(store_url, "UPDATE keysweep_schema SET version = ?", (LATEST + 1,))
    else:
        execute(store_url, f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(SchemaError, match="upgrade keysweep"):
        open_store(store_url)
    with open_store(store_url, check_schema=False) as store, pytest.raises(SchemaError):
        store.upgrade()


def test_password_in_url_is_refused(postgres_server) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.new_database().replace("keysweep@", f"keysweep:{postgres_server.password}@")
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert postgres_server.password not in str(caught.value)
    assert "PGPASSWORD" in str(caught.value)


def test_a_damaged_asset_row_costs_that_asset_only_in_the_fleet_view(store_url: str, report_json: bytes) -> None:
    from scanner.engine.rules import discover_packs
    from scanner.fleet.view import fleet_packs, fleet_report

    # web-2 found the victim asset otherwise than web-1: the two scans' buckets holding it differ
    other = noted(report_json, "web-2", 1, 0, "web-2 only")
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, "web-1", 0)).scan_id, store.save(other).scan_id]
    victim = json.loads(report_json)["assets"][0]["id"]
    execute(
        store_url,
        "UPDATE asset_sets SET properties = '{\"cut' WHERE asset_id = ? AND set_key IN (SELECT m.bucket_key"
        " FROM row_sets k JOIN set_members m ON m.manifest_key = k.set_key JOIN scans s ON k.set_id = s.assets_set"
        " WHERE s.id = ?)",
        (victim, ids[0]),
    )
    packs = discover_packs(())
    with open_store(store_url, read_only=True) as store:
        result = fleet_report(store, fleet_packs(packs, [])).result
    assert [e.target for e in result.errors] == ["scope:web-1"]
    assert victim in result.errors[0].message and ids[0] in result.errors[0].message
    # web-2's copy of the same asset is still there, with its location in web-2 only
    kept = next(a for a in result.assets if a.id == victim)
    assert {loc.scope for loc in kept.locations} == {"web-2"}
    assert len(result.assets) == len(json.loads(report_json)["assets"])

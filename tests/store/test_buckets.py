"""Schema 5: each kind's rows in buckets (row sets by a hash of the asset), a scan naming a manifest
per kind; a re-scan with one change writes the buckets that changed; verify names a damaged bucket
on every scan that uses it; a store written by schema 4 keeps verifying after the upgrade."""

from __future__ import annotations

import json
from typing import Any

from scanner.inventory import jsonio
from scanner.store import rows as R
from scanner.store.backends import open_store
from scanner.store.schema import LATEST
from tests.store.helpers import execute, schema_at, trimmed, variant
from tests.store.test_row_sets import view_rows

ROWS = "SELECT (SELECT count(*) FROM asset_sets), (SELECT count(*) FROM location_sets), (SELECT count(*) FROM row_sets)"


def changed_file(report_json: bytes, scope: str, minute: int) -> bytes:
    """The report of a re-scan in which one file changed: one asset's property and one location."""
    report = json.loads(variant(report_json, scope, minute))
    asset = report["assets"][1]
    asset["properties"]["mode"] = "0600-changed"
    asset["locations"].append({"kind": "file", "ref": "/srv/changed.pem", "detail": ""})
    return jsonio.dumps(report)


def bucket_key(url: str, set_id: str) -> int:
    return int(execute(url, "SELECT set_key FROM row_sets WHERE set_id = ?", (set_id,))[0][0])


def test_a_re_scan_with_one_changed_file_writes_only_its_buckets(store_url: str, report_json: bytes) -> None:
    first = variant(report_json, "web-1", 0)
    second = changed_file(report_json, "web-1", 1)
    old, new = R.derive(first), R.derive(second)
    with open_store(store_url) as store:
        store.save(first)
        before = execute(store_url, ROWS)[0]
        second_id = store.save(second).scan_id
        assert store.verify().ok
    after = execute(store_url, ROWS)[0]
    fresh = {
        kind: [b for b in m.buckets if b not in o.buckets]
        for kind, m, o in zip(R.KINDS, new.sets, old.sets, strict=True)
    }
    # the changed asset's bucket, in assets and in locations: nothing else is new
    assert [len(fresh[kind]) for kind in R.KINDS] == [1, 1, 0, 0]
    assert after[0] - before[0] == len(fresh["assets"][0].rows) < len(new.rows("assets"))
    assert after[1] - before[1] == len(fresh["locations"][0].rows) < len(new.rows("locations"))
    assert after[2] - before[2] == 2 + 2  # two new buckets, two new manifests (assets, locations)
    # the view reads the scan's own rows, as the report has them
    seen = view_rows(store_url, second_id)
    for kind in R.KINDS:
        assert sorted(seen[kind], key=repr) == sorted((tuple(r) for r in new.rows(kind)), key=repr)
    assert ("/srv/changed.pem" in {row[2] for row in seen["locations"]}) is True


def test_a_damaged_bucket_is_named_on_every_scan_that_uses_it(store_url: str, report_json: bytes) -> None:
    reports = [variant(report_json, "a", 0), changed_file(report_json, "b", 1), variant(report_json, "b", 2)]
    with open_store(store_url) as store:
        ids = [store.save(raw).scan_id for raw in reports]
    same, changed = (R.derive(raw).sets[0] for raw in reports[:2])
    shared = next(b for b in same.buckets if b in changed.buckets)
    own = next(b for b in changed.buckets if b not in same.buckets)
    execute(
        store_url, "UPDATE asset_sets SET properties = '{}' WHERE set_key = ?", (bucket_key(store_url, shared.set_id),)
    )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    assert sorted(p.scan_id for p in problems) == sorted(ids)
    assert all(f"its assets row set bucket {shared.set_id[:16]}, shared by" in p.problem for p in problems), problems
    assert all(p.problem.startswith("its asset, location, relation or finding rows were altered") for p in problems)
    # the bucket of the changed scan alone: that scan alone
    execute(store_url, "UPDATE asset_sets SET type = 'x' WHERE set_key = ?", (bucket_key(store_url, own.set_id),))
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    named = {p.scan_id: p.problem for p in problems}
    assert set(named) == set(ids) and f"bucket {own.set_id[:16]}" in named[ids[1]]
    assert f"bucket {own.set_id[:16]}" not in named[ids[0]] + named[ids[2]]


def test_a_manifest_that_lost_or_gained_a_bucket_is_caught(store_url: str, report_json: bytes) -> None:
    reports = [variant(report_json, "a", 0), changed_file(report_json, "a", 1)]
    with open_store(store_url) as store:
        ids = [store.save(raw).scan_id for raw in reports]
    same, changed = (R.derive(raw).sets[0] for raw in reports)
    own = next(b for b in changed.buckets if b not in same.buckets)
    manifest = bucket_key(store_url, changed.set_id)
    execute(
        store_url,
        "DELETE FROM set_members WHERE manifest_key = ? AND bucket_key = ?",
        (manifest, bucket_key(store_url, own.set_id)),
    )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    assert [(p.scan_id, p.problem) for p in problems] == [
        (
            ids[1],
            "its asset, location, relation or finding rows were altered (its assets manifest (the list of its"
            " buckets), shared by every scan that names it, does not match its digest)",
        )
    ]


def _schema_4_store(url: str, report_json: bytes) -> tuple[list[str], dict[str, Any], list[tuple[Any, ...]]]:
    old = [variant(report_json, "host-a", n) for n in range(2)] + [trimmed(report_json, "findings", "host-b", 4)]
    with schema_at(4), open_store(url) as store:
        assert store.schema_version() == 4
        ids = [store.save(raw).scan_id for raw in old]
        assert store.verify().ok
    views = {i: view_rows(url, i) for i in ids}
    return ids, views, execute(url, "SELECT id, rows_form, rows_digest, chain_digest FROM scans ORDER BY id")


def test_migration_5_keeps_every_schema_4_scan_verifying(store_url: str, report_json: bytes) -> None:
    """Scans schema 4 saved (one row set per kind, rows_form 3) keep their sets, digests and chain;
    their sets become manifests of themselves; verify reads them as the views do and still catches
    an edit; new scans chain on in buckets."""
    ids, views, digests = _schema_4_store(store_url, report_json)
    assert {form for _, form, _, _ in digests} == {R.ROWS_FORM_SETS}
    with open_store(store_url, read_only=True, check_schema=False) as store:
        saved = {i: store.load_bytes(i) for i in ids}
    with open_store(store_url, check_schema=False) as store:
        assert store.upgrade() == (4, LATEST)
        assert store.verify().ok
        assert {i: store.load_bytes(i) for i in ids} == saved  # their bodies stay whole, as they were
        new = store.save(variant(report_json, "host-a", 9)).scan_id  # the same body as host-a's: now in buckets
        assert store.verify().ok
    assert {i: view_rows(store_url, i) for i in ids} == views
    assert view_rows(store_url, new) == views[ids[0]]
    assert (
        execute(
            store_url, "SELECT id, rows_form, rows_digest, chain_digest FROM scans WHERE id <> ? ORDER BY id", (new,)
        )
        == digests
    )
    assert execute(store_url, "SELECT rows_form FROM scans WHERE id = ?", (new,)) == [(R.ROWS_FORM_BUCKETS,)]
    # an old set's rows edited: the scans naming it (host-b's findings) are named
    execute(
        store_url,
        "UPDATE finding_sets SET severity = 'info' WHERE set_key = (SELECT k.set_key FROM row_sets k"
        " JOIN scans s ON k.set_id = s.findings_set WHERE s.id = ?)",
        (ids[2],),
    )
    # an old set unhooked from itself (its rows vanish from the view): verify reads as the view does
    execute(
        store_url,
        "DELETE FROM set_members WHERE manifest_key = (SELECT k.set_key FROM row_sets k"
        " JOIN scans s ON k.set_id = s.relations_set WHERE s.id = ?)",
        (ids[0],),
    )
    with open_store(store_url, read_only=True) as store:
        problems = {p.scan_id: p.problem for p in store.verify().problems}
    assert set(problems) == set(ids)  # the three share the relations set; the new scan names buckets
    assert all("relations row set" in problems[i] for i in ids) and "findings row set" in problems[ids[2]]
    assert execute(store_url, "SELECT count(*) FROM relations WHERE scan_id = ?", (ids[0],)) == [(0,)]

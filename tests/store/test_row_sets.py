"""Schema 3: scans share their rows through content-addressed row sets, read back through views with
the old tables' names; a re-scan that found the same writes no rows; verify digests every set."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from scanner.inventory import jsonio
from scanner.store import rows as R
from scanner.store import sql
from scanner.store.backends import open_store
from scanner.store.interface import StoreError
from scanner.store.schema import LATEST, MIGRATIONS
from tests.store.helpers import execute, trimmed, v1_scan_row, variant

COUNTS = (
    "SELECT (SELECT count(*) FROM row_sets), (SELECT count(*) FROM asset_sets), (SELECT count(*) FROM finding_sets)"
)


def view_rows(url: str, scan_id: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        kind: sorted(
            execute(url, f"SELECT {', '.join(R.KINDS[kind][1])} FROM {kind} WHERE scan_id = ?", (scan_id,)),
            key=repr,
        )
        for kind in R.KINDS
    }


def scan_row(url: str, scan_id: str) -> tuple[Any, ...]:
    columns = ", ".join(R.SCAN_FIELDS) + ", content_digest, rows_digest, assets_set, findings_set, body_digest"
    return execute(url, f"SELECT {columns} FROM scans WHERE id = ?", (scan_id,))[0]


def test_scans_that_found_the_same_share_their_rows(store_url: str, report_json: bytes) -> None:
    report = json.loads(report_json)
    derived = R.derive(report_json)
    with open_store(store_url) as store:
        first = store.save(variant(report_json, "web-1", 0)).scan_id
        after_first = execute(store_url, COUNTS)
        second = store.save(variant(report_json, "web-1", 1)).scan_id
        third = store.save(variant(report_json, "web-2", 2)).scan_id  # another host, the same findings
        assert store.verify().ok
    # four manifests and their buckets, each registered once
    buckets = len({b.set_id for m in derived.sets for b in m.buckets})
    assert buckets == sum(len(m.buckets) for m in derived.sets) > len(R.KINDS)  # spread, none twice
    assert after_first == [(4 + buckets, len(report["assets"]), len(report["findings"]))]
    assert execute(store_url, COUNTS) == after_first  # no row written twice
    expected = view_rows(store_url, first)
    assert len(expected["assets"]) == len(report["assets"])
    assert view_rows(store_url, second) == expected == view_rows(store_url, third)
    # the views read as schema 2's tables did: every scan's rows, scan id first
    assert execute(store_url, "SELECT count(DISTINCT scan_id), count(*) FROM assets") == [
        (3, 3 * len(report["assets"]))
    ]


def test_a_re_scan_named_by_its_body_is_what_a_full_derive_writes(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second save takes the stored scan's sets by its body; a store that always derives writes
    the same scan row, digests and rows (a non-ASCII scope and a lone surrogate in the head too)."""
    head = json.loads(variant(report_json, "web-1", 3))
    head["scan"].update(scope="wéb-ключ", host="caf\udce9")
    again = jsonio.dumps(head)
    urls = [store_url]
    with open_store(store_url) as store:
        store.save(variant(report_json, "web-0", 0))
        derived = []
        monkeypatch.setattr(R, "derive", lambda *a, **k: derived.append(a) or pytest.fail("derived"))
        scan_id = store.save(again).scan_id
        monkeypatch.undo()
        assert derived == [] and store.verify().ok
    if store_url.startswith("postgresql"):
        return  # one reference store is enough: SQLite below
    reference = store_url + ".reference"
    urls.append(reference)
    with open_store(reference) as store:
        store.save(variant(report_json, "web-0", 0))
        monkeypatch.setattr(sql.SqlStore, "_derive", lambda self, data, content, body, **_: R.derive(data))
        assert store.save(again).scan_id == scan_id
    fast, slow = (scan_row(url, scan_id) for url in urls)
    assert fast == slow
    assert fast[1] == "wéb-ключ" and fast[3] == "caf\\udce9"
    assert view_rows(store_url, scan_id) == view_rows(reference, scan_id)


def _save_with_one_less(url: str, report_json: bytes, key: str) -> tuple[str, str, bytes]:
    """A scan, then one of the same scope that found one less of ``key``: both ids and its report."""
    other = trimmed(report_json, key, "web-1", 1)
    with open_store(url) as store:
        return store.save(variant(report_json, "web-1", 0)).scan_id, store.save(other).scan_id, other


def test_a_body_that_differs_gets_sets_of_its_own(store_url: str, report_json: bytes) -> None:
    first, second, other = _save_with_one_less(store_url, report_json, "findings")
    with open_store(store_url) as store:
        assert store.verify().ok
    a, b = scan_row(store_url, first), scan_row(store_url, second)
    assert a[-3] == b[-3]  # the same assets: one set
    assert a[-2] != b[-2] and a[-1] != b[-1]  # findings and bodies differ
    assert len(view_rows(store_url, second)["findings"]) == len(json.loads(other)["findings"])


def test_an_altered_shared_set_shows_on_every_scan_that_names_it(store_url: str, report_json: bytes) -> None:
    with open_store(store_url) as store:
        ids = [store.save(variant(report_json, scope, n)).scan_id for n, scope in enumerate(["a", "b", "b"])]
    execute(store_url, "DELETE FROM relation_sets WHERE source IN (SELECT source FROM relation_sets LIMIT 1)")
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    assert sorted(p.scan_id for p in problems) == sorted(ids)
    assert all("its relations row set" in p.problem and "altered" in p.problem for p in problems)


def test_a_scan_pointed_at_another_set_is_caught(store_url: str, report_json: bytes) -> None:
    first, second, other = _save_with_one_less(store_url, report_json, "assets")
    execute(
        store_url,
        "UPDATE scans SET assets_set = (SELECT assets_set FROM scans WHERE id = ?) WHERE id = ?",
        (first, second),
    )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    assert [(p.scan_id, p.problem) for p in problems] == [
        (
            second,
            "its asset, location, relation or finding rows were altered"
            " (it names other row sets than it was saved with)",
        )
    ]
    # a save never names the sets of a scan row that does not verify: it derives its own
    with open_store(store_url) as store:
        third = store.save(variant(other, "web-1", 2)).scan_id
    assert scan_row(store_url, third)[-3] != scan_row(store_url, second)[-3]


def _v1_scans(url: str, reports: list[bytes]) -> None:
    for raw in reports:
        execute(
            url,
            "INSERT INTO scans (id, started_at, finished_at, targets_key, targets, assets, findings, open_findings,"
            " readiness, by_severity, report) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            v1_scan_row(raw),
        )


def test_migration_3_keeps_every_schema_2_scan_verifying(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store as schema 2 wrote it (rows per scan, digested with their scan id) moves into row sets:
    the same rows through the views, the same digests and chain, and verify still catches an edit."""
    old = [variant(report_json, "host-a", n) for n in range(2)] + [variant(report_json, "host-b", 5)]
    with monkeypatch.context() as at:
        at.setattr(sql, "MIGRATIONS", MIGRATIONS[:1])
        at.setattr(sql, "LATEST", 1)
        open_store(store_url).close()
        _v1_scans(store_url, old)
        at.setattr(sql, "MIGRATIONS", MIGRATIONS[:2])
        at.setattr(sql, "LATEST", 2)
        with open_store(store_url, check_schema=False) as store:
            assert store.upgrade() == (1, 2)
        ids = [json.loads(raw)["scan"]["id"] for raw in old]
        before = {i: view_rows(store_url, i) for i in ids}
        digests = execute(store_url, "SELECT id, rows_digest, chain_digest FROM scans ORDER BY id")
    with open_store(store_url, check_schema=False) as store:
        assert store.upgrade() == (2, LATEST)
        assert store.verify().ok
        store.save(variant(report_json, "host-a", 9))  # a new scan chains on and shares nothing with them
        assert store.verify().ok
    assert {i: view_rows(store_url, i) for i in ids} == before
    assert (
        execute(
            store_url, "SELECT id, rows_digest, chain_digest FROM scans WHERE id IN (?, ?, ?) ORDER BY id", tuple(ids)
        )
        == digests
    )
    assert execute(store_url, "SELECT count(*) FROM row_sets WHERE set_id LIKE ?", ("assets:%",)) == [(3,)]
    execute(
        store_url,
        "UPDATE finding_sets SET severity = 'info' WHERE set_key = (SELECT set_key FROM row_sets WHERE set_id = ?)",
        (f"findings:{ids[1]}",),
    )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    assert [(p.scan_id, p.problem) for p in problems] == [
        (ids[1], "its asset, location, relation or finding rows were altered")
    ]


def test_a_report_whose_body_cannot_be_told_from_its_head_is_derived_whole() -> None:
    report = {"scan": {"id": "x"}, "assets": [], "relations": [], "findings": [], "summary": {}}
    compact = json.dumps(report, separators=(",", ":")).encode()
    assert R.split_head(compact) == {"scan": {"id": "x"}}
    assert (
        R.body_digest(compact, R.body_start(compact))
        == hashlib.sha256(compact[compact.index(b',"assets"') :]).hexdigest()
    )
    assert R.split_head(json.dumps(report).encode()) is None  # spaces: not keysweep's writing
    # a key "assets" inside the head is not the report's own: the head closed there is no JSON object
    assert R.split_head(b'{"scan":{"id":"x","more":{"a":1,"assets":[]}},"assets":[]}') is None
    # a body with a "scan" of its own would override the head's
    assert R.split_head(b'{"scan":{"id":"x"},"assets":[],"scan":{"id":"y"}}') is None
    assert R.split_head(f'{{"scan":{{"id":"{uuid.uuid4()}"}}}}'.encode()) is None


def test_a_body_with_a_scan_of_its_own_is_never_named_by_its_digest(store_url: str, report_json: bytes) -> None:
    # the body's "scan" comes last and wins: the scan row is the body's, with no body digest to
    # find it by, so a later save of the same body under another head derives its rows again
    body_scan = json.loads(variant(report_json, "body", 7))["scan"]
    raw = variant(report_json, "web-1", 0)
    overriding = raw[:-1] + b',"scan":' + json.dumps(body_scan, separators=(",", ":")).encode() + b"}"
    assert R.parse_head(overriding, R.body_start(overriding)) is not None
    assert R.split_head(overriding) is None
    with open_store(store_url) as store:
        saved = store.save(overriding)
        assert (saved.scan_id, saved.scope) == (body_scan["id"], "body")
        again = variant(report_json, "web-2", 1)
        again = again[:-1] + overriding[len(raw) - 1 :]  # the same body under another head
        with pytest.raises(StoreError, match="already holds a different scan"):
            store.save(again)
        assert store.verify().ok
    assert scan_row(store_url, body_scan["id"])[-1] is None


def test_a_sets_id_is_its_rows_in_any_order_and_nothing_else(report_json: bytes) -> None:
    derived = R.derive(variant(report_json, "web-1"))
    for manifest in derived.sets:
        assert sum(len(b.rows) for b in manifest.buckets) == len(manifest.rows)
        ids = [b.set_id for b in manifest.buckets]
        assert R.manifest_digest(manifest.kind, ids[::-1]) == manifest.set_id
        for row_set in manifest.buckets:
            shuffled = list(reversed(row_set.rows))
            assert R.set_digest(row_set.kind, shuffled) == row_set.set_id
            # as a driver may give them
            assert R.set_digest(row_set.kind, [list(r) for r in row_set.rows]) == row_set.set_id
    findings = derived.rows("findings")
    assert findings and any(f[6] is None for f in findings)  # a NULL deadline orders by the finding's data
    changed = [*findings[1:], (*findings[0][:2], "info", *findings[0][3:])]
    assert R.set_digest("findings", changed) != R.set_digest("findings", findings)
    # the same rows are another kind's set: ids never cross kinds
    assert R.set_digest("relations", []) != R.set_digest("assets", [])
    # a lone surrogate orjson refuses: the repr stands in, alike in any order
    odd = [("a\udcff", "file", "{}"), ("b", "file", "{}")]
    assert R.set_digest("assets", odd) == R.set_digest("assets", odd[::-1])
    assert R.set_digest("assets", odd) != R.set_digest("assets", [("a\\udcff", "file", "{}"), ("b", "file", "{}")])

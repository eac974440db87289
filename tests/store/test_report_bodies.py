"""Schema 4: a scan's report is kept as its head plus a content-addressed body shared between scans;
every reader gets the exact bytes back, and verify digests each body once and the whole per scan."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from scanner.inventory import jsonio
from scanner.store import rows as R
from scanner.store.backends import open_store
from scanner.store.interface import DamagedScan
from scanner.store.schema import LATEST
from tests.store.helpers import execute, schema_at, variant

BODIES = "SELECT count(*) FROM report_bodies"


def _compressions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of what zlib compresses from now on (the store compresses in its threads)."""
    sizes: list[int] = []
    real = zlib.compress

    def compress(data: Any, level: int = -1) -> bytes:
        sizes.append(len(memoryview(data)))
        return real(data, level)

    monkeypatch.setattr(zlib, "compress", compress)
    return sizes


def test_scans_with_one_body_store_it_once_and_load_their_own_bytes(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = [variant(report_json, scope, n) for n, scope in enumerate(["web-1", "web-1", "web-2"])]
    other = json.loads(variant(report_json, "web-1", 5))
    other["findings"] = other["findings"][1:]
    reports.append(jsonio.dumps(other))
    with open_store(store_url) as store:
        store.save(reports[0])
        sizes = _compressions(monkeypatch)
        store.save(reports[1])
        # an unchanged re-scan compresses its head only (the first save already stored the body)
        assert sizes == [R.body_start(reports[1])]
        store.save(reports[2])
        store.save(reports[3])
        monkeypatch.undo()
        for raw in reports:
            assert store.load_bytes(json.loads(raw)["scan"]["id"]) == raw
        assert store.verify().ok
    assert execute(store_url, BODIES) == [(2,)]
    heads = execute(store_url, "SELECT length(report), report_body FROM scans ORDER BY finished_at")
    for (size, body), raw in zip(heads, reports, strict=True):
        at = R.body_start(raw)
        assert body == R.body_digest(raw, at) and size == len(zlib.compress(raw[:at], 1))
    assert heads[0][1] == heads[1][1] == heads[2][1] != heads[3][1]


def test_a_report_without_a_body_marker_is_stored_whole(store_url: str, report_json: bytes) -> None:
    # spaced JSON (another writer's): no ',"assets":' to split at
    spaced = json.dumps(json.loads(variant(report_json, "web-1"))).encode()
    assert R.body_start(spaced) < 0
    with open_store(store_url) as store:
        scan_id = store.save(spaced).scan_id
        assert store.load_bytes(scan_id) == spaced
        assert store.verify().ok
    assert execute(store_url, BODIES) == [(0,)]
    stored = execute(store_url, "SELECT report, report_body FROM scans")
    assert zlib.decompress(bytes(stored[0][0])) == spaced and stored[0][1] is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("altered", "the stored report's body (shared by every scan that names it) was altered"),
        ("damaged", "the stored report's body (shared by every scan that names it) is damaged"),
        ("deleted", "the stored report's body (shared by every scan that names it) is missing"),
    ],
)
def test_a_damaged_shared_body_shows_on_every_scan_that_names_it(
    store_url: str, report_json: bytes, change: str, problem: str
) -> None:
    reports = [variant(report_json, scope, n) for n, scope in enumerate(["a", "b", "b"])]
    with open_store(store_url) as store:
        ids = [store.save(raw).scan_id for raw in reports]
    at = R.body_start(reports[0])
    if change == "deleted":
        execute(store_url, "DELETE FROM report_bodies")
    else:
        altered = reports[0][at:].replace(b'"relations":', b'"relations" :', 1)
        assert altered != reports[0][at:]
        blob = zlib.compress(altered) if change == "altered" else b"\x00\xff"
        execute(store_url, "UPDATE report_bodies SET body = ?", (blob,))
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
        assert sorted(p.scan_id for p in problems) == sorted(ids)
        assert all(p.problem.startswith(problem) for p in problems), problems
        if change == "altered":
            # the bytes still load (verify is what checks them), as an altered whole report did
            assert store.load_bytes(ids[1]) == reports[1][:at] + altered
        else:
            with pytest.raises(DamagedScan, match=ids[1]):
                store.load_bytes(ids[1])


def test_an_altered_head_or_a_scan_pointed_at_another_body_is_caught(store_url: str, report_json: bytes) -> None:
    other = json.loads(variant(report_json, "web-1", 1))
    other["relations"] = other["relations"][1:]
    reports = [variant(report_json, "web-1", 0), jsonio.dumps(other), variant(report_json, "web-2", 2)]
    with open_store(store_url) as store:
        ids = [store.save(raw).scan_id for raw in reports]
    head = reports[0][: R.body_start(reports[0])].replace(b'"host":"web-1"', b'"host":"web-9"')
    execute(store_url, "UPDATE scans SET report = ? WHERE id = ?", (zlib.compress(head), ids[0]))
    execute(
        store_url,
        "UPDATE scans SET report_body = (SELECT report_body FROM scans WHERE id = ?) WHERE id = ?",
        (ids[0], ids[1]),
    )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
    altered = "the stored report was altered (its digest does not match)"
    assert sorted((p.scan_id, p.problem) for p in problems) == sorted([(ids[0], altered), (ids[1], altered)])


def test_migration_4_splits_every_schema_3_report_and_keeps_it_verifying(store_url: str, report_json: bytes) -> None:
    """A store as schema 3 wrote it (every report whole) keeps the same bytes, digests and chain; its
    reports become heads and shared bodies, except one that is altered (verify still names it) and
    one without a body marker."""
    other = json.loads(variant(report_json, "host-b", 4))
    other["findings"] = other["findings"][1:]
    old = [variant(report_json, "host-a", n) for n in range(3)]
    old += [jsonio.dumps(other), json.dumps(json.loads(variant(report_json, "host-c", 6))).encode()]
    with schema_at(3):
        with open_store(store_url) as store:
            assert store.schema_version() == 3
            ids = [store.save(raw).scan_id for raw in old]
        stored = execute(store_url, "SELECT id, report FROM scans")
        assert {str(i): zlib.decompress(bytes(b)) for i, b in stored} == dict(zip(ids, old, strict=True))
    tampered = old[1].replace(b'"relations":', b'"relations" :', 1)
    execute(store_url, "UPDATE scans SET report = ? WHERE id = ?", (zlib.compress(tampered), ids[1]))
    chain = "SELECT id, content_digest, rows_digest, chain_digest FROM scans ORDER BY id"
    digests = execute(store_url, chain)
    with open_store(store_url, check_schema=False) as store:
        assert store.upgrade() == (3, LATEST)
        assert [(p.scan_id, p.problem) for p in store.verify().problems] == [
            (ids[1], "the stored report was altered (its digest does not match)")
        ]
        for scan_id, raw in zip(ids, old, strict=True):
            assert store.load_bytes(scan_id) == (tampered if scan_id == ids[1] else raw)
    assert execute(store_url, chain) == digests
    assert execute(store_url, BODIES) == [(2,)]  # host-a's body (twice) and host-b's
    bodies = dict(execute(store_url, "SELECT id, report_body FROM scans"))
    assert [bodies[i] is None for i in ids] == [False, True, False, False, True]
    # a new scan with a migrated body names it: no body written
    with open_store(store_url) as store:
        store.save(variant(report_json, "host-a", 9))
        assert execute(store_url, BODIES) == [(2,)]
        assert {p.scan_id for p in store.verify().problems} == {ids[1]}

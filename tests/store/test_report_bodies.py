"""Schema 4: a scan's report is kept as its head plus a content-addressed body shared between scans;
every reader gets the exact bytes back, and verify digests each body once and the whole per scan."""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

import pytest

from scanner.store import bodies, deflate
from scanner.store import rows as R
from scanner.store.backends import open_store
from scanner.store.interface import DamagedScan
from scanner.store.schema import LATEST
from tests.store.helpers import execute, schema_at, trimmed, variant
from tests.store.test_buckets import changed_file

BODIES = "SELECT count(*) FROM report_bodies"
# the bodies scans name (a body stored as chunks has its chunks beside it: see the chunk tests below)
NAMED_BODIES = "SELECT count(*) FROM report_bodies WHERE body_digest IN (SELECT report_body FROM scans)"
bodies_shared = "the stored report's body (shared by every scan that names it)"


def _compressions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of what the store compresses from now on (in its threads)."""
    sizes: list[int] = []
    real = deflate.compress

    def compress(data: Any) -> bytes:
        sizes.append(len(memoryview(data)))
        return real(data)

    monkeypatch.setattr(deflate, "compress", compress)
    return sizes


def test_scans_with_one_body_store_it_once_and_load_their_own_bytes(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = [variant(report_json, scope, n) for n, scope in enumerate(["web-1", "web-1", "web-2"])]
    reports.append(trimmed(report_json, "findings", "web-1", 5))
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
    assert execute(store_url, NAMED_BODIES) == [(2,)]
    heads = execute(store_url, "SELECT length(report), report_body FROM scans ORDER BY finished_at")
    for (size, body), raw in zip(heads, reports, strict=True):
        at = R.body_start(raw)
        assert body == R.body_digest(raw, at) and size == len(deflate.compress(raw[:at]))
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
    other = trimmed(report_json, "relations", "web-1", 1)
    reports = [variant(report_json, "web-1", 0), other, variant(report_json, "web-2", 2)]
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
    old = [variant(report_json, "host-a", n) for n in range(3)]
    old += [
        trimmed(report_json, "findings", "host-b", 4),
        json.dumps(json.loads(variant(report_json, "host-c", 6))).encode(),
    ]
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


# cut after every asset's, relation's and finding's id (the store cuts after about one in 256): a
# small report then has the chunks a 20k-file report has
EVERY_ID = (b'","type":"', b'","target":"', b'","rule_id":"')


def _chunks_of(raw: bytes) -> list[bytes]:
    at = R.body_start(raw)
    cuts = bodies.chunk_bounds(raw, at)
    return [raw[a:b] for a, b in zip(cuts, [*cuts[1:], len(raw)], strict=True)]


def test_a_changed_report_stores_only_the_chunks_that_changed(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "_CUTS", EVERY_ID)
    first = variant(report_json, "web-1", 0)
    second = changed_file(report_json, "web-1", 1)
    old, new = _chunks_of(first), _chunks_of(second)
    fresh = [c for c in new if c not in old]
    assert len(old) > 20 and 0 < len(fresh) <= 2
    with open_store(store_url) as store:
        ids = [store.save(first).scan_id]
        before = execute(store_url, "SELECT body_digest FROM report_bodies")
        ids.append(store.save(second).scan_id)
        assert [store.load_bytes(i) for i in ids] == [first, second]
        assert store.verify().ok
    assert len(before) == len(set(old)) + 1  # the chunks and the list naming them
    added = execute(store_url, "SELECT body_digest, body FROM report_bodies")
    added = [row for row in added if row[0] not in {b[0] for b in before}]
    at = R.body_start(second)
    lists = {R.body_digest(second, at)}
    assert {d for d, _ in added} == lists | {hashlib.sha256(c).hexdigest() for c in fresh}
    assert {zlib.decompress(bytes(b)) for d, b in added if d not in lists} == set(fresh)


@pytest.mark.parametrize("change", ["altered", "deleted"])
def test_a_damaged_chunk_shows_on_every_scan_whose_body_has_it(
    store_url: str, report_json: bytes, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    monkeypatch.setattr(bodies, "_CUTS", EVERY_ID)
    reports = [variant(report_json, "a", 0), changed_file(report_json, "b", 1), variant(report_json, "b", 2)]
    with open_store(store_url) as store:
        ids = [store.save(raw).scan_id for raw in reports]
    shared = _chunks_of(reports[0])[-1]  # the summary's end: in both bodies
    assert shared in _chunks_of(reports[1])
    digest = hashlib.sha256(shared).hexdigest()
    if change == "deleted":
        execute(store_url, "DELETE FROM report_bodies WHERE body_digest = ?", (digest,))
    else:
        execute(
            store_url, "UPDATE report_bodies SET body = ? WHERE body_digest = ?", (zlib.compress(shared + b" "), digest)
        )
    with open_store(store_url, read_only=True) as store:
        problems = store.verify().problems
        if change == "deleted":
            with pytest.raises(DamagedScan, match="a chunk of its report's body is missing"):
                store.load_bytes(ids[1])
    text = "was altered (its chunk" if change == "altered" else "is missing its chunk"
    assert sorted(p.scan_id for p in problems) == sorted(ids)
    assert all(
        p.problem
        == f"{bodies_shared} {text} {digest[:16]}" + (" does not match its digest)" if change == "altered" else "")
        for p in problems
    ), problems

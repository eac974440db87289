"""A report read in pieces (scanner.store.streamed) is saved as the same scan, chain, body and rows
as the whole report, on SQLite and PostgreSQL; a report the pieces cannot stand for is saved whole;
the body's chunks are cut where the whole body's are, however the pieces fall."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory import jsonio
from scanner.inventory.model import Location, ScanResult, freeze
from scanner.inventory.systems import assign, parse_systems
from scanner.reporting.json_report import JsonReporter, ReportPieces
from scanner.store import bodies, sql, streamed
from scanner.store import rows as R
from scanner.store.backends import open_store
from scanner.store.interface import SaveStatus
from scanner.store.sql import SqlStore
from tests.store.helpers import Pieces, execute, noted, schema_at, variant
from tests.store.test_first_save import reports, stored
from tests.support.scans import keysweep, mixed_tree, scan_paths


@pytest.fixture(params=[True, False], ids=["read-aside", "in-line"], autouse=True)
def reads_aside(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs both ways a first save of its targets may take: its bytes read in a forked
    process while the rows are derived, or read first in line (as every later save reads them)."""
    monkeypatch.setattr(SqlStore, "reads_aside", request.param)
    return bool(request.param)


@pytest.fixture
def many_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut after every id, not one in 256: a small report's body in many chunks."""
    monkeypatch.setattr(bodies, "_CUTS", (b'","type":"', b'","target":"', b'","rule_id":"'))


def _chunks(raw: bytes) -> list[bytes]:
    at = R.body_start(raw)
    cuts = bodies.chunk_bounds(raw, at)
    return [raw[a:b] for a, b in zip(cuts, [*cuts[1:], len(raw)], strict=True)]


def _fed(body: bytes, sizes: list[int]) -> list[bytes]:
    chunker, got, at, n = bodies.Chunker(), [], 0, 0
    while at < len(body):
        size = sizes[n % len(sizes)]
        got += chunker.feed(body[at : at + size])
        at, n = at + size, n + 1
    return got + chunker.finish()


def test_chunks_cut_from_pieces_are_the_whole_bodys(report_json: bytes, many_cuts: None) -> None:
    """Every mark falls on some piece boundary when pieces are a byte or three long."""
    at = R.body_start(report_json)
    whole = _chunks(report_json)
    assert len(whole) > 10
    chooser = random.Random(12)
    for sizes in ([1], [3], [2, 5], [len(report_json)], [chooser.randrange(1, 40) for _ in range(50)]):
        assert _fed(report_json[at:], sizes) == whole, sizes


def test_a_mark_split_across_pieces_cuts_where_it_would_whole() -> None:
    mark = b'00","type":"'
    body = b',"assets":[{"id":"a' + mark + b'x"},{"id":"b' + mark + b'y"}],"relations":[]}'
    whole = [body[: body.index(mark) + 2], body[body.index(mark) + 2 : body.rindex(mark) + 2]]
    whole.append(body[body.rindex(mark) + 2 :])
    for split in range(1, len(body)):
        assert _fed(body, [split, len(body)]) == whole, split
    assert _fed(b',"assets":[]}', [1]) == [b',"assets":[]}']  # no mark: one chunk, the body


def _saved(url: str, raws: list[bytes], streamed: bool) -> list[Any]:
    with open_store(url) as store:
        for raw in raws:
            if streamed:
                source = Pieces(raw)
                assert store.save_report(source).status == SaveStatus.STORED
                assert source.wholes == 0
            else:
                assert store.save(raw).status == SaveStatus.STORED
        assert store.verify().ok
    return stored(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        return str(tmp_path / "pieces.sqlite3"), str(tmp_path / "whole.sqlite3")
    server: Any = request.getfixturevalue("postgres_server")
    return str(server.new_database()), str(server.new_database())


def test_a_report_saved_in_pieces_is_stored_as_the_whole_report(
    two_stores: tuple[str, str], report_json: bytes, many_cuts: None
) -> None:
    """Three scans (a change, a finding less, another scope: buckets and chunks shared and not),
    then the first again under a new id (its rows found stored by its body): the same rows, row
    sets, bodies, scan rows and chain either way."""
    raws = [*reports(report_json), variant(report_json, "web-1", 5, scan_id="00000000-0000-4000-8000-000000000009")]
    pieces, whole = two_stores
    assert _saved(pieces, raws, streamed=True) == _saved(whole, raws, streamed=False)
    assert len(execute(pieces, "SELECT * FROM asset_sets")) > 0


def test_a_save_in_pieces_asks_for_a_bucket_of_items_at_a_time(tmp_path: Path, report_json: bytes) -> None:
    source = Pieces(report_json)
    with open_store(str(tmp_path / "s.sqlite3")) as store:
        store.save_report(source)
    # the small report's assets fall in buckets of one or two: never the whole list at once
    assert 0 < source.largest_run < len(json.loads(report_json)["assets"]) // 2


def test_a_scans_result_saved_in_pieces_is_its_json_report_saved(tmp_path: Path, many_cuts: None) -> None:
    """The pieces the JSON writer streams, from a real scan's result, with an undecodable byte in a
    file name (a lone surrogate: text columns take it escaped)."""
    root = tmp_path / "tree"
    mixed_tree(root)
    (root / "caf\udce9.crt").write_bytes((root / "ca.crt").read_bytes())
    result = scan_paths(root)
    raw = JsonReporter().render(result)
    assert b"\\udce9" in raw
    assert b"".join(data for data, _, _ in ReportPieces(result).pieces()) == raw
    with open_store(str(tmp_path / "pieces.sqlite3")) as store:
        assert store.save_report(ReportPieces(result)).status == SaveStatus.STORED
    with open_store(str(tmp_path / "whole.sqlite3")) as store:
        store.save(raw)
    assert stored(str(tmp_path / "pieces.sqlite3")) == stored(str(tmp_path / "whole.sqlite3"))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda r: r["assets"][0]["properties"].update(ratio=0.5), "a float: only a parse tells its text"),
        (lambda r: r["assets"][0]["properties"].update(note="scan"), 'a "scan" string in the body'),
    ],
)
def test_a_report_the_pieces_cannot_stand_for_is_saved_whole(
    tmp_path: Path, report_json: bytes, change: Any, why: str
) -> None:
    report = json.loads(report_json)
    change(report)
    raw = jsonio.dumps(report)
    source = Pieces(raw)
    with open_store(str(tmp_path / "pieces.sqlite3")) as store:
        assert store.save_report(source).status == SaveStatus.STORED, why
    assert source.wholes == 1, why
    with open_store(str(tmp_path / "whole.sqlite3")) as store:
        store.save(raw)
    assert stored(str(tmp_path / "pieces.sqlite3")) == stored(str(tmp_path / "whole.sqlite3"))


def test_a_store_at_an_older_schema_takes_the_report_whole(tmp_path: Path, report_json: bytes) -> None:
    source = Pieces(report_json)
    with schema_at(4), open_store(str(tmp_path / "old.sqlite3")) as store:
        assert store.schema_version() == 4
        assert store.save_report(source).status == SaveStatus.STORED
        assert store.verify().ok
    assert source.wholes == 1


def test_the_same_scan_saved_again_in_pieces_is_a_duplicate(tmp_path: Path, report_json: bytes) -> None:
    with open_store(str(tmp_path / "s.sqlite3")) as store:
        assert store.save_report(Pieces(report_json)).status == SaveStatus.STORED
        assert store.save_report(Pieces(report_json)).status == SaveStatus.DUPLICATE
        changed = noted(report_json, "web-1", 3, 0, "changed")
        assert store.save_report(Pieces(changed)).status == SaveStatus.STORED
        assert store.verify().ok
        assert store.load_bytes(json.loads(changed)["scan"]["id"]) == changed


class _Bits(Pieces):
    """Pieces cut into bits of a few bytes: whatever the save looks for falls across them somewhere."""

    def __init__(self, report_json: bytes, size: int) -> None:
        self.size = size
        super().__init__(report_json)

    def pieces(self) -> Iterator[tuple[bytes, object, bool]]:
        for data, value, items in super().pieces():
            for at in range(0, len(data), self.size):
                yield data[at : at + self.size], value if at == 0 else None, items


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_what_the_save_looks_for_is_found_across_pieces(tmp_path: Path, report_json: bytes, size: int) -> None:
    """A lone surrogate's escape in a location (text columns take it escaped), and the body's chunk
    cuts, split between pieces; then a "scan" string in the body, split too (saved whole)."""
    report = json.loads(report_json)
    report["assets"][-1]["locations"][0]["ref"] += "\udcff"
    raw = jsonio.dumps(report)
    assert b"\\udcff" in raw
    pieces, whole = str(tmp_path / f"pieces{size}.sqlite3"), str(tmp_path / f"whole{size}.sqlite3")
    with open_store(pieces) as store:
        source = _Bits(raw, size)
        store.save_report(source)
        assert source.wholes == 0
    with open_store(whole) as store:
        store.save(raw)
    assert stored(pieces) == stored(whole)
    report["assets"][-1]["properties"]["note"] = "scan"
    source = _Bits(jsonio.dumps(report), size)
    with open_store(str(tmp_path / "scan.sqlite3")) as store:
        store.save_report(source)
    assert source.wholes == 1


def test_a_rescan_whose_body_is_stored_names_its_rows_without_walking_its_items(
    tmp_path: Path, report_json: bytes
) -> None:
    """A float in an asset: the first save takes the report whole. The next scan of the same
    targets finds that body stored and names its rows: its items were not walked (it would have
    been saved whole again), and the store holds what two whole saves leave."""
    report = json.loads(report_json)
    report["assets"][0]["properties"]["ratio"] = 0.5
    first = jsonio.dumps(report)
    again = variant(first, report["scan"]["scope"], 7, scan_id="00000000-0000-4000-8000-000000000007")
    pieces, whole = str(tmp_path / "pieces.sqlite3"), str(tmp_path / "whole.sqlite3")
    with open_store(pieces) as store:
        store.save_report(Pieces(first))
        source = Pieces(again)
        assert store.save_report(source).status == SaveStatus.STORED
        assert source.wholes == 0
        assert store.verify().ok
    with open_store(whole) as store:
        store.save(first)
        store.save(again)
    assert stored(pieces) == stored(whole)


class _Failing(Pieces):
    """A report whose renderer fails half-way through its bytes."""

    def pieces(self) -> Iterator[tuple[bytes, object, bool]]:
        for n, piece in enumerate(super().pieces()):
            if n == 12 and self.failing:
                raise ValueError("the renderer broke")
            yield piece

    failing = False


def test_a_renderer_failing_half_way_fails_the_save_and_leaves_nothing(tmp_path: Path, report_json: bytes) -> None:
    url = str(tmp_path / "s.sqlite3")
    source = _Failing(report_json)
    source.failing = True
    with open_store(url) as store, pytest.raises(Exception, match="the renderer broke"):
        store.save_report(source)
    assert execute(url, "SELECT count(*) FROM scans") == [(0,)]
    assert execute(url, "SELECT count(*) FROM asset_sets") == [(0,)]
    assert execute(url, "SELECT count(*) FROM report_bodies") == [(0,)]


def _reading_aside_refused(monkeypatch: pytest.MonkeyPatch, why: OSError | AssertionError) -> None:
    def refuse(source: Any) -> None:
        raise why

    monkeypatch.setattr(sql, "ReadAside", refuse)


@pytest.mark.parametrize("reads_aside", [True], indirect=True)
def test_a_report_past_the_limit_or_a_refused_fork_is_read_in_line(
    tmp_path: Path, report_json: bytes, monkeypatch: pytest.MonkeyPatch, reads_aside: bool
) -> None:
    """Past READ_ASIDE_ASSETS no process is forked to read the bytes (its copy of the scan's memory
    would cost more than the time it saves); a fork the system refuses is read in line too."""
    whole = str(tmp_path / "whole.sqlite3")
    with open_store(whole) as store:
        store.save(report_json)
    _reading_aside_refused(monkeypatch, AssertionError("read aside past the limit"))
    monkeypatch.setattr(sql, "READ_ASIDE_ASSETS", len(json.loads(report_json)["assets"]) - 1)
    with open_store(str(tmp_path / "past.sqlite3")) as store:
        assert store.save_report(Pieces(report_json)).status == SaveStatus.STORED
    _reading_aside_refused(monkeypatch, OSError(11, "Resource temporarily unavailable"))
    monkeypatch.setattr(sql, "READ_ASIDE_ASSETS", 10**9)
    with open_store(str(tmp_path / "refused.sqlite3")) as store:
        assert store.save_report(Pieces(report_json)).status == SaveStatus.STORED
    assert stored(str(tmp_path / "past.sqlite3")) == stored(whole) == stored(str(tmp_path / "refused.sqlite3"))


class _Interrupted(Pieces):
    """Ctrl-C arriving while the rows are derived (``in_items``) or while the bytes are read."""

    in_items = True

    def items(self, items: str, indices: Sequence[int]) -> list[Any]:
        if self.in_items and items == "findings":
            raise KeyboardInterrupt
        return super().items(items, indices)

    def pieces(self) -> Iterator[tuple[bytes, object, bool]]:
        for n, piece in enumerate(super().pieces()):
            if n == 12 and not self.in_items and not self.checking:
                raise KeyboardInterrupt
            yield piece

    checking = True


@pytest.mark.parametrize("in_items", [True, False], ids=["deriving", "reading"])
def test_an_interrupted_save_leaves_nothing_and_no_process_behind(
    tmp_path: Path, report_json: bytes, in_items: bool
) -> None:
    url = str(tmp_path / "s.sqlite3")
    source = _Interrupted(report_json)
    source.in_items, source.checking = in_items, False
    children = _children()
    with open_store(url) as store, pytest.raises(KeyboardInterrupt):
        store.save_report(source)
    assert _children() == children  # a reading process forked for the save was ended and waited for
    assert execute(url, "SELECT count(*) FROM scans") == [(0,)]
    assert execute(url, "SELECT count(*) FROM row_sets") == [(0,)]
    assert execute(url, "SELECT count(*) FROM report_bodies") == [(0,)]


def _children() -> set[int]:
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as listed:
        return {int(pid) for pid in listed.read().split()}


@pytest.mark.parametrize("reads_aside", [True], indirect=True)
def test_scans_saved_by_the_command_are_their_json_reports_saved(tmp_path: Path, reads_aside: bool) -> None:
    """`keysweep scan`: a first scan of its targets (read in pieces, aside), a re-scan after a
    change (a re-scan of a small report is handed over whole, rendered once for the JSON report
    too), and a first scan of other targets: the store holds what saving each --json file would."""
    tree = tmp_path / "tree"
    mixed_tree(tree)
    db, runs = tmp_path / "cli.sqlite3", []
    for n, path in enumerate([tree, tree, tree / "old"]):
        if n == 1:
            (tree / "copy.crt").write_bytes((tree / "ca.crt").read_bytes())
        path.mkdir(exist_ok=True)
        out = tmp_path / f"r{n}.json"
        done = keysweep("scan", "--path", str(path), "--store", str(db), "--json", str(out), "-q")
        assert done.returncode in (0, 1), done.stderr
        runs.append(out.read_bytes())
    whole = str(tmp_path / "whole.sqlite3")
    with open_store(whole) as store:
        for raw in runs:
            assert store.save(raw).status == SaveStatus.STORED
    assert stored(str(db)) == stored(whole)


def test_a_small_report_of_a_rescan_or_of_one_process_is_handed_over_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner.cli.scan_cmd import _saved_whole
    from scanner.store.history import record, with_history

    mixed_tree(tmp_path / "tree")
    db = tmp_path / "h.sqlite3"
    first = with_history(scan_paths(tmp_path / "tree"), db)
    assert not _saved_whole(first, 2)  # a first scan of its targets: read in pieces (aside)
    assert _saved_whole(first, 1)  # --workers 1: rendered once, in the one process
    record(first, JsonReporter().render(first), db)
    again = with_history(scan_paths(tmp_path / "tree"), db)
    assert _saved_whole(again, 2)
    monkeypatch.setattr(streamed, "SMALL_REPORT_ASSETS", len(again.assets) - 1)
    assert not _saved_whole(again, 2)  # a large report is read in pieces, re-scan or not
    assert not _saved_whole(first, 1)


def _odd_result(tmp_path: Path) -> ScanResult:
    """A real scan's result, its first asset seen again under an undecodable file name (a lone
    surrogate) with an empty detail and with a scope (a fleet view's location)."""
    root = tmp_path / "tree"
    mixed_tree(root)
    result = scan_paths(root)
    first = result.assets[0]
    seen = (*first.locations, Location("file", "/srv/caf\udce9.crt"), Location("file", "/srv/b.crt", "", "web-2"))
    return dataclasses.replace(result, assets=(dataclasses.replace(first, locations=seen), *result.assets[1:]))


@pytest.mark.parametrize("kind", list(R.OBJECT_ROWS))
def test_rows_read_from_the_scans_objects_are_the_rows_of_their_report_items(tmp_path: Path, kind: str) -> None:
    source = ReportPieces(_odd_result(tmp_path))
    items = R.ITEMS[kind]
    everything = range(len(source.keys(items)))
    objects = source.objects(items, everything)
    assert objects is not None
    rows_of, plain = R.OBJECT_ROWS[kind]
    for text in (streamed.text, R.valid_text, str):
        expected = R.ROWS[kind](source.items(items, everything), text, R.compact_fast)
        assert rows_of(objects, text, R.compact_fast) == expected and expected
    assert plain(objects) and R.plain_within_limits(source.items(items, everything))


def test_assets_in_declared_systems_have_their_rows_read_from_their_items(tmp_path: Path) -> None:
    """An asset's item holds its systems then, which its object does not."""
    result = _odd_result(tmp_path)
    systems = parse_systems({"system": [{"id": "all", "impact": "low", "match": {"paths": ["/"]}}]}, "inline")
    declared = dataclasses.replace(result, systems=systems, membership=assign(systems, result.assets, result.relations))
    assert ReportPieces(declared).objects("assets", [0]) is None
    assert ReportPieces(declared).objects("relations", [0]) == [result.relations[0]]
    assert ReportPieces(declared).objects("findings", [0]) is None


@pytest.mark.parametrize(
    ("change", "plain_items"),
    [
        (lambda a: dataclasses.replace(a, properties=freeze({**a.properties, "ratio": 0.5})), False),
        # an item leaves a falsy detail out: the objects cannot tell it, and take it as not plain
        (lambda a: dataclasses.replace(a, locations=(Location("file", "/srv/a.crt", 0.0),)), True),  # type: ignore[arg-type]
    ],
    ids=["float-property", "float-detail"],
)
def test_objects_that_may_not_read_back_alike_are_saved_whole(tmp_path: Path, change: Any, plain_items: bool) -> None:
    """Read in line, the rows are read from the objects and walked there; read aside, the reading
    process walks the items. Either way the store ends as the whole report's save leaves it."""
    result = _odd_result(tmp_path)
    result = dataclasses.replace(result, assets=(change(result.assets[0]), *result.assets[1:]))
    source = ReportPieces(result)
    assert not R.plain_assets(source.objects("assets", [0]) or [])
    assert R.plain_within_limits(source.items("assets", [0])) is plain_items
    with open_store(str(tmp_path / "pieces.sqlite3")) as store:
        assert store.save_report(source).status == SaveStatus.STORED
        assert store.verify().ok
    with open_store(str(tmp_path / "whole.sqlite3")) as store:
        store.save(*JsonReporter().render_with_values(result))
    assert stored(str(tmp_path / "pieces.sqlite3")) == stored(str(tmp_path / "whole.sqlite3"))

"""Issue 12 item 3, further: an unchanged sweep kept whole (collectors/files/whole.py).

Real trees of keys, certificates and an nginx config, swept by the real collector into a real graph
(as a scan does: the graph in the collect context) and through the CLI. Instrumentation only counts:
the collector's reads, and the graph restores. The one stand-in: /etc/passwd and friends are pointed
at a file of the test's own, since a test must not edit the host's user database.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files import whole
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType
from scanner.secrets import Secret
from tests.collectors.files.conftest import OLD_NS, Tree, _age, _comparable, _scan
from tests.support import pki


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times a graph was restored whole (InventoryGraph.restore, still restoring, counted
    when it returns)."""
    counted: list[int] = []
    real = InventoryGraph.restore

    def counting(self: InventoryGraph, state: Any) -> None:
        real(self, state)
        counted.append(1)  # restored: a restore that fails half-way is none

    monkeypatch.setattr(InventoryGraph, "restore", counting)
    yield counted


def _sweep(cache_dir: Path | None, *roots: Path, graph: InventoryGraph | None = None, **options: Any) -> InventoryGraph:
    """The roots swept into a graph as a scan does it (the graph handed to the collector)."""
    graph = InventoryGraph() if graph is None else graph
    if cache_dir is not None:
        options[file_cache.OPTION] = str(cache_dir)
    context = CollectContext(options=options, graph=graph)
    graph.add_all(FileCollector().collect([Target("path", str(r)) for r in roots], context))
    return graph


def _state(graph: InventoryGraph) -> list[Any]:
    return list(graph.state())


def _kept_twice(cache_dir: Path, root: Path) -> list[Any]:
    """Two scans of an unchanged tree (the second keeps it whole); what they found."""
    _sweep(cache_dir, root)
    return _state(_sweep(cache_dir, root))


def _kept(cache_dir: Path) -> list[tuple[bool, int]]:
    """Each kept sweep: whether its inventory is kept (or only its identity), and its parts."""
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        return [(parts is not None, parts or 0) for (parts,) in db.execute("SELECT parts FROM whole_sweeps")]


def test_an_unchanged_tree_is_restored_whole_on_the_third_scan(
    tree: Tree, tmp_path: Path, reads: list[int], restores: list[int]
) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    fresh = _state(_sweep(None, root))  # no cache at all
    first = _sweep(cache_dir, root)
    assert _kept(cache_dir) == [(False, 0)]  # the first scan keeps only what the tree was
    second = _sweep(cache_dir, root)  # found unchanged: its inventory is kept
    assert [kept for kept, _ in _kept(cache_dir)] == [True]
    reads.clear()
    third = _sweep(cache_dir, root)
    assert restores == [1] and reads == []  # restored whole: nothing read, no file decoded
    assert _state(first) == _state(second) == _state(third) == fresh
    assert len(third) > 10 and third.errors and third.sweep.examined > 5  # a real inventory, errors included
    # and the restored graph is a graph: relations walkable both ways, assets by type
    key = next(third.assets(AssetType.KEY))
    assert third.predecessors(key.id, next(iter(third._in))[1]) or third.locations_of(key.id)


@pytest.mark.parametrize(
    "change",
    ["content", "new file", "removed file", "mode", "renamed", "new directory", "link retargeted"],
)
def test_any_change_in_the_tree_sweeps_it_file_by_file(
    tree: Tree, tmp_path: Path, restores: list[int], change: str
) -> None:
    root, files = tree
    os.symlink(files["ca"], root / "link.crt")
    _age(root)
    cache_dir = tmp_path / "cache"
    _kept_twice(cache_dir, root)
    assert [kept for kept, _ in _kept(cache_dir)] == [True]
    if change == "content":  # same size, mtime put back: only the ctime tells
        good = files["good"]
        text = bytearray(good.read_bytes())
        at = text.rindex(b"\n-----END") - 10
        text[at] = ord("A") if text[at] != ord("A") else ord("B")
        good.write_bytes(bytes(text))
        os.utime(good, ns=(OLD_NS, OLD_NS))
    elif change == "new file":
        pki.write(root / "sub" / "added.crt", pki.pem(pki.certificate(pki.ec_key(), "added.test")))
        _age(root / "sub")
    elif change == "removed file":
        files["weak_key"].unlink()
    elif change == "mode":
        files["plain_key"].chmod(0o644)
    elif change == "renamed":
        files["good"].rename(root / "renamed.crt")
    elif change == "new directory":
        (root / "empty").mkdir()
    else:
        (root / "link.crt").unlink()
        os.symlink(files["good"], root / "link.crt")
    restores.clear()
    again = _sweep(cache_dir, root)
    assert restores == []
    assert _state(again) == _state(_sweep(None, root))  # what a sweep without any cache finds


def test_a_changed_file_a_config_names_outside_the_tree_is_noticed(tmp_path: Path, restores: list[int]) -> None:
    outside = tmp_path / "elsewhere" / "server.crt"
    pki.write(outside, pki.pem(pki.certificate(pki.ec_key(), "before.test")))
    root = tmp_path / "etc"
    pki.write(
        root / "nginx.conf",
        f"events {{}}\nhttp {{ server {{ listen 443 ssl; ssl_certificate {outside}; }} }}\n".encode(),
    )
    _age(tmp_path)
    cache_dir = tmp_path / "cache"
    for _ in range(3):
        graph = _sweep(cache_dir, root)
    assert restores == [1]
    assert any(a.properties.get("subject") == "CN=before.test" for a in graph.assets())
    pki.write(outside, pki.pem(pki.certificate(pki.ec_key(), "after.test")))
    _age(tmp_path)
    restores.clear()
    graph = _sweep(cache_dir, root)
    assert restores == []
    subjects = {a.properties.get("subject") for a in graph.assets()}
    assert "CN=after.test" in subjects and "CN=before.test" not in subjects


def test_a_change_to_the_user_database_sweeps_again(
    tree: Tree, tmp_path: Path, restores: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    passwd = tmp_path / "passwd"  # stands for /etc/passwd: see the module's docstring
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\n")
    _age(tmp_path)
    monkeypatch.setattr(whole, "_ELSEWHERE", (str(passwd), *whole._ELSEWHERE[1:]))
    root, _ = tree
    cache_dir = tmp_path / "cache"
    for _ in range(3):
        _sweep(cache_dir, root)
    assert restores == [1]
    with passwd.open("a") as handle:
        handle.write("svc:x:990:990::/:/bin/false\n")
    restores.clear()
    _sweep(cache_dir, root)
    assert restores == []


def test_a_tree_that_keeps_changing_is_never_kept_whole(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    for n in range(3):
        pki.write(root / f"nightly-{n}.crt", files["ca"].read_bytes())
        _age(root)
        _sweep(cache_dir, root)
        assert _kept(cache_dir) == [(False, 0)]  # its identity only: nothing spent keeping it


def test_a_file_written_just_now_keeps_the_tree_from_being_kept(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    pki.write(root / "fresh.crt", files["ca"].read_bytes())  # mtime: now, within the racy window
    cache_dir = tmp_path / "cache"
    for _ in range(3):
        _sweep(cache_dir, root)
    assert _kept(cache_dir) == [(False, 0)]


def _alter_first_part(db: sqlite3.Connection) -> str:
    (value,) = db.execute("SELECT value FROM whole_sweep_parts WHERE n = 0").fetchone()
    damaged = bytes(value).replace(b"CN=Test CA", b"CN=Evil CA")
    assert damaged != bytes(value)
    db.execute("UPDATE whole_sweep_parts SET value = ? WHERE n = 0", (damaged,))
    return "part 0 of a kept sweep does not match its digest"


def _drop_second_part(db: sqlite3.Connection) -> str:
    assert db.execute("DELETE FROM whole_sweep_parts WHERE n = 1").rowcount == 1
    return "part 1 of a kept sweep does not match its digest"


@pytest.mark.parametrize("damage", [_alter_first_part, _drop_second_part])
def test_a_damaged_kept_sweep_is_discarded_with_a_warning(
    tree: Tree,
    tmp_path: Path,
    restores: list[int],
    caplog: pytest.LogCaptureFixture,
    damage: Callable[[sqlite3.Connection], str],
) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    expected = _kept_twice(cache_dir, root)
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        said = damage(db)
    with caplog.at_level(logging.WARNING):
        graph = _sweep(cache_dir, root)
    assert "damaged sweep" in caplog.text and said in caplog.text
    assert restores == [] and _state(graph) == expected and "Evil" not in repr(_state(graph))


def test_a_kept_sweep_that_is_not_an_inventory_is_not_restored(
    tree: Tree, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    expected = _kept_twice(cache_dir, root)
    value = file_cache.dumps(["assets", [["a"]], [], [["file:/x", "no-such-type", 0, [None], [], []]]])
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:  # digests and all: only its content is wrong
        digest = file_cache._digest(value)
        db.execute("UPDATE whole_sweep_parts SET value = ?, digest = ? WHERE n = 0", (value, digest))
        digests = [row[0] for row in db.execute("SELECT digest FROM whole_sweep_parts ORDER BY n")]
        whole = hashlib.blake2b(b"".join(digests), digest_size=16).digest()
        db.execute("UPDATE whole_sweeps SET digest = ?", (whole,))
    with caplog.at_level(logging.WARNING):
        graph = _sweep(cache_dir, root)
    assert "cannot be read" in caplog.text
    assert _state(graph) == expected


def test_a_graph_holding_assets_already_is_swept_file_by_file(tree: Tree, tmp_path: Path, restores: list[int]) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    _kept_twice(cache_dir, root)
    graph = InventoryGraph()
    graph.add(Asset("tls:example.test:443", AssetType.TLS_ENDPOINT))  # another collector's, first
    _sweep(cache_dir, root, graph=graph)
    assert restores == []
    assert "tls:example.test:443" in graph and len(graph) > 10


def test_a_secret_option_keeps_nothing(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    for _ in range(3):
        _sweep(cache_dir, root, pkcs11_pin=Secret(b"1234"))
    assert _kept(cache_dir) == []  # not even a digest of it


def test_no_private_key_material_in_a_kept_sweep(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    _kept_twice(cache_dir, root)
    assert [kept for kept, _ in _kept(cache_dir)] == [True]
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        stored = b"".join(row[0] for row in db.execute("SELECT value FROM whole_sweep_parts"))
    assert str(files["plain_key"]).encode() in stored
    body = b"".join(files["plain_key"].read_bytes().splitlines()[1:-1])
    der = base64.b64decode(body)
    for chunk in (body[8:40], der[7:39], der[-32:]):
        assert chunk not in stored


def test_the_cli_writes_the_same_report_from_a_kept_sweep(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    reports = [_scan(root, cache_dir)[0] for _ in range(3)]
    uncached, _ = _scan(root, tmp_path / "other", "--no-cache")
    assert [kept for kept, _ in _kept(cache_dir)] == [True]
    assert all(_comparable(report) == _comparable(uncached) for report in reports)
    assert uncached["findings"] and uncached["errors"]


def test_a_file_that_could_not_be_read_is_tried_again_before_a_restore(
    tree: Tree, tmp_path: Path, restores: list[int]
) -> None:
    root, files = tree
    os.symlink(tmp_path / "nowhere.crt", root / "dangling.crt")  # cannot be opened, every scan alike
    _age(root)
    cache_dir = tmp_path / "cache"
    for _ in range(3):
        graph = _sweep(cache_dir, root)
    assert restores == [1]  # a lasting failure does not keep the tree from being restored
    assert any("dangling.crt" in e.target and "nowhere.crt" in e.message for e in graph.errors)
    # A passing fault (EIO from a busy mount) cannot be made here without changing the file's stat;
    # the kept sweep is told it met one, on a file that opens fine now, as such a fault leaves it
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        (seen,) = db.execute("SELECT followed FROM whole_sweeps").fetchone()
        paths, digest, failed = file_cache.loads(seen)
        failed.append([str(files["good"]), "cannot read file: Input/output error"])
        db.execute("UPDATE whole_sweeps SET followed = ?", (file_cache.dumps([paths, digest, failed]),))
    restores.clear()
    again = _sweep(cache_dir, root)
    assert restores == []  # swept file by file: the file is read again
    assert _state(again) == _state(_sweep(None, root))


def test_the_same_relative_path_from_two_directories_is_two_sweeps(
    tree: Tree, tmp_path: Path, restores: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    other = tmp_path / "other"
    pki.write(other / "only-here.crt", pki.pem(pki.certificate(pki.ec_key(), "other.test")))
    _age(tmp_path)
    cache_dir = tmp_path / "cache"
    for _ in range(3):  # a nightly `--path .` in each of two directories, alternately
        for where in (root, other):
            monkeypatch.chdir(where)
            graph = _sweep(cache_dir, Path("."))
            subjects = {a.properties.get("subject") for a in graph.assets()}
            assert ("CN=other.test" in subjects) == (where == other)
    assert restores == [1, 1]  # each directory's own sweep, kept and restored on its third scan


def test_a_graph_kept_in_many_parts_comes_back_the_same(tree: Tree) -> None:
    root, _ = tree
    graph = _sweep(None, root)
    parts = list(graph.state(size=2))  # two assets a part: shapes and shared values spread over them
    assert sum(part[0] == "assets" for part in parts) > 5
    back = InventoryGraph()
    back.restore(file_cache.loads(file_cache.dumps(part)) for part in parts)
    assert _state(back) == _state(graph)
    assert [a.properties for a in back.assets()] == [a.properties for a in graph.assets()]
    with pytest.raises(ValueError, match="end early"):  # cut short: never half a graph
        InventoryGraph().restore(parts[:-1])

"""Issue 12 item 3: incremental re-scans through the per-file parse cache.

Real files (certificates, keys, an nginx config, a PKCS#12), real scans through the CLI and through
the file collector; the only instrumentation is a counter around the collector's own read function,
to show which files a re-scan read.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset
from scanner.secrets import Secret
from tests.collectors.files.conftest import OLD_NS, Tree, _age, _cached_paths, _comparable, _scan
from tests.support import pki


def _collect(root: Path, cache_dir: Path | None, **context: Any) -> InventoryGraph:
    options = {} if cache_dir is None else {file_cache.OPTION: str(cache_dir)}
    graph = InventoryGraph()
    graph.add_all(FileCollector().collect([Target("path", str(root))], CollectContext(options=options, **context)))
    return graph


def _snapshot(graph: InventoryGraph) -> tuple[list[tuple[str, str, Any, Any]], list[Any], list[Any]]:
    assets = sorted((a.id, a.type.value, json.dumps(a.properties, sort_keys=True), a.locations) for a in graph.assets())
    relations = sorted((r.source, r.target, r.type.value) for r in graph.relations())
    return assets, relations, sorted(graph.errors)


def test_rescan_of_an_unchanged_tree_reads_nothing_and_reports_the_same(
    tree: Tree, tmp_path: Path, reads: list[int]
) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    first = _snapshot(_collect(root, cache_dir))
    files = sum(1 for p in root.rglob("*") if p.is_file())
    assert len(reads) == files  # the first scan reads every file
    reads.clear()
    again = _snapshot(_collect(root, cache_dir))
    assert reads == []  # nothing read, nothing parsed
    assert again == first  # same assets (properties, locations), relations and errors
    assert len(first[0]) > 10 and first[2]  # a real inventory, including the nginx config's error-free walk
    uncached = _snapshot(_collect(root, None))
    assert uncached == first


def test_the_cli_rescan_writes_the_same_report(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    first, _ = _scan(root, cache_dir)
    assert _cached_paths(cache_dir) == {str(p) for p in root.rglob("*") if p.is_file()}
    second, _ = _scan(root, cache_dir)
    uncached, _ = _scan(root, tmp_path / "other", "--no-cache")
    assert _comparable(second) == _comparable(first) == _comparable(uncached)
    assert not (tmp_path / "other").exists()  # --no-cache: no cache made, none used
    assert first["findings"]  # rules ran on the cached inventory too (weak key, TLSv1, expired)
    assert {f["rule_id"] for f in second["findings"]} == {f["rule_id"] for f in first["findings"]}


def test_rules_run_again_on_a_cached_inventory(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    now, _ = _scan(root, cache_dir)
    later, _ = _scan(root, cache_dir, "--as-of", "2031-01-01")  # the later --as-of wins
    expired_now = {f["asset_id"] for f in now["findings"] if "expired" in f["rule_id"]}
    expired_later = {f["asset_id"] for f in later["findings"] if "expired" in f["rule_id"]}
    assert expired_now < expired_later  # 90-day certificates have expired by 2031


def test_changed_removed_and_new_files_are_noticed(tree: Tree, tmp_path: Path, reads: list[int]) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    first = _collect(root, cache_dir)
    before = {a.id for a in first.assets()}
    # changed in place: same size, mtime put back, same inode; only the ctime tells
    good = files["good"]
    text = bytearray(good.read_bytes())
    at = text.rindex(b"\n-----END") - 10  # a base64 character inside the signature
    text[at] = ord("A") if text[at] != ord("A") else ord("B")
    good.write_bytes(bytes(text))
    os.utime(good, ns=(OLD_NS, OLD_NS))
    files["weak_key"].unlink()  # removed
    new_key = pki.rsa_key(2048)
    pki.write(root / "new" / "added.crt", pki.pem(pki.certificate(new_key, "added.test")))  # new
    reads.clear()
    second = _collect(root, cache_dir)
    assert len(reads) == 2  # the changed file and the new one, nothing else
    after = {a.id for a in second.assets()}
    assert f"file:{files['weak_key']}" in before and f"file:{files['weak_key']}" not in after
    assert any(a.properties.get("subject") == "CN=added.test" for a in second.assets())
    old_good = [a.id for a in first.assets() if a.properties.get("subject") == "CN=good.test"]
    new_good = [a.id for a in second.assets() if a.properties.get("subject") == "CN=good.test"]
    assert old_good and new_good and old_good != new_good
    assert str(files["weak_key"]) not in _cached_paths(cache_dir)  # the removed file is forgotten
    # the same state scanned without any cache
    assert _snapshot(second) == _snapshot(_collect(root, None))


def test_mode_and_owner_are_read_fresh_on_a_cache_hit(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    first, _ = _scan(root, cache_dir)
    key_file = f"file:{files['plain_key']}"
    assert next(a for a in first["assets"] if a["id"] == key_file)["properties"]["mode"] == "0600"
    files["plain_key"].chmod(0o644)
    second, _ = _scan(root, cache_dir)
    assert next(a for a in second["assets"] if a["id"] == key_file)["properties"]["mode"] == "0644"
    assert any(f["asset_id"] == key_file for f in second["findings"])  # world-readable private key


def test_a_file_written_just_now_is_not_cached(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    fresh = pki.write(root / "fresh.crt", files["ca"].read_bytes())  # mtime: now
    _collect(root, tmp_path / "cache")
    cached = _cached_paths(tmp_path / "cache")
    assert str(fresh) not in cached and str(files["ca"]) in cached


def test_a_corrupted_cache_file_is_discarded_with_a_warning(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    first, _ = _scan(root, cache_dir)
    (cache_dir / file_cache.FILE_NAME).write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (cache_dir / f"{file_cache.FILE_NAME}{suffix}").unlink(missing_ok=True)
    second, stderr = _scan(root, cache_dir)
    assert "file cache" in stderr and "discarded" in stderr, stderr
    assert _comparable(second) == _comparable(first)
    assert _cached_paths(cache_dir)  # rebuilt


def test_a_damaged_entry_is_never_trusted(
    tree: Tree, tmp_path: Path, reads: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    first = _snapshot(_collect(root, cache_dir))
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        (value,) = db.execute("SELECT value FROM files WHERE path = ?", (os.fsencode(files["ca"]),)).fetchone()
        # a flipped subject, still valid JSON: only the digest shows it
        damaged = bytes(value).replace(b"CN=Test CA", b"CN=Evil CA")
        assert damaged != bytes(value)
        db.execute("UPDATE files SET value = ? WHERE path = ?", (damaged, os.fsencode(files["ca"])))
    reads.clear()
    second = _snapshot(_collect(root, cache_dir))
    assert "damaged entry" in caplog.text
    assert second == first
    assert "Evil" not in repr(second)
    assert reads  # the files were read again


def test_a_parser_change_empties_the_cache(
    tree: Tree, tmp_path: Path, reads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = tree
    cache_dir = tmp_path / "cache"
    _collect(root, cache_dir)
    monkeypatch.setattr(file_cache, "CACHE_FORMAT", file_cache.CACHE_FORMAT + 1)
    reads.clear()
    _collect(root, cache_dir)
    assert len(reads) == sum(1 for p in root.rglob("*") if p.is_file())


def test_a_scan_with_passwords_does_not_use_the_cache(tmp_path: Path, reads: list[int]) -> None:
    root = tmp_path / "tree"
    key = pki.rsa_key(2048)
    cert = pki.certificate(key, "p12.test")
    pki.write(root / "bundle.p12", pki.pkcs12_bytes(key, cert, b"s3cret-pass"))
    _age(root)
    cache_dir = tmp_path / "cache"
    locked = _collect(root, cache_dir)  # no password: a locked container
    reads.clear()
    opened = _collect(root, cache_dir, passwords=(Secret(b"s3cret-pass"),))
    assert reads  # read again, with the password
    assert any(a.properties.get("subject") == "CN=p12.test" for a in opened.assets())
    assert not any(a.properties.get("subject") == "CN=p12.test" for a in locked.assets())
    assert b"s3cret" not in (cache_dir / file_cache.FILE_NAME).read_bytes()


def test_no_private_key_material_in_the_cache(tree: Tree, tmp_path: Path) -> None:
    root, files = tree
    cache_dir = tmp_path / "cache"
    _collect(root, cache_dir)
    stored = b"".join(p.read_bytes() for p in cache_dir.iterdir())
    assert str(files["plain_key"]).encode() in stored  # the key file is cached (by its public half)
    body = b"".join(files["plain_key"].read_bytes().splitlines()[1:-1])
    der = base64.b64decode(body)
    for chunk in (body[8:40], der[7:39], der[-32:]):
        assert chunk not in stored
    assert oct((cache_dir / file_cache.FILE_NAME).stat().st_mode & 0o777) == "0o600"


def test_codec_round_trip_keeps_observations(tree: Tree, tmp_path: Path) -> None:
    root, _ = tree
    graph = _collect(root, None)
    assets = [a for a in graph.assets() if isinstance(a, Asset)]
    from scanner.collectors.files.handler import ParsedFile

    parsed = ParsedFile(format="pem", observations=tuple(assets), file_properties={"x": [1, 2]}, follow=(root,))
    back = file_cache.decode(file_cache.encode(parsed))
    assert back is not None and back.follow == (root,) and dict(back.file_properties) == {"x": [1, 2]}
    assert [json.dumps(a.properties, sort_keys=True) for a in back.observations if isinstance(a, Asset)] == [
        json.dumps(a.properties, sort_keys=True) for a in assets
    ]
    assert file_cache.decode(file_cache.encode(None)) is None
    with pytest.raises(file_cache.CorruptCache):
        file_cache.decode(b'{"format": "pem"}')

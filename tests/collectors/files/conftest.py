"""The cached trees the file cache's tests and the kept-sweep tests share: real keys, certificates
and an nginx config naming them, aged past the file cache's racy window."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.files import cache as file_cache
from scanner.collectors.files import collector as file_collector
from tests.support import pki
from tests.support.scans import keysweep, mixed_tree

AS_OF = "2026-06-01"
OLD_NS = (time.time_ns() - 3600 * 10**9) // 10**9 * 10**9  # an hour ago: past the racy window


def _age(root: Path) -> None:
    """Files written an hour ago, as on a real host (a file written this second is never cached)."""
    for path in root.rglob("*"):
        os.utime(path, ns=(OLD_NS, OLD_NS), follow_symlinks=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tree of real keys and certificates per module (RSA key generation is slow on a loaded host)."""
    root = tmp_path_factory.mktemp("template") / "tree"
    _build(root)
    return root


@pytest.fixture
def tree(template: Path, tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    root = tmp_path / "tree"
    shutil.copytree(template, root)  # copy2: modes and (old) mtimes kept
    files = {name: root / rel for name, rel in _NAMES.items()}
    pki.write(  # a config naming this copy's files
        root / "nginx.conf",
        f"events {{}}\nhttp {{ server {{ listen 443 ssl; ssl_certificate {files['ca']};\n"
        f"ssl_certificate_key {files['plain_key']}; ssl_protocols TLSv1 TLSv1.2; }} }}\n".encode(),
    )
    _age(root)
    return root, files


Tree = tuple[Path, dict[str, Path]]
_NAMES = {
    "ca": "ca.crt",
    "weak_key": "weak.key",
    "good": "good.crt",
    "plain_key": "server.key",
}


def _build(root: Path) -> None:
    files = mixed_tree(root)
    key = pki.ec_key()
    files["plain_key"] = pki.write(root / "server.key", pki.key_pem(key))
    files["notes"] = pki.write(root / "notes.txt", b"nothing cryptographic in here\n")
    # an error entry, cached like the rest
    pki.write(root / "broken.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n")
    _age(root)


def _scan(root: Path, cache_dir: Path, *extra: str) -> tuple[dict[str, Any], str]:
    report = cache_dir.parent / f"report-{time.monotonic_ns()}.json"
    run = keysweep(
        "scan", "--path", str(root), "--no-store", "--cache", str(cache_dir), "--as-of", AS_OF,
        "--json", str(report), *extra,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    value = json.loads(report.read_bytes())
    return value, run.stderr


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "scan"}


def _cached_paths(cache_dir: Path) -> set[str]:
    with sqlite3.connect(cache_dir / file_cache.FILE_NAME) as db:
        return {os.fsdecode(row[0]) for row in db.execute("SELECT path FROM files")}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many files the file collector read (its own `_read`, counted, still doing the reading)."""
    counted: list[int] = []
    real = file_collector._read

    def counting(fd: int, limit: int) -> bytes:
        counted.append(fd)
        return real(fd, limit)

    monkeypatch.setattr(file_collector, "_read", counting)
    yield counted

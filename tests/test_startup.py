"""Issue 12: the fixed cost of a scan. What a scan does not use is not imported at start-up, and
what is loaded late still works the same once it is needed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scanner import plugins
from scanner.collectors.configs import secret_patterns, secrets
from tests.support import pki

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("detect_secrets", "requests", "urllib3", "scanner.store", "sslyze", "scanner.collectors.tls")

# an empty files-only scan run in-process, then the heavy modules it imported
EMPTY_SCAN = """
import sys
from scanner.cli import main
try:
    main(["scan", "--path", sys.argv[1], "--json", sys.argv[2], "--no-store"])
except SystemExit as exc:
    print(exc.code)
heavy = {HEAVY!r}
print(sorted({{m for m in sys.modules if m.startswith(heavy)}}))
"""

# the file handlers loaded as a scan loads them, then a settings file with secrets read
HANDLERS_THEN_SECRETS = """
import sys
from pathlib import Path
from scanner.collectors.files.collector import FileCollector
FileCollector()
print("detect_secrets" in sys.modules)
from scanner.collectors.configs import secrets
print(secrets.detect(sys.stdin.read()))
print("detect_secrets" in sys.modules)
"""


def _run(code: str, *args: str, stdin: str = "") -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.splitlines()


def test_an_empty_files_only_scan_imports_neither_detect_secrets_nor_the_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = tmp_path / "r.json"
    *_table, code, imported = _run(EMPTY_SCAN.format(HEAVY=HEAVY), str(empty), str(report))
    assert code == "0"
    assert imported == "[]", imported
    assert json.loads(report.read_text())["assets"] == []


def test_secrets_are_found_once_detect_secrets_is_loaded_on_first_use() -> None:
    # an AWS key id (a detect-secrets pattern), a JWT (its validity check comes from detect-secrets)
    # and a password judged by detect-secrets' heuristics (not a UUID, not a sequence)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJrZXlzd2VlcC10ZXN0IiwibiI6NDJ9.dGhpcy1pcy1hLXRlc3Qtc2lnbmF0dXJlLXg"
    text = f"aws_access_key_id = AKIA4QZ7RJ2XK5M3WP8N\ntoken = {jwt}\nDB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx\n"
    text += "api_key = 123e4567-e89b-12d3-a456-426614174000\n"  # a UUID: excluded by detect-secrets' filter
    before, found, after = _run(HANDLERS_THEN_SECRETS, stdin=text)
    assert before == "False"
    assert after == "True"
    assert found == str(secrets.detect(text))
    assert found == "[(1, 'aws-access-key-id', ''), (2, 'jwt', ''), (3, 'password', 'DB_PASSWORD')]"


def test_the_known_formats_are_built_once_with_the_private_key_first() -> None:
    assert secret_patterns.known_formats() is secret_patterns.known_formats()
    assert secret_patterns.known_formats()[0] is secret_patterns.private_key_format()
    kinds = {fmt.kind for fmt in secret_patterns.known_formats()}
    assert {"private-key", "aws-access-key-id", "github-token", "slack-token", "jwt", "url-credentials"} <= kinds


def test_entry_points_are_read_once_for_every_group(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {group: plugins.names(group) for group in (plugins.CHECKS, plugins.FILE_HANDLERS, plugins.COMMANDS)}
    calls: list[Any] = []
    real = plugins.entry_points

    def counting(**params: Any) -> Any:
        calls.append(params)
        return real(**params)

    monkeypatch.setattr(plugins, "entry_points", counting)
    plugins._entry_points.cache_clear()
    plugins._group.cache_clear()
    try:
        assert {group: plugins.names(group) for group in expected} == expected
        assert plugins.names(plugins.REPORTERS)
        assert calls == [{}]  # one read of every distribution, whatever the number of groups
    finally:
        plugins._entry_points.cache_clear()
        plugins._group.cache_clear()


# a scan run in-process, then how many objects the collector would still walk at interpreter exit
EXIT_WALK = """
import gc, sys
from scanner.cli import main
try:
    main(["scan", "--path", sys.argv[1], "--json", sys.argv[2], "--no-store"])
except SystemExit as exc:
    walked = len(gc.get_objects())
    print(exc.code, walked, gc.get_freeze_count())
"""


def test_on_the_way_out_the_heap_a_scan_built_is_frozen(tmp_path: Path) -> None:
    # a few certificates and a configuration: a heap of a few thousand objects the scan made
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "sample-targets" / "configs", tree / "configs", symlinks=True)
    key = pki.ec_key()
    for i in range(30):
        pki.write(tree / f"c{i}.pem", pki.pem(pki.certificate(key, f"host{i}.example")))
    code, walked, frozen = _run(EXIT_WALK, str(tree), str(tmp_path / "r.json"))[-1].split()
    assert code in ("0", "1")
    assert int(frozen) > 10_000
    # what exit would walk: only the few objects made after the freeze, not the scan's heap
    assert int(walked) < 500, walked

"""The store's compression (scanner/store/deflate.py): zlib streams, whichever library writes them.

zlib-ng writes them when installed (a dependency: this checkout's environment has it); a keysweep
without it, or from before it, writes them with the zlib module. The stores of each read in the
other, byte for byte: the subprocesses below run without zlib-ng (its import blocked).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

from scanner.store import deflate
from scanner.store import rows as R
from scanner.store.backends import open_store
from scanner.store.bodies import listed
from tests.store.helpers import execute, trimmed

REPO = Path(__file__).resolve().parents[2]

WITHOUT_ZLIB_NG = """
import json, sys
sys.modules["zlib_ng"] = None  # as if not installed
from pathlib import Path
from scanner.store import deflate
from scanner.store.backends import open_store
from scanner.store.bodies import listed
assert deflate.zlib_ng is None
with open_store(sys.argv[1]) as store:
    if sys.argv[2] == "save":
        store.save(Path(sys.argv[3]).read_bytes())
    else:
        loaded = [store.load_bytes(ref) for ref in sys.argv[3:]]
        print(json.dumps({"ok": store.verify().ok, "sizes": [len(raw) for raw in loaded]}))
        Path(sys.argv[1] + ".loaded").write_bytes(b"\\n--\\n".join(loaded))
"""


def _without_zlib_ng(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_ZLIB_NG, *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_store_compresses_with_zlib_ng_and_writes_what_the_zlib_module_reads(
    tmp_path: Path, report_json: bytes
) -> None:
    assert deflate.zlib_ng is not None  # the dependency is installed: the quicker path is the one tested
    store = tmp_path / "store.sqlite3"
    with open_store(store) as opened:
        opened.save(report_json)
    [(head, body_id)] = execute(str(store), "SELECT report, report_body FROM scans")
    at = R.body_start(report_json)
    assert zlib.decompress(bytes(head)) == report_json[:at]
    assert _stored_body(store, body_id) == report_json[at:]


def _stored_body(store: Path, digest: str) -> bytes:
    """A body read back with the zlib module alone: whole, or its chunks joined when it is cut into
    chunks (the report's random key ids end in 00 somewhere or not: either form, run by run)."""
    [(body,)] = execute(str(store), "SELECT body FROM report_bodies WHERE body_digest = ?", (digest,))
    data = zlib.decompress(bytes(body))
    chunks = listed(data)
    return data if chunks is None else b"".join(_stored_body(store, chunk) for chunk in chunks)


def test_a_store_written_without_zlib_ng_is_read_with_it_and_back(tmp_path: Path, report_json: bytes) -> None:
    store = tmp_path / "store.sqlite3"
    first = tmp_path / "first.json"
    first.write_bytes(report_json)
    _without_zlib_ng(str(store), "save", str(first))
    second = trimmed(report_json, "assets", "web-2", 5)  # another body: written by zlib-ng
    with open_store(store) as opened:
        opened.save(second)
        ids = [json.loads(raw)["scan"]["id"] for raw in (report_json, second)]
        assert [opened.load_bytes(ref) for ref in ids] == [report_json, second]
        assert opened.verify().ok
    answer = json.loads(_without_zlib_ng(str(store), "load", *ids))
    assert answer == {"ok": True, "sizes": [len(report_json), len(second)]}
    assert Path(f"{store}.loaded").read_bytes() == report_json + b"\n--\n" + second

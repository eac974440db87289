"""The rows a store writes: the fast path (orjson for the JSON columns, no per-string check where the
text cannot hold a lone surrogate) writes exactly what the json module's path writes, so that stores
written before and after it hold the same rows and digests and verify alike."""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory import jsonio
from scanner.reporting.json_report import JsonReporter
from scanner.store import rows as R
from scanner.store.backends import open_store
from tests.store.helpers import execute
from tests.support.scans import mixed_tree, scan_paths

FIELDS = ("scan", "content_digest", "sets", "body_digest")

# every character that can be in a str written as UTF-8 (no surrogates), with the controls and the quotes
ALL_CHARACTERS = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


def reference(report_json: bytes, monkeypatch: pytest.MonkeyPatch) -> R.ScanRows:
    """derive as keysweep did before the fast path: the json module writes every JSON column, every
    string is made valid."""
    with monkeypatch.context() as patched:
        patched.setattr(R, "_parse", lambda data: (json.loads(data), R._compact, R._valid_text))
        return R.derive(report_json)


def assert_same_rows(report_json: bytes, monkeypatch: pytest.MonkeyPatch) -> R.ScanRows:
    fast, slow = R.derive(report_json), reference(report_json, monkeypatch)
    for name in FIELDS:
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.rows_digest == slow.rows_digest
    return fast


@pytest.fixture(scope="module")
def awkward_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tree with a non-ASCII name and, where the filesystem allows, a name that is not UTF-8."""
    root = tmp_path_factory.mktemp("awkward") / "tree"
    files = mixed_tree(root)
    shutil.copy(files["good"], root / "café-ключ-😀.crt")
    try:
        with open(os.fsencode(root) + b"/caf\xe9-\xff.crt", "wb") as undecodable:
            undecodable.write(files["weak_cert"].read_bytes())
    except OSError:  # a filesystem that insists on UTF-8 names
        pass
    return root


@pytest.fixture(scope="module")
def awkward_report(awkward_tree: Path) -> bytes:
    return JsonReporter().render(scan_paths(awkward_tree))


def with_properties(report_json: bytes, extra: dict[str, Any], scope: str | None = None) -> bytes:
    """The report with values added to every asset's properties (and as another scope's scan),
    written as keysweep writes reports."""
    report = json.loads(report_json)
    if scope is not None:
        report["scan"].update(id=str(uuid.uuid4()), scope=scope, host=scope)
    for asset in report["assets"]:
        asset["properties"] = {**asset["properties"], **extra}
    return jsonio.dumps(report)


def test_a_real_scan_with_awkward_file_names_gives_the_same_rows(
    awkward_tree: Path, awkward_report: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = assert_same_rows(awkward_report, monkeypatch)
    refs = [loc[2] for loc in rows.rows("locations")]
    assert any("café-ключ-😀" in ref for ref in refs)
    if any(b"\xff" in os.fsencode(name) for name in os.listdir(awkward_tree)):
        # the undecodable byte is kept as the six characters \udcff, never as a lone surrogate
        assert any("caf\\udce9-\\udcff.crt" in ref for ref in refs)
        assert not any("\udcff" in ref for ref in refs)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"text": ALL_CHARACTERS, "ключ": "значение", "\U0001f600": 1, "\uffff": 2, "é": 3}, id="unicode"),
        pytest.param({"lone": "caf\udce9", "keys": {"\udcff": 1}}, id="lone-surrogates"),
        pytest.param({"big": 2**70, "neg": -(2**64), "u64": 2**64 - 1, "i64": -(2**63)}, id="huge-ints"),
        pytest.param({"ratio": 1e-05, "big": 1e16, "plain": 0.5, "neg": -0.0}, id="floats"),
        pytest.param({"nan": float("nan"), "inf": float("inf")}, id="nan-infinity"),
        pytest.param({"deep": json.loads("[" * 400 + "]" * 400)}, id="deeper-than-orjson"),
        pytest.param({"escaped": "C:\\ud800\\path", "quote": "\"'"}, id="backslashes"),
    ],
)
def test_awkward_values_give_the_same_rows(
    awkward_report: bytes, extra: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_rows(with_properties(awkward_report, extra), monkeypatch)


def test_non_ascii_text_without_surrogates_takes_the_fast_path_to_the_same_rows(
    report_json: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # U+D000..U+D7FF share their first UTF-8 byte with encoded surrogates: left out to keep this path
    text = "".join(chr(c) for c in range(0x80, sys.maxunicode + 1) if not 0xD000 <= c <= 0xDFFF)
    report = json.loads(with_properties(report_json, {"text": text, "ключ": "значение", "\U0001f600": 1}))
    report["assets"][0]["locations"][0]["ref"] = "/srv/café/ключ-😀.pem"
    report["relations"][0]["source"] = "file:/srv/café"
    data = jsonio.dumps(report)
    assert R._parse(data)[1:] == (R._compact_orjson, str)
    rows = assert_same_rows(data, monkeypatch)
    assert rows.rows("locations")[0][2] == "/srv/café/ключ-😀.pem"


def test_each_kind_of_text_takes_the_path_that_is_exact() -> None:
    plain = b'{"a": [1, "caf\xc3\xa9", null, true]}'
    assert R._parse(plain)[1:] == (R._compact_orjson, str)
    assert R._parse(b'{"a": 1.5}')[1] is R._compact
    assert R._parse(b'{"a": NaN}')[1] is R._compact
    assert R._parse(b'{"a": 1e400}')[1] is R._compact
    # a surrogate escape, a surrogate encoded as bytes (json reads those), or not UTF-8 at all
    assert R._parse(b'{"a": "\\udcff"}')[2] is R._valid_text
    assert R._parse(b'{"a": "\\uDCFF"}')[2] is R._valid_text
    assert R._parse(b'{"a": "\xed\xb3\xbf"}')[2] is R._valid_text
    assert R._parse('{"a": "\udcff"}'.encode("utf-16", "surrogatepass"))[2] is R._valid_text
    # an escaped backslash alone is no surrogate
    assert R._parse(b'{"a": "C:\\\\dir"}')[2] is str
    assert R._parse(b'{"a": "\\u00e9"}')[2] is str


@pytest.mark.parametrize(
    "value",
    [
        ALL_CHARACTERS,
        {"b": 1, "a": {"é": [1, None, True, False], "z": "", "\U0001f600": -1, "\uffff": 2**63 - 1, "A": -(2**63)}},
        [2**64 - 1, "\x00\x1f\x7f\u2028\u2029\ufeff"],
        {"lone": "\udcff"},  # orjson refuses: the json module writes it
        2**64,  # likewise
        json.loads("[" * 300 + "]" * 300),  # likewise (nesting)
    ],
)
def test_orjson_writes_the_json_modules_text(value: Any) -> None:
    assert R._compact_orjson(value) == R._compact(value)


def test_awkward_scans_verify_alike_on_every_backend(
    store_url: str, awkward_report: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved through the fast path, the rows read back are the reference rows and the chain verifies."""
    report_json = with_properties(awkward_report, {"big": 2**70, "lone": "\udcff", "é": "ü"}, scope="web-1")
    with open_store(store_url) as store:
        store.save(report_json)
        assert store.verify().problems == ()
    expected = reference(report_json, monkeypatch)
    scan_id = expected.scan["id"]
    stored = execute(store_url, "SELECT asset_id, type, properties FROM assets WHERE scan_id = ?", (scan_id,))
    assert sorted(stored) == sorted(expected.rows("assets"))
    digest = execute(store_url, "SELECT rows_digest FROM scans WHERE id = ?", (scan_id,))
    assert digest == [(expected.rows_digest,)]

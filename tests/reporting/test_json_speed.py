"""Issue 12 item 2: orjson writes the same report bytes as the json module, and one summary per scan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.inventory import jsonio, summary
from scanner.reporting.html import HtmlReporter
from scanner.reporting.json_report import JsonReporter, encode_json_text, report_dict
from tests.support import pki
from tests.support.scans import mixed_tree, scan_paths


def _stdlib_report(value: object) -> bytes:
    # what JsonReporter wrote before orjson: the reference bytes
    return encode_json_text(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def test_orjson_is_the_backend_and_writes_the_same_bytes(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    pki.write(tmp_path / "ünïcode-名前.crt", (tmp_path / "ca.crt").read_bytes())
    result = scan_paths(tmp_path)
    assert jsonio.backend() == "orjson"  # a declared dependency, installed by bootstrap
    rendered = JsonReporter().render(result)
    assert rendered == _stdlib_report(report_dict(result))
    assert "名前" in rendered.decode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"name": "caf\udce9.pem"},  # a non-UTF-8 file name: orjson refuses, the json module escapes
        {"serial": 2**70},  # an integer past 64 bits
        {"when": __import__("datetime").datetime(2026, 1, 2, 3, 4, 5)},  # through default=str
    ],
)
def test_values_orjson_refuses_are_written_as_before(value: dict[str, object]) -> None:
    assert jsonio.dumps(value) == _stdlib_report(value)
    assert jsonio.loads(jsonio.dumps(value)) == json.loads(_stdlib_report(value))


def test_the_summary_is_computed_once_per_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    calls: list[object] = []
    real = summary._summarize

    def counting(value: object) -> object:
        calls.append(value)
        return real(value)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "_summarize", counting)
    summary._summary_of.cache_clear()
    first = JsonReporter().render(result)
    HtmlReporter().render(result)
    # the store adds history with dataclasses.replace: still the same scan
    JsonReporter().render(replace(result, history=()))
    assert len(calls) == 1
    # a different scan (other findings) is summarised anew, and a caller's change never leaks back
    other = replace(result, findings=result.findings[:1])
    summary.summarize(other)["findings"] = -1
    assert summary.summarize(other)["findings"] == 1
    assert len(calls) == 2
    assert json.loads(first)["summary"]["findings"] == len(result.findings)

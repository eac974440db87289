"""The SARIF file's and the CBOM's indented JSON, written through orjson where it can be: the json module's bytes,
whatever the document holds (awkward strings, numbers and objects fall back to the json module)."""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from pathlib import Path
from typing import Any

import pytest

from scanner.reporting import cbom, json_indent
from scanner.reporting.json_indent import Chunks, dumps_indent1, iter_indent1, plain
from tests.support.outputs import json_module_indent1
from tests.support.scans import mixed_tree, scan_paths


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Kind(str, enum.Enum):
    FILE = "file"


PLAIN_DOCUMENTS = [
    {},
    [],
    {"a": [], "b": {}, "c": [[], {}, [[{}]]], "d": None, "e": True, "f": False, "g": 0, "h": -7},
    {"text": "Zürich Straße 東京 \u2028 \u2029 \x7f \ufeff emoji 🔑", "keys": {"ünï": "x"}},
    {"controls": "".join(chr(c) for c in range(32)) + '"\\/'},
    {"one space": "a b", "colon": ": x", "comma": ", ", "newline": "a\nb", "tab": "\t"},
    {"two spaces": "a  b"},  # a string with two spaces running: the json module writes it
    {"leading": "  x", "trailing": "x  ", "only": "   "},
    {"big": 2**63 - 1, "small": -(2**63), "huge": 2**158 + 5, "negative huge": -(2**70)},
    {"surrogate": "/srv/caf\udce9-\udcff.pem", "ok": "x"},  # a non-UTF-8 file name (PEP 383)
    {"subclasses": [Level.HIGH, Kind.FILE], Kind.FILE: {"nested": (1, (2, [3]))}},
    {"deep": [[[[[[[[[[[["x"]]]]]]]]]]]]},
]


@pytest.mark.parametrize("document", PLAIN_DOCUMENTS)
def test_plain_documents_are_written_as_the_json_module_writes_them(document: Any) -> None:
    assert plain(document)
    assert dumps_indent1(document, plain=True) == json_module_indent1(document)


@pytest.mark.parametrize(
    "value",
    [1.5, 1e16, 1e-7, float("nan"), float("inf"), dt.datetime(2026, 1, 2, 3, 4, 5), dt.date(2026, 1, 2), Colour.RED],
)
def test_values_the_two_libraries_write_differently_are_not_plain_and_still_right(value: Any) -> None:
    document = {"evidence": {"value": value, "list": [value]}}
    assert not plain(document) and not plain(value)
    assert dumps_indent1(document, plain=False) == json_module_indent1(document)


def test_orjson_refusing_a_document_leaves_it_to_the_json_module() -> None:
    for document in ({1: "int key"}, {"set": {1}}, {"surrogate": "\udc80"}, {"huge": 2**64}):
        assert dumps_indent1(document, plain=True) == json_module_indent1(document)


def test_the_fast_path_is_taken_where_it_can_be(monkeypatch: pytest.MonkeyPatch) -> None:
    # the json module is not asked for a plain document without two spaces running
    def refuse(*_args: object, **_kwargs: object) -> str:
        raise AssertionError("the json module was used")

    document = {"findings": [{"id": f"f{n}", "message": "a key, 2048 bits", "n": n} for n in range(50)]}
    monkeypatch.setattr(json_indent.json, "dumps", refuse)
    assert dumps_indent1(document, plain=True).startswith(b'{\n "findings": [\n  {\n   "id": "f0",')
    with pytest.raises(AssertionError):
        dumps_indent1(document, plain=False)


def _without_stamps(data: bytes) -> bytes:
    # a CBOM's serial number and timestamp are new on every render
    return re.sub(rb'"(serialNumber|timestamp)": "[^"]*"', b'"stamp"', data)


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_a_cbom_is_written_as_the_json_module_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    fast = cbom.CbomReporter(version).render(result)
    monkeypatch.setattr(json_indent, "orjson", None)  # every piece through the json module
    assert _without_stamps(fast) == _without_stamps(cbom.CbomReporter(version).render(result))
    assert json_module_indent1(json.loads(fast)) == fast  # and the json module's text of the whole document
    assert b'"components": [' in fast


def test_a_cbom_holding_a_float_goes_the_json_modules_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    serialize = cbom._serialize

    def with_float(*args: Any) -> dict[str, Any]:
        document = serialize(*args)
        # as the library would write a number that is not an integer: read through the reporter's loads
        document["metadata"]["x-float"] = args[2]('{"big": 1e16, "nan": NaN}')
        return document

    monkeypatch.setattr(cbom, "_serialize", with_float)
    data = cbom.CbomReporter("1.6").render(result)
    # orjson would write 1e16 and null
    assert b'"big": 1e+16' in data and b'"nan": NaN' in data


@pytest.mark.parametrize("size", [1, 2, 5])
def test_a_document_streamed_in_chunks_is_the_whole_documents_text(size: int) -> None:
    items: list[Any] = [{"a": [1, {"b": "two  spaces"}]}, "x\udce9", [], {}, 7, None, {"k": "Zürich \u2028"}]
    members = {"first": items, "meta": {"a": "\x00chunks 1", "list": [1, 2]}, "empty": [], "läst": items[::-1]}
    document: dict[str, Any] = {}
    for name, value in members.items():
        if isinstance(value, list):
            chunks = [value[start : start + size] for start in range(0, len(value), size)]
            document[name] = Chunks([(chunk, plain(chunk)) for chunk in [[], *chunks, []]])
        else:
            document[name] = value
    streamed = b"".join(iter_indent1(document, plain=True))
    assert streamed == json_module_indent1(members) == dumps_indent1(members, plain=False)


@pytest.mark.parametrize("size", [1, 3])
def test_a_nested_chunked_list_is_the_whole_documents_text(size: int) -> None:
    # as SARIF's results: a list four levels deep, in a dict inside a list, then more members after it
    items: list[Any] = [{"a": [1, {"b": "two  spaces"}]}, "x\udce9", {"k": "Zürich"}, 7]
    whole = {"runs": [{"tool": {"n": "\x00chunks 0"}, "results": items, "after": [1]}, {"results": []}], "z": 1}
    chunks = [items[start : start + size] for start in range(0, len(items), size)]
    document = {
        "runs": [
            {"tool": {"n": "\x00chunks 0"}, "results": Chunks([(c, plain(c)) for c in chunks]), "after": [1]},
            {"results": Chunks([([], True)])},
        ],
        "z": 1,
    }
    assert (
        b"".join(iter_indent1(document, plain=True)) == json_module_indent1(whole) == dumps_indent1(whole, plain=False)
    )

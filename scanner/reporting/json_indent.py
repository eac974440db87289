"""Indented JSON (one space per level, as SARIF files are written) without the json module's slow path.

``json.dumps`` with an indent falls back to its pure-Python encoder: about 5 s of CPU for the SARIF
file of a 20,000-certificate scan. orjson writes two spaces per level in C, with the json module's
separators (``", "`` becomes ``",\\n"``, ``": "`` stays), escapes, key order and empty ``[]``/``{}``.
A run of spaces in that text is indentation unless a string holds one; so where no string holds two
spaces running (the compact text has no two spaces running at all: it has none outside strings),
halving every run gives the json module's one-space text, byte for byte.

Everything else goes to the json module as before: a document holding a value the two libraries
write differently (floats: ``1e+16`` against ``1e16``, NaN; datetimes, enums and other objects
through ``default=str``) or that orjson refuses (a lone surrogate from a non-UTF-8 file name, an
integer past 64 bits, a dict key that is not a str). The caller vouches for the first kind with
``plain`` (see :func:`plain`); orjson itself raises for the rest.

:func:`iter_indent1` writes the same text in pieces, big lists a chunk at a time (the CBOM, SARIF).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps a bare install working
    orjson = None  # type: ignore[assignment]

# datetimes and dataclasses refused instead of written orjson's way (the json module writes str())
_STRICT = 0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_indent1(document: Any, *, plain: bool) -> bytes:
    """``json.dumps(document, indent=1, ensure_ascii=False, default=str)`` as UTF-8, a lone
    surrogate escaped as ``\\udcXX`` (backslashreplace), as keysweep's reports write it.

    ``plain``: the caller knows every value of ``document`` to be a str, an int, a bool, None, or a
    list, tuple or dict of them (:func:`plain` checks a part of it).
    """
    if orjson is not None and plain:
        try:
            compact = orjson.dumps(document, option=_STRICT)
            if b"  " not in compact:
                return orjson.dumps(document, option=_STRICT | orjson.OPT_INDENT_2).replace(b"  ", b" ")
        except (orjson.JSONEncodeError, TypeError):
            pass  # surrogates, huge integers, other keys: the json module writes them its way
    text = json.dumps(document, indent=1, ensure_ascii=False, default=str)
    return text.encode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class Chunks:
    """A top-level list of a document given to :func:`iter_indent1` in chunks: each chunk's items,
    and whether they are plain (see :func:`plain`)."""

    chunks: Iterable[tuple[list[Any], bool]]


def iter_indent1(document: Mapping[str, Any], *, plain: bool) -> Iterator[bytes]:
    """The bytes of :func:`dumps_indent1` of ``document`` in pieces, each member that is
    :class:`Chunks` (at any depth, as a dict's value) encoded a chunk at a time (its items never all
    in memory); ``plain`` is about the rest. Each chunk is encoded as the list of a one-member
    document and moved to the depth it has in ``document``: both encoders write an item the same way
    wherever it is, and a JSON string holds no newline.
    """
    markers: dict[str, Chunks] = {}
    rest = dumps_indent1(_marked(document, markers, uuid.uuid4().hex), plain=plain)
    for marker, chunks in markers.items():
        # a key's value, written after '": ' (a quote inside a string is escaped): never a string's text
        head, found, rest = rest.partition(b'": ' + json.dumps(marker).encode())
        if not found:  # pragma: no cover - every marker is in the skeleton it was put in
            raise AssertionError("a chunked list's marker not found")
        yield head + b'": '
        line = head[head.rfind(b"\n") + 1 :]  # the key's line: its indentation is the key's depth
        yield from _list_pieces(chunks.chunks, len(line) - len(line.lstrip(b" ")))
    yield rest


def _marked(value: Any, markers: dict[str, Chunks], token: str) -> Any:
    """``value`` with each Chunks replaced by a marker string no scan can hold (a random token)."""
    if isinstance(value, Chunks):
        marker = f"\x00chunks {token} {len(markers)}"
        markers[marker] = value
        return marker
    if isinstance(value, Mapping):
        return {name: _marked(item, markers, token) for name, item in value.items()}
    if isinstance(value, list):
        return [_marked(item, markers, token) for item in value]
    return value


# a chunk's items, two spaces deep, between these two
_OPEN, _CLOSE = b'{\n "x": [\n', b"\n ]\n}"


def _list_pieces(chunks: Iterable[tuple[list[Any], bool]], depth: int) -> Iterator[bytes]:
    """A list whose key is written ``depth`` spaces deep: its items one space deeper, its close at it."""
    shift = b"\n" + b" " * (depth - 1)
    first = True
    for items, plain in chunks:
        if not items:
            continue
        text = dumps_indent1({"x": items}, plain=plain)
        if not (text.startswith(_OPEN) and text.endswith(_CLOSE)):  # pragma: no cover - the encoders' layout
            raise AssertionError("unexpected layout of an indented list")
        yield (b"[" if first else b",") + (b"\n" + text[len(_OPEN) : -len(_CLOSE)]).replace(b"\n", shift)
        first = False
    yield b"[]" if first else b"\n" + b" " * depth + b"]"


def plain(value: Any) -> bool:
    """Whether orjson and the json module write ``value`` alike: str, int (bool), None, and lists,
    tuples and str-keyed dicts of them (subclasses included: both write a str subclass as a str)."""
    if value is None or isinstance(value, (str, int)):
        return True
    if isinstance(value, dict):
        return all(isinstance(key, str) and plain(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(item) for item in value)
    return False

"""A PEM splitter whose cost is linear in its input, whatever the input holds.

A single regular expression (``BEGIN (label) ... END \\1``) backtracks: each BEGIN without its END
rescans the rest of the file, so repeated BEGIN lines cost quadratic time (52 s at 664 KB in the
issue 18 report). Here every END marker is indexed once, and each BEGIN finds its END by a binary
search in that label's list: O(n log n) at worst, O(n) in practice.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from scanner.plurals import plural

_BEGIN = b"-----BEGIN "
_END = b"-----END "
_DASHES = b"-----"
# RFC 7468 labels: printable ASCII except '-', with spaces; no real label comes near this length
MAX_LABEL = 80
_LABEL_BYTES = frozenset(range(0x20, 0x7F)) - {ord("-")}
# the bytes no label may hold, for bytes.translate to delete: a label is good when nothing is deleted
_NOT_LABEL_BYTES = bytes(sorted(frozenset(range(256)) - _LABEL_BYTES))
_CERTIFICATE = b"CERTIFICATE" + _DASHES


@dataclass(frozen=True, slots=True)
class PemBlock:
    label: str
    start: int  # offset of "-----BEGIN"
    end: int  # offset just after the END marker's closing dashes

    def text(self, data: bytes) -> bytes:
        return data[self.start : self.end]


@dataclass(frozen=True, slots=True)
class PemSplit:
    blocks: tuple[PemBlock, ...]
    # BEGIN markers (at a line start) with no matching END after them
    truncated: tuple[str, ...]


def _label_at(data: bytes, offset: int) -> tuple[str, int] | None:
    """The label after a BEGIN/END prefix at ``offset``, and the offset after its closing dashes."""
    if data.startswith(_CERTIFICATE, offset):  # the common label, as the general reading finds it
        return "CERTIFICATE", offset + len(_CERTIFICATE)
    close = data.find(_DASHES, offset, offset + MAX_LABEL + len(_DASHES))
    if close <= offset:
        return None
    raw = data[offset:close]
    if len(raw.translate(None, _NOT_LABEL_BYTES)) != len(raw) or raw != raw.strip():
        return None
    return raw.decode("ascii"), close + len(_DASHES)


def _at_line_start(data: bytes, offset: int) -> bool:
    """True when only spaces or tabs stand between the previous newline and ``offset``."""
    position = offset - 1
    # bounded: a marker indented by more than a few characters is quoted text, not PEM
    limit = max(-1, offset - 16)
    while position > limit and data[position] in b" \t":
        position -= 1
    return position < 0 or data[position] in b"\r\n"


def _markers(data: bytes, prefix: bytes) -> Iterator[tuple[int, str, int]]:
    """(marker offset, label, offset after the marker) for each well-formed marker."""
    position = data.find(prefix)
    while position >= 0:
        label = _label_at(data, position + len(prefix))
        if label is not None:
            yield position, label[0], label[1]
        position = data.find(prefix, position + len(prefix))


def first_marker(data: bytes) -> int | None:
    """Offset of the first BEGIN marker that starts a line (code quoting a marker is not PEM)."""
    if data.startswith(_BEGIN) and _label_at(data, len(_BEGIN)) is not None:
        return 0  # the common file, without the general search
    return next((offset for offset, _, _ in _markers(data, _BEGIN) if _at_line_start(data, offset)), None)


def has_marker(data: bytes) -> bool:
    return first_marker(data) is not None


def split(data: bytes) -> PemSplit:
    """Every PEM block in ``data``, in order; blocks never overlap (a BEGIN inside a block is body).

    A block may start mid-line (a key pasted into ``TLS_KEY="-----BEGIN ...``); whether a file is
    PEM at all is decided by a marker that starts a line (``first_marker``).
    """
    plain = _plain_blocks(data)
    if plain is not None:
        return PemSplit(plain, ())
    ends: dict[str, list[int]] = {}
    end_after: dict[int, int] = {}
    for offset, label, after in _markers(data, _END):
        ends.setdefault(label, []).append(offset)
        end_after[offset] = after
    blocks: list[PemBlock] = []
    truncated: list[str] = []
    consumed = 0
    for offset, label, after in _markers(data, _BEGIN):
        if offset < consumed:
            continue
        candidates = ends.get(label, [])
        index = bisect.bisect_left(candidates, after)
        if index == len(candidates):
            # a quoted marker mid-line ("-----BEGIN ..." in code or docs) is not a truncated block
            if _at_line_start(data, offset):
                truncated.append(label)
            continue
        end = end_after[candidates[index]]
        blocks.append(PemBlock(label, offset, end))
        consumed = end
    return PemSplit(tuple(blocks), tuple(truncated))


def _plain_blocks(data: bytes) -> tuple[PemBlock, ...] | None:
    """The blocks of the common file (it opens with a BEGIN marker, and every "-----" in it is a
    marker of its blocks, each BEGIN followed by its own END); None for any other file.

    What ``split`` finds in such a file, without indexing every marker: no "-----" lies in a body
    or between blocks, so no other marker can open, close or hide a block, and none is truncated.
    Text between blocks (no "-----" in it) is no marker either, as for ``split``.
    """
    blocks: list[PemBlock] = []
    position = 0
    while True:
        if not data.startswith(_BEGIN, position):
            return None
        label = _label_at(data, position + len(_BEGIN))
        if label is None:
            return None
        name, after = label
        # the first "-----" after the BEGIN marker must open its END: the body is scanned once
        close = data.find(_DASHES, after)
        marker = _END + name.encode("ascii") + _DASHES
        if close < 0 or not data.startswith(marker, close):
            return None
        end = close + len(marker)
        blocks.append(PemBlock(name, position, end))
        position = data.find(_DASHES, end)
        if position < 0:
            return tuple(blocks)


_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WHITESPACE = b" \t\r\f\v"
# what is left of a line once its base64, padding and whitespace are deleted: the bad bytes
_SOUND = _BASE64 + b"=" + _WHITESPACE


def body_fault(block: bytes, begin_line: int, *, show: bool) -> str | None:
    """Why a block's body is not base64, in plain words with the line of the first bad character
    (``begin_line`` is the BEGIN marker's line in the file); None when its base64 is sound.

    cryptography says "Unable to load PEM file. See https://... InvalidData(InvalidByte(15, 59))".
    With ``show`` false (a private key's block) the character is named by its class, never echoed.
    Lines holding ':' are RFC 1421 headers (Proc-Type, DEK-Info), as ``_pem_body`` reads them.
    """
    first = block.find(b"\n")
    close = block.rfind(_END)
    if first < 0 or close <= first:
        # BEGIN and END on one line (botocore's examples: "-----BEGIN CERTIFICATE-----<certificate-body>
        # -----END CERTIFICATE-----" in a JSON string): the body is what lies between the markers
        opened = block.find(_DASHES, len(_BEGIN))
        if opened < 0 or close < opened + len(_DASHES):
            return None
        body, start = block[opened + len(_DASHES) : close], begin_line
    else:
        body, start = block[first + 1 : close], begin_line + 1
    count = 0
    padded_at: int | None = None  # the line of the first '=': padding ends the base64
    # bytes.translate per line, not a loop per byte: this runs on every unreadable block of a sweep
    for number, line in enumerate(body.split(b"\n"), start=start):
        if b":" in line:
            continue
        bad = line.translate(None, _SOUND)
        if bad:
            return f"its body is not base64 (line {number}: {_character(bad[0], show=show)})"
        text = line.translate(None, _WHITESPACE)
        count += len(text)
        if padded_at is None and b"=" in text:
            padded_at, text = number, text[text.index(b"=") :]
        if padded_at is not None and text.strip(b"="):
            return f"its body is not base64 ('=' padding before its end, line {padded_at})"
    if count == 0:
        return "its body is empty"
    if count % 4:
        return f"its body is not base64 (cut short: {plural(count, 'character')}, not a multiple of 4)"
    return None


def _character(byte: int, *, show: bool) -> str:
    """A bad byte as the reader needs it: the character itself, or only its class."""
    if show:
        return repr(chr(byte)) if 0x20 <= byte < 0x7F else f"byte 0x{byte:02x}"
    if byte >= 0x80:
        return "a non-ASCII byte"
    if byte < 0x20 or byte == 0x7F:
        return "a control character"
    return "a punctuation character"

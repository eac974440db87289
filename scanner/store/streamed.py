"""A report a scan hands the store in pieces, so that a save never holds the whole report.

``rows.derive`` takes the report's bytes and values whole: for a 100,000-file scan 310 MB of bytes,
their values and every row at once, on top of the scan's own inventory (docs/fleet.md). A scan that
still has its result gives the store a :class:`ReportSource` instead, and the store reads it twice:

1. :func:`read`: the bytes in order, once, for the report's digests, its head and its body's chunks
   (those ``bodies.chunk_bounds`` cuts), each chunk compressed unless the store holds it already;
   in line, or in a forked process while the rows are derived (``scanner.store.read_aside``);
2. :class:`Buckets`: each kind's rows a bucket at a time, from the items of that bucket alone.

The digests, chunks and rows are those ``rows.derive`` gives for the joined bytes (the tests hold
them equal). A report the pieces cannot serve that way (:func:`read` says None, or
:class:`NotInPieces`: a value that does not read back from the bytes as it is, no body to split
off) is saved whole, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Protocol

from scanner.store import deflate
from scanner.store import rows as R
from scanner.store.bodies import Chunker

# chunks whose digests are looked up in the store in one query
_LOOKUP = 64
# compressions under way at once: the chunks waiting for one are held uncompressed (~180 kB each)
_IN_FLIGHT = 32
# a report of up to this many assets is small: a re-scan's save may take it whole (its bytes and
# values, ~4 kB per asset) and a first save may read it aside (read_aside.py, ~1.5 kB per asset)
SMALL_REPORT_ASSETS = 50_000
# the last bytes of the text so far, for what a piece may cut in two (\\udXXX, "scan")
_TAIL = 8


class ReportSource(Protocol):
    """A JSON report as its renderer has it (``scanner.reporting.json_report.ReportPieces``)."""

    def pieces(self) -> Iterable[tuple[bytes, object, bool]]:
        """The report's bytes in order, each piece with the value it encodes (None: punctuation) and
        whether that is a run of items of "assets", "relations" or "findings"."""

    def member(self, name: str) -> Any:
        """A member of the report other than its lists of items: "scan", "summary"."""

    def keys(self, items: str) -> Sequence[str]:
        """Each item of "assets", "relations" or "findings" by what its rows are bucketed by, in the
        report's order: an asset's id, a relation's source, a finding's asset."""

    def items(self, items: str, indices: Sequence[int]) -> Sequence[Mapping[str, Any]]:
        """Those items' values, as the report has them."""

    def objects(self, items: str, indices: Sequence[int]) -> Sequence[Any] | None:
        """Those items as the scan's objects their values are made of, when each value holds what
        ``rows.OBJECT_ROWS`` reads from the object and nothing else (an asset, a relation); else
        None, and the rows are read from :meth:`items`."""

    def whole(self) -> tuple[bytes, Mapping[str, Any]]:
        """The report's bytes and the values they were rendered from, at once."""


@dataclass(frozen=True, slots=True)
class Read:
    """What one pass over a report's bytes gives a save."""

    content_digest: str
    body_digest: str
    head: bytes  # the bytes before the body
    head_values: Mapping[str, Any]  # the head parsed
    # the body's chunks by digest, in order, each being compressed, or None when the store held it
    # already (a stored body part is never deleted); one chunk: the body stored whole under its digest
    chunks: tuple[tuple[str, Future[bytes] | None], ...]
    text: Callable[[Any], str]  # how the report's strings become plain column text


def read(
    source: ReportSource, stored: Callable[[Sequence[str]], set[str]], aside: Executor, items: bool = True
) -> Read | None:
    """One pass over the report's bytes; None when the pieces cannot stand for them (see module).

    ``stored`` says which of some digests the store holds; chunks not among them are compressed by
    ``aside`` while the next pieces are read. Without ``items`` the runs of items are not walked
    for values that do not read back alike (:class:`Buckets` walks them, if the rows are derived:
    a re-scan whose body is stored derives none).
    """
    if not R.HAS_ORJSON:
        return None
    content, body = hashlib.sha256(), hashlib.sha256()
    head = bytearray()
    in_body, surrogates = False, False
    tail = b""
    chunker = Chunker()
    chunks = _Chunks(stored, aside)
    for data, value, run in source.pieces():
        if (items or not run) and not R.plain_within_limits(value):
            return None
        # the digests are taken in ``aside`` (in order: one thread), which lets go of the GIL
        aside.submit(content.update, data)
        # what a piece may cut in two is looked for where it joins the last one, the rest in the piece
        seam = tail + data[:_TAIL]
        tail = (tail + data)[-_TAIL:] if len(data) < _TAIL else data[-_TAIL:]
        surrogates = surrogates or R.may_hold_surrogate(data) or R.may_hold_surrogate(seam)
        if not in_body:
            head += data
            at = head.find(R.BODY_START)
            if at < 0:
                continue
            in_body, data = True, bytes(head[at:])
            del head[at:]
            seam = b""
        if b'"scan"' in data or b'"scan"' in seam:
            return None  # a body with a "scan" of its own (split_head): saved whole
        aside.submit(body.update, data)
        chunks.add(chunker.feed(data))
    head_values = R.parse_head(bytes(head), len(head))
    if not in_body or head_values is None:
        return None
    chunks.add(chunker.finish())
    return Read(
        content_digest=aside.submit(content.hexdigest).result(),
        body_digest=aside.submit(body.hexdigest).result(),
        head=bytes(head),
        head_values=head_values,
        chunks=chunks.done(),
        text=R.valid_text if surrogates else str,
    )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Chunks:
    """The body's chunks as they are cut: looked up in the store a few at a time, the new ones compressed aside."""

    def __init__(self, stored: Callable[[Sequence[str]], set[str]], aside: Executor) -> None:
        self._stored = stored
        self._aside = aside
        self._waiting: list[tuple[Future[str], bytes]] = []  # each chunk's digest, being taken aside
        self._chunks: list[tuple[str, Future[bytes] | None]] = []
        self._compressing: list[Future[bytes]] = []

    def add(self, cut: Iterable[bytes]) -> None:
        for chunk in cut:
            self._waiting.append((self._aside.submit(_digest, chunk), chunk))
            if len(self._waiting) >= _LOOKUP:
                self._look_up()

    def _look_up(self) -> None:
        waiting = [(digest.result(), chunk) for digest, chunk in self._waiting]
        found = self._stored([digest for digest, _ in waiting])
        for digest, chunk in waiting:
            if digest in found:
                self._chunks.append((digest, None))
                continue
            self._compressing = [f for f in self._compressing if not f.done()]
            if len(self._compressing) >= _IN_FLIGHT:
                self._compressing.pop(0).result()
            compressed = self._aside.submit(deflate.compress, chunk)
            self._compressing.append(compressed)
            self._chunks.append((digest, compressed))
        self._waiting = []

    def done(self) -> tuple[tuple[str, Future[bytes] | None], ...]:
        """Every chunk, the last ones still compressing (the rows are derived meanwhile)."""
        self._look_up()
        return tuple(self._chunks)


def columns(source: ReportSource, text: Callable[[Any], str]) -> dict[str, Any]:
    """The scan row's columns, as ``rows.derive`` gives them for the joined bytes (``text``: the
    report's, :attr:`Read.text`, or :func:`text`)."""
    report = {
        "scan": source.member("scan"),
        "summary": source.member("summary"),
        "assets": source.keys("assets"),
        "findings": source.keys("findings"),
    }
    return R.report_columns(report, text, R.compact_fast)


class NotInPieces(Exception):
    """The report holds what its pieces cannot stand for (a value that does not read back from its
    bytes as it is): it is saved whole."""


class Buckets:
    """Each kind's rows a bucket at a time (``rows.manifest``'s buckets), each bucket derived from
    its own items only. The items of a list are split into buckets once (assets: for their rows and
    their locations'). With ``walk`` each list's items are walked as :func:`read` walks them, and
    one that does not read back alike raises :class:`NotInPieces`."""

    def __init__(self, source: ReportSource, text: Callable[[Any], str], buckets: int, walk: bool) -> None:
        self._source = source
        self._text = text
        self._buckets = buckets
        self._walk = walk
        self._known: dict[str, int] = {}  # each key's bucket, as rows.manifest keeps it
        self._splits: dict[str, dict[int, list[int]]] = {}

    def sets(self, kind: str) -> Iterator[R.RowSet]:
        """The kind's non-empty buckets, by number."""
        items = R.ITEMS[kind]
        split = self._splits.get(items)
        if split is None:
            keys = list(map(self._text, self._source.keys(items)))
            split = self._splits[items] = R.group(range(len(keys)), keys.__getitem__, self._buckets, self._known)
        make = R.ROWS[kind]
        from_objects = R.OBJECT_ROWS.get(kind)
        walk = self._walk and kind == items  # an asset's locations were walked with it
        for number in sorted(split):
            # read from the objects where the source has them: no item built for a row (15-20% of the rows' CPU)
            if from_objects is not None and (found := self._source.objects(items, split[number])) is not None:
                make_of, plain = from_objects
                if walk and not plain(found):
                    raise NotInPieces
                rows = make_of(found, self._text, R.compact_fast)
            else:
                values = self._source.items(items, split[number])
                if walk and not R.plain_within_limits(values):
                    raise NotInPieces
                rows = make(values, self._text, R.compact_fast)
            if rows:
                yield R.RowSet(kind, R.set_digest(kind, rows), rows, bucket=number)


# a string as a text column takes it, told string by string (rows.valid_text: an ASCII str as it
# is); read() tells it for the whole report at once (str unless the text holds a lone surrogate
# anywhere): the two agree on every string, as rows._valid changes nothing but lone surrogates
text = R.valid_text

"""A JSON report as the rows a store keeps, and the digests that chain them.

Both backends write exactly these tuples and ``verify`` recomputes the digests from what it reads
back, so the row values are plain text and integers (no floats, no booleans, no JSON types that a
database would normalise differently).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from scanner.compat import StrEnum, StrEnum310
from scanner.inventory.model import Asset, Relation
from scanner.store.interface import StoreError

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; without it every value takes the json path
    orjson = None  # type: ignore[assignment]
# without orjson no value takes the fast encoders, and a streamed save reads the report whole
HAS_ORJSON = orjson is not None

# the columns of the views readers query (a scan's rows); a row set's table has set_key for scan_id
ASSET_COLUMNS = ("scan_id", "asset_id", "type", "properties")
LOCATION_COLUMNS = ("scan_id", "asset_id", "kind", "ref", "detail")
RELATION_COLUMNS = ("scan_id", "source", "target", "type")
FINDING_COLUMNS = ("scan_id", "finding_id", "rule_id", "severity", "category", "asset_id", "waived", "deadline", "data")
# kind (also the name of the view of a scan's rows) -> (its row sets' table, the columns after the first)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "assets": ("asset_sets", ASSET_COLUMNS[1:]),
    "locations": ("location_sets", LOCATION_COLUMNS[1:]),
    "relations": ("relation_sets", RELATION_COLUMNS[1:]),
    "findings": ("finding_sets", FINDING_COLUMNS[1:]),
}
# how a scan's rows_digest is formed: over its rows with their scan id (schema 2, scans saved before
# row sets), or over the ids of its row sets, each the digest of its rows (schema 3)
ROWS_FORM_ROWS = 2
ROWS_FORM_SETS = 3
# schema 5: the same digest over the kinds' manifests, each naming the buckets that hold the rows
ROWS_FORM_BUCKETS = 5
# the column of a kind's row (after the scan id) that picks its bucket: the asset it is about, so
# that a changed file's rows land in the same few buckets of every kind (a relation: its source)
BUCKET_KEY = {"assets": 0, "locations": 0, "relations": 0, "findings": 4}
# buckets per kind: one changed file rewrites about 1/BUCKETS of each kind's rows, and every new
# manifest names up to BUCKETS buckets (docs/fleet.md has the measurements behind the number)
BUCKETS = 1024
# the scan columns the chain digest covers (besides the digests themselves)
SCAN_FIELDS = (
    "id",
    "scope",
    "scope_seq",
    "host",
    "started_at",
    "finished_at",
    "targets_key",
    "targets",
    "assets",
    "findings",
    "open_findings",
    "readiness",
    "by_severity",
)

Row = tuple[Any, ...]


# the column predates "not assessed"; this value stands for a scan without a readiness figure
NOT_ASSESSED = -1


def targets_key(targets: Iterable[str], projection: bool = False) -> str:
    """Scans of the same set of targets (in any order) share a key: that is what a trend compares.

    A projection (evaluated as of another day) gets a key of its own, so that it is never a point
    in the trend of real scans, even when it was saved on purpose.
    """
    text = "\n".join(sorted(set(targets)))
    keyed = ("projection\n" + text) if projection else text
    return hashlib.sha256(keyed.encode("utf-8", "surrogateescape")).hexdigest()


# one encoder for every row: json.dumps with options builds a new encoder on each call
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _valid(text: str) -> str:
    """Text a database accepts: a lone surrogate (an undecodable file-name byte, PEP 383) becomes ``\\udcXX``.

    Neither SQLite nor PostgreSQL stores a lone surrogate. In a JSON column the six characters are
    the JSON escape, so ``json.loads`` gives the exact name back; in a plain column they show the
    name as HTML and CSV reports do (docs/reports.md).
    """
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _compact(value: Any) -> str:
    return _valid(_ENCODER.encode(value))


def compact_fast(value: Any) -> str:
    """:func:`_compact`'s text, several times faster, for a value that holds no float (see :func:`_parse`).

    For str keys and str, int, bool, None, list and dict values orjson with sorted keys writes what
    the json encoder above writes (the same escapes, non-ASCII as it is, keys in code point order).
    What it would write differently or not at all it refuses (a lone surrogate, an integer past 64
    bits, nesting past its limit), and that value takes the json path. A float it would write
    differently (``0.00001`` for ``1e-05``) without refusing it: it is never handed one.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return _compact(value)


def valid_text(value: Any) -> str:
    """``value`` as a text column takes it (:func:`_valid`). A str of ASCII holds no surrogate and is
    itself (``isascii`` reads a flag: O(1)): one undecodable file name anywhere in a report sends every
    string of it here, and encoding each one out and back cost ~0.6 s of a whole host's save."""
    if type(value) is str and value.isascii():
        return value
    return _valid(str(value))


def may_hold_surrogate(text: bytes) -> bool:
    """Whether JSON text may hold a lone surrogate: a surrogate's first UTF-8 byte, or its escape
    (the one-byte searches at memchr speed, the others only where the text has escapes at all)."""
    return b"\xed" in text or (b"\\" in text and (b"\\ud" in text or b"\\uD" in text))


def _parse(
    report_json: bytes, values: Mapping[str, Any] | None = None
) -> tuple[Any, Callable[[Any], str], Callable[[Any], str]]:
    """The report; how its values become JSON column text; how its strings become plain column text.

    ``values``, the report the bytes were rendered from, stands for the parse when every value in
    it reads back from the bytes as it is (:func:`_plain`): then no float, and the fast encoders.
    Otherwise the json module parses (it keeps an integer past 64 bits exact where orjson gives a
    float) and notes any float on the way: orjson writes the JSON columns of a report without
    floats. Text without a surrogate escape (``\\udXXX``) and without the byte an encoded surrogate
    starts with has no lone surrogate in any string: its strings need no :func:`_valid`.
    """
    surrogates = json.detect_encoding(report_json) not in {"utf-8", "utf-8-sig"} or may_hold_surrogate(report_json)
    text = valid_text if surrogates else str
    if values is not None and orjson is not None and plain_within_limits(values):
        return values, compact_fast, text
    floats = False

    def note_float(text: str) -> float:
        nonlocal floats
        floats = True
        return float(text)

    # NaN and Infinity reach parse_constant, not parse_float; float() reads those three names alike
    report = json.loads(report_json, parse_float=note_float, parse_constant=note_float)
    return report, _compact if floats or orjson is None else compact_fast, text


# the __str__ of str, and of StrEnum on every Python keysweep runs on: each gives the string itself
_TEXT_STR: frozenset[Any] = frozenset({str.__str__, StrEnum.__str__, StrEnum310.__str__})
# the types of values that are plain as they are; a str subclass whose str() is its text joins when met
_LEAVES: set[type] = {str, int, bool, type(None)}


def plain_within_limits(value: Any) -> bool:
    """:func:`_plain`; False for values nested deeper than Python recurses (the parse says the rest)."""
    try:
        return _plain(value)
    except RecursionError:
        return False


def _plain(value: Any) -> bool:
    """Whether ``value`` is what parsing its JSON text gives back, as every row takes it.

    That is str, int, bool and None, and dicts (str keys), lists and tuples of them; a str subclass
    whose str() is its text (a StrEnum). Not a float: orjson and the json module write some floats
    differently (``0.00001``, ``1e-05``). Nor any other type: a report writes a datetime, a
    dataclass or an Enum through ``default=str`` as a string, which a row would write otherwise.
    """
    # shaped for speed: a 20,000-file report holds ~1.8 million values
    leaves = _LEAVES
    kind = type(value)
    if kind in leaves:
        return True
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str or (type(item) not in leaves and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110 - a loop, not all(): no generator per list
            if type(item) not in leaves and not _plain(item):
                return False
        return True
    if isinstance(value, str) and kind.__str__ in _TEXT_STR:
        leaves.add(kind)
        return True
    return False


@dataclass(frozen=True, slots=True)
class RowSet:
    """The rows of one kind of one scan, without the scan id: what scans with the same rows share.

    A scan saved by schema 5 names a *manifest* per kind: its id is :func:`manifest_digest` of its
    buckets, each a row set of its own (the rows whose key falls in it, :func:`bucket_of`), stored
    once however many manifests name it. A scan saved by schema 3 named one set holding every row.
    """

    kind: str  # a key of KINDS
    # a manifest's digest, the digest of the rows (set_digest), or for rows from before schema 3 one of their own
    set_id: str
    rows: list[Row]  # every row of the kind (empty when the set was found stored)
    buckets: tuple[RowSet, ...] = ()  # a manifest's buckets, the non-empty ones, by number
    bucket: int = -1  # a bucket's number (bucket_of its rows' key), the order a store registers them in
    row_count: int = -1  # how many rows the set holds, when they are not in rows (a streamed save's manifest)

    def count(self) -> int:
        return len(self.rows) if self.row_count < 0 else self.row_count


@dataclass(frozen=True, slots=True)
class ScanRows:
    scan: dict[str, Any]  # SCAN_FIELDS except scope_seq, which the store assigns under its lock
    content_digest: str
    # one per kind, in KINDS' order; rows are empty when the sets were found already stored
    sets: tuple[RowSet, ...]
    # the digest of the report from its "assets" key on (body_digest), "" when that cannot be told
    body_digest: str
    # computed once, as the rows are derived: before a store takes its write lock, not under it
    rows_digest: str
    # the sets were found stored (named by a scan with the same body): no rows to write
    reused: bool = False
    # how rows_digest is formed: over manifests of buckets, or (a store not yet at schema 5) whole sets
    rows_form: int = ROWS_FORM_BUCKETS

    def rows(self, kind: str) -> list[Row]:
        return self.sets[list(KINDS).index(kind)].rows


def _scan_columns(
    report: Mapping[str, Any], text: Callable[[Any], str], compact: Callable[[Any], str]
) -> dict[str, Any]:
    """The scan row's columns that the report's head (its "scan" object) gives."""
    scan = report["scan"]
    targets = [str(t) for t in scan["targets"]]
    return {
        "id": text(scan["id"]),
        # reports written before scopes existed: their host was their scope
        "scope": text(scan.get("scope") or scan.get("host") or ""),
        "host": text(scan.get("host") or ""),
        "started_at": str(scan["started_at"]),
        "finished_at": str(scan["finished_at"]),
        "targets_key": targets_key(targets, bool(scan.get("projection"))),
        "targets": compact(targets),
    }


_FINDING_ORDER = itemgetter(FINDING_COLUMNS.index("data") - 1)

# the columns the rest of the report gives: equal for equal bodies
BODY_COLUMNS = ("assets", "findings", "open_findings", "readiness", "by_severity")
BODY_START = b',"assets":'


def body_start(report_json: bytes) -> int:
    """Where the report's body would start (its first ``,"assets":``), -1 if nowhere; see :func:`split_head`."""
    return report_json.find(BODY_START)


def split_head(report_json: bytes, at: int | None = None) -> Mapping[str, Any] | None:
    """The report's head, parsed, when its body (the bytes from ``at``, :func:`body_start`) decides the rest.

    keysweep writes "schema_version", "tool" and "scan" before "assets". A quote in JSON text is
    either escaped or a string's delimiter, so the first ``,"assets":`` is a key; it is the report's
    own when the bytes before it, closed with ``}``, are a whole JSON object, and the body then
    decides every row and the columns in BODY_COLUMNS (its keys come last and win over any in the
    head). A body with a "scan" of its own would override the head's: no split then (None).
    """
    at = body_start(report_json) if at is None else at
    if at < 0 or report_json.find(b'"scan"', at) >= 0:
        return None
    return parse_head(report_json, at)


def parse_head(report_json: bytes, at: int) -> Mapping[str, Any] | None:
    """:func:`split_head` without looking through the body for a "scan": for a body known to have
    none (one a stored scan names by its digest was split on its first save), a search of the
    whole body saved on every re-save."""
    if at < 0:
        return None
    try:
        head = json.loads(report_json[:at] + b"}")
    except ValueError:
        return None
    if not isinstance(head, dict) or not isinstance(head.get("scan"), Mapping):
        return None
    return head


def body_digest(report_json: bytes, at: int) -> str:
    # a view: the body is most of the report, not worth a copy
    return hashlib.sha256(memoryview(report_json)[at:]).hexdigest()


def head_columns(head: Mapping[str, Any]) -> dict[str, Any]:
    """The head's scan columns, as :func:`derive` writes them for any report with this head.

    derive's text for a string is ``str`` or :func:`valid_text`, which agree on a string without a
    lone surrogate; the json encoder writes a list of strings as either of derive's encoders does.
    """
    try:
        return _scan_columns(head, valid_text, _compact)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"not a keysweep JSON report: {type(exc).__name__}: {exc}") from None


# what reading a report that is not a keysweep JSON report raises
_NOT_A_REPORT = (ValueError, KeyError, TypeError, AttributeError, AssertionError)


def _not_a_report(exc: Exception) -> StoreError:
    return StoreError(f"not a keysweep JSON report: {type(exc).__name__}: {exc}")


def report_columns(
    report: Mapping[str, Any], text: Callable[[Any], str], compact: Callable[[Any], str]
) -> dict[str, Any]:
    """The scan row's columns (SCAN_FIELDS but scope_seq): the head's and the summary's."""
    summary = report["summary"]
    by_severity = {str(k): int(v) for k, v in summary["by_severity"].items()}
    columns = _scan_columns(report, text, compact)
    columns.update(
        {
            "assets": len(report["assets"]),
            "findings": len(report["findings"]),
            "open_findings": sum(by_severity.values()),
            "readiness": NOT_ASSESSED if summary["readiness"]["score"] is None else int(summary["readiness"]["score"]),
            "by_severity": compact(by_severity),
        }
    )
    return columns


def asset_rows(
    assets: Iterable[Mapping[str, Any]], text: Callable[[Any], str], compact: Callable[[Any], str]
) -> list[Row]:
    return [(text(a["id"]), str(a["type"]), compact(a.get("properties", {}))) for a in assets]


def location_rows(
    assets: Iterable[Mapping[str, Any]], text: Callable[[Any], str], compact: Callable[[Any], str] | None = None
) -> list[Row]:
    return [
        (text(a["id"]), str(loc["kind"]), text(loc["ref"]), text(loc.get("detail", "")))
        for a in assets
        for loc in a.get("locations", ())
    ]


def relation_rows(
    relations: Iterable[Mapping[str, Any]], text: Callable[[Any], str], compact: Callable[[Any], str] | None = None
) -> list[Row]:
    return [(text(r["source"]), text(r["target"]), str(r["type"])) for r in relations]


def finding_rows(
    findings: Iterable[Mapping[str, Any]], text: Callable[[Any], str], compact: Callable[[Any], str]
) -> list[Row]:
    return [
        (
            str(f["id"]),
            str(f["rule_id"]),
            str(f["severity"]),
            str(f["category"]),
            text(f["asset_id"]),
            0 if f.get("waived") is None else 1,
            None if f.get("deadline") is None else str(f["deadline"]),
            compact(f),
        )
        for f in findings
    ]


def asset_rows_of(assets: Iterable[Asset], text: Callable[[Any], str], compact: Callable[[Any], str]) -> list[Row]:
    """:func:`asset_rows` of the JSON report's items for these assets, read from the assets (no item built)."""
    return [(text(a.id), str(a.type), compact(a.properties)) for a in assets]


def location_rows_of(
    assets: Iterable[Asset], text: Callable[[Any], str], compact: Callable[[Any], str] | None = None
) -> list[Row]:
    """:func:`location_rows` of the report's items for these assets (an item leaves out an empty detail)."""
    return [(text(a.id), str(loc.kind), text(loc.ref), text(loc.detail or "")) for a in assets for loc in a.locations]


def relation_rows_of(
    relations: Iterable[Relation], text: Callable[[Any], str], compact: Callable[[Any], str] | None = None
) -> list[Row]:
    """:func:`relation_rows` of the report's items for these relations."""
    return [(text(r.source), text(r.target), str(r.type)) for r in relations]


def plain_assets(assets: Iterable[Asset]) -> bool:
    """Whether the report's items for these assets (id, type, properties, locations; no systems)
    are plain (:func:`plain_within_limits`), told from the assets. A falsy detail or scope, which
    an item leaves out, is looked at too: what it cannot tell is taken as not plain."""
    leaves = _LEAVES  # a StrEnum joins at its first _plain: after it, one set lookup per field
    try:
        for a in assets:
            if not _plain(a.properties):
                return False
            if (type(a.id) not in leaves or type(a.type) not in leaves) and not (_plain(a.id) and _plain(a.type)):
                return False
            for loc in a.locations:
                kind, ref, detail, scope = loc.kind, loc.ref, loc.detail, loc.scope
                if not (
                    type(ref) in leaves and type(kind) in leaves and type(detail) in leaves and type(scope) in leaves
                ) and not _plain((kind, ref, detail, scope)):
                    return False
    except RecursionError:
        return False
    return True


def plain_relations(relations: Iterable[Relation]) -> bool:
    """:func:`plain_assets` for relations: their items are source, target and type."""
    leaves = _LEAVES
    for r in relations:
        source, target, kind = r.source, r.target, r.type
        if not (type(source) in leaves and type(target) in leaves and type(kind) in leaves) and not _plain(
            (source, target, kind)
        ):
            return False
    return True


# each kind's rows read from the scan's objects a report's items are made of (a report source's
# ``objects``), and whether those items are plain; a kind without: from the items themselves
OBJECT_ROWS: dict[str, tuple[Callable[..., list[Row]], Callable[[Any], bool]]] = {
    "assets": (asset_rows_of, plain_assets),
    "locations": (location_rows_of, plain_assets),
    "relations": (relation_rows_of, plain_relations),
}

# each kind's rows from the report's items of it (an asset's locations for "locations"), and
# the report's list those items are in
ROWS: dict[str, Callable[[Iterable[Mapping[str, Any]], Callable[[Any], str], Callable[[Any], str]], list[Row]]] = {
    "assets": asset_rows,
    "locations": location_rows,
    "relations": relation_rows,
    "findings": finding_rows,
}
ITEMS = {"assets": "assets", "locations": "assets", "relations": "relations", "findings": "findings"}


def _kind_rows(
    report: Mapping[str, Any], text: Callable[[Any], str], compact: Callable[[Any], str]
) -> Iterator[list[Row]]:
    """Each kind's rows, in KINDS' order, each as soon as it is read (a store writes one kind's
    while the next is derived); a report that is not a keysweep JSON report is a StoreError.

    One ``try`` covers every kind: what the caller raises between kinds is never thrown in here (a
    generator left unfinished is closed with GeneratorExit, which it does not catch)."""
    try:
        for kind in KINDS:
            yield ROWS[kind](report[ITEMS[kind]], text, compact)
    except _NOT_A_REPORT as exc:
        raise _not_a_report(exc) from None


def derive(
    report_json: bytes,
    *,
    content_digest: str | None = None,
    body: str | None = None,
    buckets: int | None = BUCKETS,
    parsed: Callable[[Mapping[str, Any]], object] | None = None,
    each: Callable[[RowSet], object] | None = None,
    values: Mapping[str, Any] | None = None,
) -> ScanRows:
    """The rows of one report; a report that is not a keysweep JSON report is a StoreError.

    Each kind's rows are a manifest of that many buckets; with ``buckets=None`` one set per kind,
    as schema 3 and 4 stored them (rows_form 3).

    The bytes are parsed here unless ``values``, the report they were rendered from, holds only
    what reads back from them as it is (:func:`_plain`): the parse is what tells whether the fast
    encoders write the json module's text, and costs less than the slow encoders. A caller
    that has the report's digest or its body's (:func:`body_digest`; "" when :func:`split_head`
    finds no body) passes them: each costs a pass over the bytes.

    A caller may start work as the rows come: ``parsed`` is called with the scan's columns once the
    report is parsed, ``each`` with each kind's set (in KINDS' order) as soon as it is derived.
    What they raise is theirs (never taken for a report that is not one).
    """
    try:
        report, compact, text = _parse(report_json, values)
        assert isinstance(report, Mapping)
        columns = report_columns(report, text, compact)
    except _NOT_A_REPORT as exc:
        raise _not_a_report(exc) from None
    if parsed is not None:
        parsed(columns)
    if body is None:
        at = body_start(report_json)
        body = "" if split_head(report_json, at) is None else body_digest(report_json, at)
    known: dict[str, int] = {}
    sets: list[RowSet] = []
    for kind, rows in zip(KINDS, _kind_rows(report, text, compact), strict=True):
        row_set = (
            RowSet(kind, set_digest(kind, rows), rows) if buckets is None else manifest(kind, rows, buckets, known)
        )
        if each is not None:
            each(row_set)
        sets.append(row_set)
    return ScanRows(
        scan=columns,
        content_digest=content_digest or hashlib.sha256(report_json).hexdigest(),
        sets=tuple(sets),
        body_digest=body,
        rows_digest=sets_digest(body, [s.set_id for s in sets]),
        rows_form=ROWS_FORM_SETS if buckets is None else ROWS_FORM_BUCKETS,
    )


def set_digest(kind: str, rows: Iterable[Row]) -> str:
    """A row set's id: the digest of its kind and its rows in canonical order (a database returns
    them in any order).

    The order is the rows' own (their columns are text), for findings their ``data`` (the whole
    finding as JSON; ``deadline`` may be NULL, which does not compare with text). orjson writes the
    sorted rows as one JSON array, unambiguous and quick; the repr of the list stands in where it
    refuses a value (a lone surrogate in a plain column), the same way every time.
    """
    ordered = sorted(rows, key=_FINDING_ORDER) if kind == "findings" else sorted(rows)
    try:
        if orjson is None:
            raise TypeError("no orjson")
        text = orjson.dumps(ordered)
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        text = b"repr:" + repr(ordered).encode("utf-8", "backslashreplace")
    return hashlib.sha256(kind.encode() + b"\x1e" + text).hexdigest()


def bucket_of(key: str, buckets: int) -> int:
    """The bucket of a row by its key column: a stable hash (not Python's, which varies by process)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % buckets


def manifest(kind: str, rows: list[Row], buckets: int = BUCKETS, known: dict[str, int] | None = None) -> RowSet:
    """A kind's rows as a manifest of buckets, each a row set digested on its own.

    ``known`` keeps each key's bucket for the next kind: the kinds' rows name the same assets.
    """
    known = {} if known is None else known
    split = group(rows, itemgetter(BUCKET_KEY[kind]), buckets, known)
    # by number: the order every writer registers them in (the manifest's digest sorts their ids)
    parts = tuple(
        RowSet(kind, set_digest(kind, split[number]), split[number], bucket=number) for number in sorted(split)
    )
    return RowSet(kind, manifest_digest(kind, [p.set_id for p in parts]), rows, parts)


def group(items: Iterable[Any], key: Callable[[Any], str], buckets: int, known: dict[str, int]) -> dict[int, list[Any]]:
    """The items by the bucket of their key (``known`` caches each key's bucket), in their order."""
    split: dict[int, list[Any]] = {}
    for item in items:
        name = key(item)
        bucket = known.get(name)
        if bucket is None:
            bucket = known[name] = bucket_of(name, buckets)
        part = split.get(bucket)
        if part is None:
            split[bucket] = [item]
        else:
            part.append(item)
    return split


def manifest_digest(kind: str, bucket_ids: Iterable[str]) -> str:
    """A manifest's id: its kind and its buckets' ids in any order (never a row set's id: another prefix)."""
    text = "\n".join(sorted(bucket_ids))
    return hashlib.sha256(b"manifest\x1e" + kind.encode() + b"\x1e" + text.encode()).hexdigest()


def sets_digest(body: str, set_ids: Sequence[str]) -> str:
    """A scan's rows_digest from schema 3 on: its body digest and the ids it names per kind, in KINDS'
    order (row sets for rows_form 3, manifests for rows_form 5)."""
    return hashlib.sha256(_compact(["row-sets", body, *set_ids]).encode()).hexdigest()


def rows_digest(*tables: Sequence[Row]) -> str:
    """Schema 2's order-independent digest of a scan's rows, each with its scan id first."""
    digest = hashlib.sha256()
    for table in tables:
        digest.update(b"\x1e")
        # repr of a tuple of str, int and None is canonical, unambiguous and quick
        for text in sorted(repr(tuple(row)) for row in table):
            digest.update(text.encode())
            digest.update(b"\n")
    return digest.hexdigest()


def scan_rows(scan_id: str, rows: Iterable[Row]) -> list[Row]:
    """Rows of a set as a scan's rows (schema 2's tables, the views): the scan id first."""
    return [(scan_id, *row) for row in rows]


def chain_digest(scan: Mapping[str, Any], content_digest: str, rows: str, previous: str) -> str:
    """The link of one scan in its scope's chain: its row, its content, its rows and the previous link."""
    fields = [scan[name] for name in SCAN_FIELDS]
    return hashlib.sha256(_compact([previous, *fields, content_digest, rows]).encode()).hexdigest()

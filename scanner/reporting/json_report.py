"""The JSON report (schema_version "1"), the contract that scripts and `keysweep diff` read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any, ClassVar

from scanner import __version__
from scanner.inventory import jsonio
from scanner.inventory.model import Asset, CollectionError, Finding, Location, Relation, ScanResult, iso_time
from scanner.inventory.summary import is_projection, summarize
from scanner.reporting.output import write_output_chunks
from scanner.reporting.tee import ReportTee

SCHEMA_VERSION = "1"
# list items encoded per call when the report is streamed: ~0.5 MB pieces, few enough calls to
# cost nothing measurable, small enough that no piece of a 500k-asset report is big
CHUNK_ITEMS = 1000


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity,
        "category": f.category,
        "asset_id": f.asset_id,
        "message": f.message,
        "evidence": f.evidence,
        "references": list(f.references),
        "policies": list(f.policies),
        "requirements": list(f.requirements),
        "remediation": f.remediation,
        "waived": None
        if f.waived is None
        else {"reason": f.waived.reason, "owner": f.waived.owner, "expires": f.waived.expires},
        "deadline": f.deadline,
    }


def _assets(assets: Sequence[Asset], result: ScanResult) -> list[dict[str, Any]]:
    """The assets' dicts, as :func:`_asset` builds them; without systems in one comprehension,
    with no Python call per asset and the usual single location's dict built without a loop
    (40,000 assets a night)."""
    if result.membership is not None:
        return [_asset(a, result) for a in assets]
    as_dict = Location.as_dict
    return [
        {
            "id": a.id,
            "type": a.type,
            "properties": a.properties,
            "locations": [as_dict(locs[0])] if len(locs := a.locations) == 1 else list(map(as_dict, locs)),
        }
        for a in assets
    ]


def _asset(a: Asset, result: ScanResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.id,
        "type": a.type,
        "properties": a.properties,
        "locations": [loc.as_dict() for loc in a.locations],
    }
    membership = result.membership
    if membership is not None:
        # declared systems only; properties are collected, `attested` holds what the systems file says
        out["systems"] = list(membership.systems.get(a.id, ()))
        if a.id in membership.facts:
            out["attested"] = membership.facts[a.id]
    return out


def report_dict(result: ScanResult) -> dict[str, Any]:
    return {name: part() for name, part in _report_parts(result).items()}


def _report_parts(result: ScanResult) -> dict[str, Callable[[], Any]]:
    """The report's members in their order, each built only when asked for (streaming builds the
    big lists a chunk at a time instead; see :func:`iter_report`)."""
    meta = result.metadata
    parts: dict[str, Callable[[], Any]] = {
        "schema_version": lambda: SCHEMA_VERSION,
        "tool": lambda: {"name": "keysweep", "version": __version__},
        "scan": lambda: {
            "id": meta.id,
            "started_at": iso_time(meta.started_at),
            "finished_at": iso_time(meta.finished_at),
            "as_of": iso_time(meta.as_of),
            "operator": meta.operator,
            "host": meta.host,
            "policies": list(meta.policies),
            "targets": list(meta.targets),
            "projection": is_projection(meta),
            "scope": meta.scope or meta.host,
        },
        # asset properties and enum members are dict and str subclasses: serialised as they are, uncopied
        "assets": lambda: _assets(result.assets, result),
        "relations": lambda: [_relation(r) for r in result.relations],
        "findings": lambda: [finding_dict(f) for f in result.findings],
        "errors": lambda: [_error(e) for e in result.errors],
        # the file sweep's counts sit beside the rest of the summary: examined = recognised + skipped + failed
        "summary": lambda: {**summarize(result), "files": result.sweep.as_dict()},
    }
    if result.scopes:  # a fleet report: every scope's latest scan, merged or left out as stale
        parts["scopes"] = lambda: [{name: getattr(s, name) for name in s.__dataclass_fields__} for s in result.scopes]
    return parts


def _relation(r: Relation) -> dict[str, Any]:
    return {"source": r.source, "target": r.target, "type": r.type}


def _error(e: CollectionError) -> dict[str, Any]:
    return {"target": e.target, "collector": e.collector, "message": e.message}


def iter_report(result: ScanResult) -> Iterator[bytes]:
    """The bytes of ``JsonReporter().render(result)``, in pieces: the assets, relations and findings
    are encoded CHUNK_ITEMS at a time, so the whole document never exists in memory at once."""
    for data, _, _ in iter_report_values(result):
        yield data


def iter_report_values(result: ScanResult) -> Iterator[tuple[bytes, object, bool]]:
    """:func:`iter_report`'s pieces, each with the value it encodes (None for punctuation and keys)
    and whether that is a run of items of the assets, relations or findings.

    Each piece of a list is encoded as a list and its brackets dropped; jsonio gives the same bytes
    per piece as for the whole document (orjson, or the json module where orjson refuses a value).
    """
    lists = _item_lists(result)
    yield b"{", None, False
    for n, (name, part) in enumerate(_report_parts(result).items()):
        yield (b"," if n else b"") + jsonio.dumps(name) + b":", None, False
        if name not in lists:
            value = part()
            yield jsonio.dumps(value), value, False
            continue
        items, encode = lists[name]
        yield b"[", None, False
        for start in range(0, len(items), CHUNK_ITEMS):
            values = encode(items[start : start + CHUNK_ITEMS])
            yield (b"," if start else b"") + jsonio.dumps(values)[1:-1], values, True
        yield b"]", None, False
    yield b"}", None, False


def _item_lists(result: ScanResult) -> dict[str, tuple[Sequence[Any], Callable[[Sequence[Any]], list[dict[str, Any]]]]]:
    """The report's lists of items, and how a run of their items becomes the report's values."""
    return {
        "assets": (result.assets, lambda items: _assets(items, result)),
        "relations": (result.relations, lambda items: [_relation(r) for r in items]),
        "findings": (result.findings, lambda items: [finding_dict(f) for f in items]),
    }


# what a store buckets an item's rows by: the asset it is about
_BUCKET_KEYS = {"assets": attrgetter("id"), "relations": attrgetter("source"), "findings": attrgetter("asset_id")}


class ReportPieces:
    """The report as a store reads it in pieces (``scanner.store.streamed.ReportSource``): its bytes
    as :func:`iter_report` streams them, and any run of its items' values, from the scan's result."""

    def __init__(self, result: ScanResult, tee: ReportTee | None = None) -> None:
        self._result = result
        self._tee = tee  # the JSON report, written from the pieces as the store reads them
        self._lists = _item_lists(result)
        self._keys: dict[str, list[str]] = {}  # asked for by the save's count, its choice and its buckets

    def pieces(self) -> Iterator[tuple[bytes, object, bool]]:
        pieces = iter_report_values(self._result)
        return pieces if self._tee is None else self._tee.through(pieces)

    def member(self, name: str) -> Any:
        return _report_parts(self._result)[name]()

    def keys(self, items: str) -> Sequence[str]:
        if items not in self._keys:
            self._keys[items] = list(map(_BUCKET_KEYS[items], self._lists[items][0]))
        return self._keys[items]

    def items(self, items: str, indices: Sequence[int]) -> list[dict[str, Any]]:
        listed, encode = self._lists[items]
        return encode([listed[i] for i in indices])

    def objects(self, items: str, indices: Sequence[int]) -> list[Any] | None:
        # a finding's item is not its object's fields; an asset's holds its systems too where systems
        # are declared: the rows come from the items then
        if items == "findings" or (items == "assets" and self._result.membership is not None):
            return None
        listed = self._lists[items][0]
        return [listed[i] for i in indices]

    def whole(self) -> tuple[bytes, dict[str, Any]]:
        return JsonReporter().render_with_values(self._result)


def encode_json_text(text: str) -> bytes:
    """UTF-8 JSON text; a lone surrogate (an undecodable file-name byte, PEP 383) becomes a \\udcXX escape.

    UTF-8 encodes every other character, so only those are escaped: JSON allows the escape,
    ``json.loads`` gives the same str back, and ``os.fsencode`` of it the exact bytes of the name
    (the convention is in docs/reports.md).
    """
    return text.encode("utf-8", "backslashreplace")


class JsonReporter:
    format: ClassVar[str] = "json"

    def render(self, result: ScanResult) -> bytes:
        return self.render_with_values(result)[0]

    def render_with_values(self, result: ScanResult) -> tuple[bytes, dict[str, Any]]:
        """:meth:`render`'s bytes, and the report they were rendered from (a store derives its rows
        from it instead of parsing the bytes again)."""
        # compact: with indent, json falls back to its pure-Python encoder (5x slower on big scans);
        # orjson writes the same bytes about five times faster, without a str copy of the report
        values = report_dict(result)
        return jsonio.dumps(values), values

    def write(self, result: ScanResult, path: str) -> None:
        """Stream the report to ``path`` (the rules of scanner.reporting.output): the same bytes as
        :meth:`render`, without the whole document in memory."""
        write_output_chunks(path, iter_report(result))

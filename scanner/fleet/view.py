"""The fleet view: one graph from the latest scan of every scope, and the rules run on it.

Scans of many hosts merge by content-derived asset id, so a key copied to three servers is one
node with locations in three scopes. Each location keeps its scope, and the merge records, per
asset, the scopes where a fleet rule needs to tell them apart: where a private key is held
(``private_key_scopes``), where a certificate is served (``presented_in_scopes``) and which trust
stores hold an anchor (``trusted_in_scopes``). A scope whose latest scan is older than the
maximum age is listed as stale and left out of the graph, never merged silently.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import Pack
from scanner.hostinfo import operator
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Relation,
    RelationType,
    ScanMetadata,
    ScanResult,
    ScopeSummary,
    freeze,
)
from scanner.store.interface import Store, StoredScan

FLEET_PACK = "fleet"
FLEET_SCOPE = "fleet"
# scans read per round trip: bounded memory whatever the number of scopes
_CHUNK = 50


ScopeState = ScopeSummary


def _state(scan: StoredScan, stale: bool) -> ScopeState:
    return ScopeState(
        scan.scope,
        scan.id,
        scan.host,
        scan.finished_at,
        scan.assets,
        scan.findings,
        scan.open_findings,
        scan.readiness,
        stale,
    )


@dataclass(frozen=True, slots=True)
class FleetResult:
    result: ScanResult
    scopes: tuple[ScopeState, ...]


def _finished(scan: StoredScan) -> datetime:
    return datetime.fromisoformat(scan.finished_at.replace("Z", "+00:00"))


def scope_states(store: Store, max_age: timedelta | None = None, now: datetime | None = None) -> list[ScopeState]:
    now = now or datetime.now(UTC)
    return [_state(scan, max_age is not None and now - _finished(scan) > max_age) for scan in store.latest_per_scope()]


def fleet_packs(packs: Mapping[str, Pack], selected: Sequence[Pack]) -> list[Pack]:
    """The selected packs and the fleet rules, once."""
    chosen = list(selected)
    if FLEET_PACK in packs and all(p.name != FLEET_PACK for p in chosen):
        chosen.insert(0, packs[FLEET_PACK])
    return chosen


def _parse_all(texts: list[str]) -> list[Any]:
    """Parse many JSON objects at once: one decoder run shares the key strings among all of them
    (a fleet's assets repeat the same property names hundreds of thousands of times). A damaged
    one is found by parsing them one by one, and comes back as its ValueError."""
    try:
        parsed: list[Any] = json.loads("[" + ",".join(texts) + "]")
        if len(parsed) == len(texts):
            return parsed
    except ValueError:
        pass
    out: list[Any] = []
    for text in texts:
        try:
            out.append(json.loads(text))
        except ValueError as exc:
            out.append(exc)
    return out


def build_graph(store: Store, states: Iterable[ScopeState]) -> tuple[InventoryGraph, list[CollectionError]]:
    """Merge the rows of the given scopes' scans into one graph; unreadable rows become errors."""
    graph = InventoryGraph()
    errors: list[CollectionError] = []
    scope_of = {s.scan_id: s.scope for s in states}
    scan_ids = list(scope_of)
    private: defaultdict[str, set[str]] = defaultdict(set)
    presented: defaultdict[str, set[str]] = defaultdict(set)
    trusted: defaultdict[str, set[str]] = defaultdict(set)
    for start in range(0, len(scan_ids), _CHUNK):
        chunk = scan_ids[start : start + _CHUNK]
        locations: defaultdict[tuple[str, str], list[Location]] = defaultdict(list)
        for loc in store.location_rows(chunk):
            locations[(loc.scan_id, loc.asset_id)].append(
                Location(loc.kind, loc.ref, loc.detail, scope_of[loc.scan_id])
            )
        rows = list(store.asset_rows(chunk))
        for row, parsed in zip(rows, _parse_all([r.properties for r in rows]), strict=True):
            scope = scope_of[row.scan_id]
            try:
                if isinstance(parsed, ValueError):
                    raise parsed
                properties = parsed
                asset_type = AssetType(row.type)
                if not isinstance(properties, dict):
                    raise ValueError("properties are not an object")
            except ValueError as exc:
                errors.append(
                    CollectionError(
                        f"scope:{scope}", "fleet", f"asset {row.asset_id} of scan {row.scan_id} is damaged: {exc}"
                    )
                )
                continue
            asset = Asset(
                row.asset_id, asset_type, freeze(properties), tuple(locations.pop((row.scan_id, row.asset_id), ()))
            )
            graph.add_asset(asset)
            if asset_type is AssetType.KEY and properties.get("has_private_key"):
                private[row.asset_id].add(scope)
        for rel in store.relation_rows(chunk):
            try:
                kind = RelationType(rel.type)
            except ValueError:
                errors.append(
                    CollectionError(
                        f"scope:{scope_of[rel.scan_id]}", "fleet", f"relation of unknown type {rel.type!r} skipped"
                    )
                )
                continue
            if rel.source not in graph or rel.target not in graph:
                continue  # its asset row was damaged and skipped
            graph.add_relation(Relation(rel.source, rel.target, kind))
            if kind is RelationType.PRESENTS:
                presented[rel.target].add(scope_of[rel.scan_id])
            elif kind is RelationType.TRUSTS:
                trusted[rel.target].add(scope_of[rel.scan_id])
    for name, found in (
        ("private_key_scopes", private),
        ("presented_in_scopes", presented),
        ("trusted_in_scopes", trusted),
    ):
        for asset_id, scopes in found.items():
            graph.update_properties(asset_id, {name: sorted(scopes)})
    return graph, errors


def fleet_report(
    store: Store,
    packs: Sequence[Pack],
    *,
    as_of: datetime | None = None,
    max_age: timedelta | None = None,
) -> FleetResult:
    started = datetime.now(UTC)
    as_of = as_of or started
    states = scope_states(store, max_age, started)
    fresh = [s for s in states if not s.stale]
    graph, errors = build_graph(store, fresh)
    for s in states:
        if s.stale:
            errors.append(
                CollectionError(
                    f"scope:{s.scope}",
                    "fleet",
                    f"stale: its latest scan {s.scan_id} finished {s.finished_at}, longer ago than the maximum age;"
                    " not merged",
                )
            )
    enrich(graph, as_of)
    engine = RuleEngine(packs)
    evaluation = engine.evaluate(graph, EvalContext(as_of=as_of))
    # the fleet's own findings come first: they are what no single host's report can show
    findings = sorted(evaluation.findings, key=lambda f: FLEET_PACK not in f.policies)
    metadata = ScanMetadata(
        id=str(uuid.uuid4()),
        started_at=started,
        finished_at=datetime.now(UTC),
        as_of=as_of,
        operator=operator(),
        host=socket.gethostname(),
        policies=tuple(p.name for p in packs),
        targets=tuple(f"scope:{s.scope}" for s in fresh),
        scope=FLEET_SCOPE,
    )
    result = ScanResult(
        metadata=metadata,
        assets=tuple(graph.assets()),
        relations=tuple(graph.relations()),
        findings=tuple(findings),
        errors=tuple(errors) + graph.errors + evaluation.errors,
        rules=tuple(rule.info() for rule in engine.rules),
        scopes=tuple(states),
    )
    return FleetResult(result, tuple(states))


def parse_age(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m`` or ``2w``."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"{text!r} is not an age (use e.g. 7d, 12h, 30m, 2w)")
    return timedelta(**{units[text[-1]]: int(text[:-1])})

"""One scan, end to end: targets -> collectors -> graph -> enrichment -> rules -> ScanResult."""

from __future__ import annotations

import getpass
import logging
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner import plugins
from scanner.collectors.base import CollectContext, Collector, ProgressObserver, SilentProgress, Target
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import Pack
from scanner.engine.waivers import WaiverRule, apply_waivers
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import CollectionError, ScanMetadata, ScanResult
from scanner.secrets import Secret

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ScanRequest:
    targets: tuple[Target, ...]
    packs: tuple[Pack, ...]
    as_of: datetime | None = None
    timeout: float = 10.0
    passwords: tuple[Secret, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    waivers: tuple[WaiverRule, ...] = ()


def collectors_for(targets: Sequence[Target]) -> tuple[list[tuple[Collector, list[Target]]], list[Target]]:
    """Each collector with the targets of the kinds it accepts, and the targets nobody accepts."""
    kinds = {t.kind for t in targets}
    routed: list[tuple[Collector, list[Target]]] = []
    claimed: set[str] = set()
    for _name, cls in _collector_classes():
        accepted = kinds & set(cls.target_kinds)
        if accepted:
            routed.append((cls(), [t for t in targets if t.kind in accepted]))
            claimed |= accepted
    return routed, [t for t in targets if t.kind not in claimed]


def target_kinds() -> dict[str, str]:
    """Every target kind an installed collector accepts, with that collector's name."""
    kinds: dict[str, str] = {}
    for name, cls in _collector_classes():
        for kind in cls.target_kinds:
            kinds.setdefault(kind, name)
    return kinds


def _collector_classes() -> Iterator[tuple[str, Any]]:
    """The installed collectors, by entry-point name; one that fails to load is warned about."""
    for name in plugins.names(plugins.COLLECTORS):
        try:
            yield name, plugins.load(plugins.COLLECTORS, name)
        except plugins.PluginError as exc:
            log.warning("%s", exc)


def build_graph(request: ScanRequest, progress: ProgressObserver) -> InventoryGraph:
    graph = InventoryGraph()
    context = CollectContext(
        timeout=request.timeout, passwords=request.passwords, options=request.options, progress=progress
    )
    routed, unclaimed = collectors_for(request.targets)
    for target in unclaimed:
        graph.add_error(CollectionError(target.value, "keysweep", f"no collector accepts {target.kind} targets"))
    for collector, targets in routed:
        try:
            graph.add_all(collector.collect(targets, context))
        except Exception as exc:  # a collector bug loses that collector's rest, never the scan
            log.exception("collector %s failed", collector.name)
            graph.add_error(CollectionError(", ".join(map(str, targets)), collector.name, f"collector failed: {exc!r}"))
    return graph


def run_scan(request: ScanRequest, progress: ProgressObserver | None = None) -> ScanResult:
    started = datetime.now(UTC)
    as_of = request.as_of or started
    graph = build_graph(request, progress or SilentProgress())
    enrich(graph, as_of)
    engine = RuleEngine(request.packs)
    evaluation = engine.evaluate(graph, EvalContext(as_of=as_of))
    waived = apply_waivers(
        evaluation.findings, lambda i: graph.asset(i) if i in graph else None, request.waivers, as_of.date()
    )
    notices = tuple(CollectionError(source, "waivers", message) for source, message in waived.notices)
    metadata = ScanMetadata(
        id=str(uuid.uuid4()),
        started_at=started,
        finished_at=datetime.now(UTC),
        as_of=as_of,
        operator=_operator(),
        host=socket.gethostname(),
        policies=tuple(p.name for p in request.packs),
        targets=tuple(f"{t.kind}:{t.value}" for t in request.targets),
    )
    return ScanResult(
        metadata=metadata,
        assets=tuple(graph.assets()),
        relations=tuple(graph.relations()),
        findings=waived.findings,
        errors=graph.errors + evaluation.errors + notices,
        rules=tuple(rule.info() for rule in engine.rules),
    )


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def path_targets(paths: Sequence[Path]) -> list[Target]:
    return [Target("path", str(p)) for p in paths]

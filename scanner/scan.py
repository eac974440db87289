"""One scan, end to end: targets -> collectors -> graph -> enrichment -> rules -> ScanResult."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.collectors import routing
from scanner.collectors.base import CollectContext, ProgressObserver, SilentProgress, Target
from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import Pack
from scanner.engine.waivers import WaiverRule, apply_waivers
from scanner.hostinfo import operator
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import CollectionError, Observation, ScanMetadata, ScanResult
from scanner.inventory.systems import SystemsConfig, assign
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
    systems: SystemsConfig | None = None
    scope: str | None = None  # default: the host name
    collect: Collect | None = None
    # a distributed sweep names its scan, so that a resumed sweep keeps its id
    scan_id: str | None = None


# collects the observations of a request's targets: the local collectors by default, a distributed
# sweep when the command line wires one in (the scan itself never imports the distributed layer)
Collect = Callable[[Sequence[Target], CollectContext], Iterable[Observation]]


def build_graph(request: ScanRequest, progress: ProgressObserver) -> InventoryGraph:
    graph = InventoryGraph()
    context = CollectContext(
        timeout=request.timeout, passwords=request.passwords, options=request.options, progress=progress, graph=graph
    )
    graph.add_all((request.collect or routing.collect)(request.targets, context))
    return graph


def run_scan(
    request: ScanRequest, progress: ProgressObserver | None = None, *, collected: Callable[[], None] | None = None
) -> ScanResult:
    """The scan of ``request``; ``collected`` is called once the inventory graph is built, before the rules."""
    started = datetime.now(UTC)
    as_of = request.as_of or started
    graph = build_graph(request, progress or SilentProgress())
    if collected is not None:
        collected()
    enrich(graph, as_of)
    engine = RuleEngine(request.packs)
    evaluation = engine.evaluate(graph, EvalContext(as_of=as_of))
    waived = apply_waivers(
        evaluation.findings, lambda i: graph.asset(i) if i in graph else None, request.waivers, as_of.date()
    )
    notices = tuple(CollectionError(source, "waivers", message) for source, message in waived.notices)
    metadata = ScanMetadata(
        id=request.scan_id or str(uuid.uuid4()),
        started_at=started,
        finished_at=datetime.now(UTC),
        as_of=as_of,
        operator=operator(),
        host=(host := socket.gethostname()),
        policies=tuple(p.name for p in request.packs),
        targets=tuple(f"{t.kind}:{t.value}" for t in request.targets),
        projection=as_of.date() != started.date(),
        scope=request.scope or host,
    )
    assets = tuple(graph.assets())
    relations = tuple(graph.relations())
    return ScanResult(
        metadata=metadata,
        assets=assets,
        relations=relations,
        findings=waived.findings,
        errors=graph.errors + evaluation.errors + notices,
        rules=tuple(rule.info() for rule in engine.rules),
        sweep=graph.sweep,
        requirements=engine.requirements,
        systems=request.systems,
        membership=assign(request.systems, assets, relations) if request.systems else None,
    )


def path_targets(paths: Sequence[Path]) -> list[Target]:
    return [Target("path", str(p)) for p in paths]

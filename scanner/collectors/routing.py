"""Targets to the collectors that accept their kind, and the observations they yield.

The local scan and the distributed scan workers both collect through here, so that the same
targets give the same observations wherever they are collected.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from scanner import plugins
from scanner.collectors.base import CollectContext, Collector, Target
from scanner.inventory.model import CollectionError, Observation

log = logging.getLogger(__name__)


def collectors_for(targets: Sequence[Target]) -> tuple[list[tuple[Collector, list[Target]]], list[Target]]:
    """Each collector with the targets of the kinds it accepts, and the targets nobody accepts."""
    kinds = {t.kind for t in targets}
    routed: list[tuple[Collector, list[Target]]] = []
    claimed: set[str] = set()
    declared = plugins.declared_kinds(plugins.COLLECTORS, plugins.TARGET_KINDS)
    for name in plugins.names(plugins.COLLECTORS):
        if name in declared and not kinds & declared[name]:
            continue  # declared elsewhere: not imported for this scan
        try:
            cls = plugins.load(plugins.COLLECTORS, name)
        except plugins.PluginError as exc:
            log.warning("%s", exc)
            continue
        accepted = kinds & set(cls.target_kinds)
        if accepted:
            routed.append((cls(), [t for t in targets if t.kind in accepted]))
            claimed |= accepted
    return routed, [t for t in targets if t.kind not in claimed]


def target_kinds() -> dict[str, str]:
    """Every target kind an installed collector accepts, with that collector's name."""
    kinds: dict[str, str] = {}
    for name in plugins.names(plugins.COLLECTORS):
        try:
            cls = plugins.load(plugins.COLLECTORS, name)
        except plugins.PluginError as exc:
            log.warning("%s", exc)
            continue
        for kind in cls.target_kinds:
            kinds.setdefault(kind, name)
    return kinds


def collect(targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
    """Every observation of every target; a collector's bug costs that collector's rest, never the scan."""
    routed, unclaimed = collectors_for(targets)
    for target in unclaimed:
        yield CollectionError(target.value, "keysweep", f"no collector accepts {target.kind} targets")
    for collector, accepted in routed:
        try:
            yield from collector.collect(accepted, context)
        except Exception as exc:
            log.exception("collector %s failed", collector.name)
            yield CollectionError(", ".join(map(str, accepted)), collector.name, f"collector failed: {exc!r}")

"""Neighbours that several checks read, looked up once per evaluation (``EvalContext.once``).

Half a dozen key rules walk the certificates that certify a key; a key shared by thousands of
certificates (a fleet's wildcard, an estate's default key) would otherwise be walked, and every
certificate asset fetched from the graph, once per rule. The graph does not change while rules
run, so the first walk's answer is every later walk's answer.
"""

from __future__ import annotations

from scanner.engine.checks import EvalContext
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, RelationType


def certifying(graph: InventoryGraph, context: EvalContext, key_id: str) -> tuple[Asset, ...]:
    """``graph.predecessors(key_id, CERTIFIES)``: the certificates that bind the key, in graph order."""
    memo: dict[str, tuple[Asset, ...]] = context.once("graph.certifying", dict)
    certs = memo.get(key_id)
    if certs is None:
        certs = memo[key_id] = tuple(graph.predecessors(key_id, RelationType.CERTIFIES))
    return certs

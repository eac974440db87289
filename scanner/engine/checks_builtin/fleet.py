"""Fleet checks: what only the merged view of many scopes shows.

They read the per-scope facts the fleet merge records (``private_key_scopes``,
``presented_in_scopes``, ``trusted_in_scopes``); in a single host's scan those are absent and the
checks find nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.engine.checks_builtin.graph import _label
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType
from scanner.plurals import plural


def _scopes(asset: Asset, name: str) -> list[str]:
    value = asset.properties.get(name)
    return [str(s) for s in value] if isinstance(value, list | tuple) else []


@accepts("max_scopes")
def private_key_on_several_scopes(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """One private key held on several hosts: the key was copied across servers."""
    scopes = _scopes(asset, "private_key_scopes")
    if len(scopes) <= int(params.get("max_scopes", 1)):
        return
    held = sorted(
        f"{loc.scope}:{loc.ref}" for loc in asset.locations if loc.scope in scopes and loc.kind in ("file", "pkcs11")
    )
    yield Hit(
        f"private {_label(asset.properties)} key is held on {len(scopes)} hosts: {', '.join(scopes)}",
        {"scopes": scopes, "locations": held},
    )


@accepts("max_scopes")
def certificate_on_several_scopes(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """One certificate served by endpoints that several scopes scanned."""
    scopes = _scopes(asset, "presented_in_scopes")
    if len(scopes) <= int(params.get("max_scopes", 1)):
        return
    endpoints = sorted(e.id for e in graph.predecessors(asset.id, RelationType.PRESENTS))
    subject = asset.properties.get("subject") or asset.id
    yield Hit(
        f"certificate {subject} is deployed on endpoints of {len(scopes)} scopes: {', '.join(scopes)}",
        {"scopes": scopes, "endpoints": endpoints},
    )


def _trust_scopes(graph: InventoryGraph) -> frozenset[str]:
    found: set[str] = set()
    for cert in graph.assets(AssetType.CERTIFICATE):
        found.update(_scopes(cert, "trusted_in_scopes"))
    return frozenset(found)


@accepts()
def trust_anchor_inconsistent(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A trust anchor present in the trust stores of some scopes and missing from others'."""
    present = _scopes(asset, "trusted_in_scopes")
    if not present:
        return
    with_stores = context.once("fleet.trust_scopes", lambda: _trust_scopes(graph))
    missing = sorted(with_stores - set(present))
    if not missing:
        return
    subject = asset.properties.get("subject") or asset.id
    yield Hit(
        f"trust anchor {subject} is trusted on {plural(len(present), 'scope')} and missing on {len(missing)}:"
        f" present on {', '.join(present)}; missing on {', '.join(missing)}",
        {"present_on": present, "missing_on": missing},
    )

"""A check: a certificate without subjectAltName (browsers ignore the CN since RFC 6125)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset


@accepts()
def no_subject_alt_name(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    if not asset.properties.get("san"):
        yield Hit(f"certificate {asset.properties.get('subject')} has no subjectAltName", {"san": []})

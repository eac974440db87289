"""Checks on plaintext secrets found in files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Severity

_EVIDENCE = ("kind", "kinds", "location", "path", "line", "name", "reason", "package_data", "package_data_reason")


@accepts("package_data_severity")
def secret_exposed(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A plaintext secret in a file. The evidence names the kind, location and reason, never the value.

    A secret in installed package data (an SDK's docs, a library's test fixtures) is reported at
    ``package_data_severity`` (low by default), with the reason: it is known, not a team's leak.
    """
    if asset.type is not AssetType.SECRET:
        return
    props = asset.properties
    name = f" ({props['name']})" if props.get("name") else ""
    message = f"{props.get('kind', 'secret')}{name} written in plain text at {props.get('location')}"
    severity = None
    if props.get("package_data"):
        severity = Severity(str(params.get("package_data_severity", "low")))
        message += f", in package data: {props.get('package_data_reason')}"
    yield Hit(message, {k: props[k] for k in _EVIDENCE if props.get(k) is not None}, severity=severity)

"""Checks on keys and the files that hold them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, parse_day
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType, Severity


def _describe(props: Mapping[str, Any]) -> str:
    algorithm = props.get("algorithm") or "unknown"
    if props.get("curve"):
        return f"{algorithm} {props['curve']}"
    if props.get("key_size"):
        return f"{algorithm}-{props['key_size']}"
    return str(algorithm)


def _key_evidence(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props.get(k) for k in ("algorithm", "key_size", "curve", "security_bits") if props.get(k) is not None}


def _minimum_bits(params: Mapping[str, Any], context: EvalContext) -> int:
    """min_bits, raised by any `schedule` entry whose date has passed (e.g. 128 after 2030)."""
    minimum = int(params.get("min_bits", 112))
    for step in params.get("schedule", []):
        if context.as_of_date > parse_day(step["after"]):
            minimum = max(minimum, int(step["min_bits"]))
    return minimum


def key_strength(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """Security strength below the minimum (SP 800-57 Table 2; the handbook's Table 1 sizes)."""
    props = asset.properties
    bits = props.get("security_bits")
    if bits is None:
        return
    minimum = _minimum_bits(params, context)
    if bits >= minimum:
        return
    severity = Severity.CRITICAL if bits < int(params.get("critical_below", 0)) else None
    yield Hit(
        f"{_describe(props)} gives {bits} bits of security; the policy requires at least {minimum}",
        {**_key_evidence(props), "required_bits": minimum},
        severity=severity,
    )


def plaintext_private_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A private key stored unencrypted on disk (the handbook: never store keys in plaintext)."""
    props = asset.properties
    if not props.get("has_private_key") or props.get("encrypted_at_rest") is not False:
        return
    files = [
        str(f.properties.get("path"))
        for f in graph.successors(asset.id, RelationType.STORED_IN)
        if f.type is AssetType.FILE and f.properties.get("contains_plaintext_private_key")
    ]
    if not files:
        return
    yield Hit(
        f"private key {_describe(props)} is stored unencrypted in {', '.join(sorted(files))}",
        {"files": sorted(files), **_key_evidence(props)},
    )


def private_key_permissions(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A file holding a plaintext private key that other users can read."""
    props = asset.properties
    if not props.get("contains_plaintext_private_key") or props.get("mode") is None:
        return
    mode = int(props["mode"], 8)
    forbidden = int(str(params.get("forbidden_mode_bits", "0044")), 8)
    if mode & forbidden:
        who = "world" if mode & 0o004 else "group"
        yield Hit(
            f"{props['path']} holds a plaintext private key and is {who}-readable (mode {props['mode']})",
            {"path": props["path"], "mode": props["mode"], "owner": props.get("owner")},
        )


def dsa_key(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """DSA: signature generation removed by FIPS 186-5; verification of old signatures only."""
    props = asset.properties
    if props.get("algorithm") == "DSA":
        yield Hit(f"{_describe(props)} key: DSA signature generation is no longer approved", _key_evidence(props))


def quantum_vulnerable_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """NIST IR 8547: 112-bit quantum-vulnerable keys deprecated after 2030, all disallowed after 2035."""
    props = asset.properties
    if not props.get("quantum_vulnerable"):
        return
    bits = props.get("security_bits") or 0
    deprecated_after = parse_day(params.get("deprecated_after", "2030-12-31"))
    disallowed_after = parse_day(params.get("disallowed_after", "2035-12-31"))
    deprecated_below = int(params.get("deprecated_below_bits", 128))
    today = context.as_of_date
    if today > disallowed_after:
        severity, status, deadline = Severity.HIGH, "disallowed", disallowed_after
    elif bits < deprecated_below and today > deprecated_after:
        severity, status, deadline = Severity.MEDIUM, "deprecated", disallowed_after
    else:
        severity, status = Severity.INFO, "acceptable until migration"
        deadline = deprecated_after if bits < deprecated_below else disallowed_after
    yield Hit(
        f"{_describe(props)} is vulnerable to a quantum computer; status on {today}: {status}; "
        f"migrate to ML-KEM / ML-DSA by {deadline}",
        {**_key_evidence(props), "status": status},
        severity=severity,
        deadline=deadline.isoformat(),
    )

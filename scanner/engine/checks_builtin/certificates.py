"""Checks on certificates: signature hash, validity window, lifetime, key reuse."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType


def _name(props: Mapping[str, Any]) -> str:
    return str(props.get("subject") or props.get("sha256_fingerprint", "?")[:16])


def weak_signature_hash(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A certificate signed with MD5, SHA-1 or another hash below the minimum strength."""
    props = asset.properties
    hash_name = props.get("signature_hash")
    if not hash_name:
        return
    # a self-signed root's own signature is never checked by relying parties
    if params.get("ignore_self_signed", True) and props.get("self_signed") and props.get("is_ca"):
        return
    bits = props.get("signature_hash_bits")
    minimum = int(params.get("min_bits", 112))
    if bits is not None and bits < minimum:
        yield Hit(
            f"certificate {_name(props)} is signed with {props.get('signature_algorithm')} "
            f"({hash_name}: {bits} bits of collision resistance, at least {minimum} required)",
            {"signature_algorithm": props.get("signature_algorithm"), "signature_hash": hash_name},
        )


def certificate_expired(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    remaining = props.get("days_remaining")
    if remaining is not None and remaining < 0:
        yield Hit(
            f"certificate {_name(props)} expired on {props['not_after']}, "
            f"{-remaining} days before {context.as_of_date}",
            {"not_after": props["not_after"]},
        )


def certificate_not_yet_valid(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    age = props.get("age_days")
    if age is not None and props.get("not_before") and age < 0:
        yield Hit(
            f"certificate {_name(props)} is not valid before {props['not_before']}",
            {"not_before": props["not_before"]},
        )


def certificate_validity_too_long(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """An end-entity certificate whose lifetime exceeds the rotation policy (annual by default)."""
    props = asset.properties
    if props.get("is_ca") and not params.get("include_ca", False):
        return
    days = props.get("validity_days")
    maximum = int(params.get("max_days", 398))
    if days is not None and days > maximum:
        yield Hit(
            f"certificate {_name(props)} is valid for {days} days; rotation policy allows at most {maximum}",
            {
                "validity_days": days,
                "not_before": props.get("not_before"),
                "not_after": props.get("not_after"),
            },
        )


def key_reused_across_renewal(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Two or more certificates for the same subject certify this key: renewal kept the old key."""
    by_subject: dict[str, list[Asset]] = {}
    for cert in graph.predecessors(asset.id, RelationType.CERTIFIES):
        if cert.type is AssetType.CERTIFICATE and not cert.properties.get("is_ca"):
            by_subject.setdefault(str(cert.properties.get("subject")), []).append(cert)
    for subject, certs in sorted(by_subject.items()):
        if len(certs) > 1:
            certs.sort(key=lambda c: str(c.properties.get("not_before")))
            yield Hit(
                f"{len(certs)} certificates for {subject} reuse the same key; renewals should generate a new key",
                {
                    "subject": subject,
                    "certificates": [c.id for c in certs],
                    "not_before": [c.properties.get("not_before") for c in certs],
                },
                discriminator=subject,
            )

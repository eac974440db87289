"""Checks on the key-exchange groups an endpoint offers (``key_exchange_groups``, IANA names).

The facts about each group (FIPS 140-3 approval, the ML-KEM parameter set it carries) are in
the knowledge base; an endpoint without a group list is not judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts, scheduled_severity
from scanner.engine.checks_builtin.tls import endpoint_name
from scanner.inventory import knowledge
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, Severity


def _groups(asset: Asset) -> list[str] | None:
    groups = asset.properties.get("key_exchange_groups")
    if groups is None:
        return None
    return [str(g) for g in groups]


def _where(asset: Asset) -> str:
    props = asset.properties
    return endpoint_name(props) if props.get("host") and props.get("port") else asset.id


@accepts()
def fips_key_exchange(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Groups a FIPS 140-3 module may not use (X25519, X448); high when no approved group is left."""
    groups = _groups(asset)
    if not groups:
        return
    facts = {g: knowledge.tls_group(g) for g in groups}
    refused = [g for g, f in facts.items() if f is not None and f.fips_approved is False]
    if not refused:
        return
    approved = [g for g, f in facts.items() if f is not None and f.fips_approved]
    if approved:
        message = (
            f"{_where(asset)} offers key exchange over {', '.join(refused)}, not FIPS 140-3 approved "
            f"(approved groups also offered: {', '.join(approved)})"
        )
        severity = None
    else:
        message = (
            f"{_where(asset)} offers only {', '.join(groups)} for key exchange: "
            "no FIPS 140-3 approved group (X25519/X448 key agreement is not approved)"
        )
        severity = Severity.HIGH
    yield Hit(
        message,
        {"key_exchange_groups": groups, "not_approved": refused, "approved": approved},
        severity=severity,
    )


def _level(ml_kem: str | None) -> int:
    """ML-KEM-768 -> 768; 0 for none."""
    return int(ml_kem.rsplit("-", 1)[1]) if ml_kem else 0


@accepts("min_ml_kem", "allow_hybrid", "schedule", "describe")
def post_quantum_key_exchange(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """No group with ML-KEM (hybrid or pure) at the required parameter set or above.

    ``min_ml_kem = "ML-KEM-1024"`` for CNSA 2.0; ``allow_hybrid = false`` accepts pure ML-KEM only;
    ``schedule`` raises the severity with the as-of date. Not judged: an endpoint without a group
    list, one whose cipher-suite scan found no protocol, and one whose post-quantum probe failed
    (the TLS collector's ``pq_key_exchange`` is None then, and the failure is in the errors).
    """
    props = asset.properties
    groups = _groups(asset)
    if groups is None or ("pq_key_exchange" in props and props["pq_key_exchange"] is None):
        return
    protocols = props.get("protocols")
    if protocols is not None and not protocols:
        return
    minimum = _level(str(params.get("min_ml_kem", "ML-KEM-512")))
    allow_hybrid = bool(params.get("allow_hybrid", True))
    offered = []
    # the probe asked for each post-quantum group on its own: when it found none, none is accepted
    if props.get("pq_key_exchange") is not False:
        for group in groups:
            facts = knowledge.tls_group(group)
            if facts is None or not facts.ml_kem:
                continue
            offered.append(group)
            if _level(facts.ml_kem) >= minimum and (allow_hybrid or not facts.hybrid):
                return
    severity, deadline = scheduled_severity(params, context)
    wanted = params.get("describe", f"ML-KEM-{minimum} or stronger{' (hybrid allowed)' if allow_hybrid else ''}")
    if offered:
        why = f"it offers only {', '.join(offered)}"
    elif protocols is not None and "TLSv1.3" not in protocols:
        why = "it does not support TLS 1.3, which post-quantum key exchange needs"
    elif props.get("pq_groups_probed"):
        why = f"it accepts none of {', '.join(props['pq_groups_probed'])}"
    else:
        why = "it offers no post-quantum group"
    evidence: dict[str, Any] = {"key_exchange_groups": groups, "post_quantum_groups": offered}
    if "pq_groups_probed" in props:
        evidence["pq_groups_probed"] = list(props["pq_groups_probed"])
    if not offered:
        why += "; traffic recorded today can be decrypted by a future quantum computer"
    yield Hit(
        f"{_where(asset)} offers no key exchange with {wanted}: {why}",
        evidence,
        severity=severity,
        deadline=deadline,
    )

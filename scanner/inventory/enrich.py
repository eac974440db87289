"""Derive facts once, for every rule to use: strength, quantum vulnerability, FIPS, issuers, age."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from scanner.inventory import knowledge, trust
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, Relation, RelationType


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def enrich(graph: InventoryGraph, as_of: datetime) -> None:
    trust.classify(graph)
    _enrich_keys(graph)
    _link_issuers(graph, _enrich_certificates(graph, as_of))


def _enrich_keys(graph: InventoryGraph) -> None:
    for asset_id in list(graph.asset_ids(AssetType.KEY)):
        props = graph.asset(asset_id).properties
        algorithm = props.get("algorithm")
        if not algorithm:
            continue
        facts = knowledge.key_facts(algorithm, props.get("key_size"), props.get("curve"))
        graph.update_properties(
            asset_id,
            {
                "security_bits": facts.security_bits,
                "quantum_vulnerable": facts.quantum_vulnerable,
                "fips_approved": facts.fips_approved,
                "fips_note": facts.fips_note or None,
            },
        )


class _Issuance(NamedTuple):
    """What linking a certificate to its issuer reads, taken in the pass that enriches it: the
    link then reads no asset again (each read after an update rebuilds the frozen asset)."""

    id: str
    subject: Any
    issuer: Any
    self_signed: Any
    authority_key_id: Any
    subject_key_id: Any


def _enrich_certificates(graph: InventoryGraph, as_of: datetime) -> list[_Issuance]:
    # validity dates and signature hashes repeat across a fleet's certificates: each worked out once
    ages: dict[str, int] = {}
    remaining: dict[str, int] = {}
    strengths: dict[str, int | None] = {}
    issuances = []
    for asset_id in list(graph.asset_ids(AssetType.CERTIFICATE)):
        props = graph.asset(asset_id).properties
        updates: dict[str, object] = {}
        not_before = props.get("not_before")
        if not_before:
            if (age := ages.get(not_before)) is None:
                age = ages[not_before] = (as_of - parse_time(not_before)).days
            updates["age_days"] = age
        not_after = props.get("not_after")
        if not_after:
            if (days := remaining.get(not_after)) is None:
                days = remaining[not_after] = (parse_time(not_after) - as_of).days
            updates["days_remaining"] = days
        signature_hash = props.get("signature_hash")
        if signature_hash:
            if signature_hash not in strengths:
                strengths[signature_hash] = knowledge.hash_strength(signature_hash)
            updates["signature_hash_bits"] = strengths[signature_hash]
        graph.update_properties(asset_id, updates)
        # none of these is an enriched fact: read before the update, they are what the link read after it
        issuances.append(
            _Issuance(
                asset_id,
                props.get("subject"),
                props.get("issuer"),
                props.get("self_signed"),
                props.get("authority_key_id"),
                props.get("subject_key_id"),
            )
        )
    return issuances


def _link_issuers(graph: InventoryGraph, certificates: list[_Issuance]) -> None:
    """issued-by: the certificate whose subject is this one's issuer (and whose SKI matches its AKI)."""
    by_subject: dict[str, list[_Issuance]] = defaultdict(list)
    for cert in certificates:
        if cert.subject:
            by_subject[cert.subject].append(cert)
    for cert in certificates:
        if cert.self_signed:
            continue
        aki = cert.authority_key_id
        for candidate in by_subject.get(cert.issuer or "", []):
            if candidate.id == cert.id:
                continue
            ski = candidate.subject_key_id
            if aki and ski and aki != ski:
                continue
            graph.add_relation(Relation(cert.id, candidate.id, RelationType.ISSUED_BY))

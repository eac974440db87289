"""Derive facts once, for every rule to use: strength, quantum vulnerability, FIPS, issuers, age."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from scanner.inventory import knowledge, trust
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, Relation, RelationType


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def enrich(graph: InventoryGraph, as_of: datetime) -> None:
    trust.classify(graph)
    _enrich_keys(graph)
    _enrich_certificates(graph, as_of)
    _link_issuers(graph)


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


def _enrich_certificates(graph: InventoryGraph, as_of: datetime) -> None:
    for asset_id in list(graph.asset_ids(AssetType.CERTIFICATE)):
        props = graph.asset(asset_id).properties
        updates: dict[str, object] = {}
        if props.get("not_before"):
            updates["age_days"] = (as_of - parse_time(props["not_before"])).days
        if props.get("not_after"):
            updates["days_remaining"] = (parse_time(props["not_after"]) - as_of).days
        signature_hash = props.get("signature_hash")
        if signature_hash:
            updates["signature_hash_bits"] = knowledge.hash_strength(signature_hash)
        graph.update_properties(asset_id, updates)


def _link_issuers(graph: InventoryGraph) -> None:
    """issued-by: the certificate whose subject is this one's issuer (and whose SKI matches its AKI)."""
    by_subject: dict[str, list[str]] = defaultdict(list)
    for asset_id in graph.asset_ids(AssetType.CERTIFICATE):
        subject = graph.asset(asset_id).properties.get("subject")
        if subject:
            by_subject[subject].append(asset_id)
    for asset_id in list(graph.asset_ids(AssetType.CERTIFICATE)):
        props = graph.asset(asset_id).properties
        if props.get("self_signed"):
            continue
        aki = props.get("authority_key_id")
        for candidate_id in by_subject.get(props.get("issuer") or "", []):
            if candidate_id == asset_id:
                continue
            ski = graph.asset(candidate_id).properties.get("subject_key_id")
            if aki and ski and aki != ski:
                continue
            graph.add_relation(Relation(asset_id, candidate_id, RelationType.ISSUED_BY))

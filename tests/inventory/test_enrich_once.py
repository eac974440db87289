"""Enrichment in one pass over the certificates links and enriches what the earlier passes did.

The oracle is the earlier algorithm, kept literally: enrich, then read every certificate again
to index subjects and link issuers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes

from scanner.collectors.base import SilentProgress, Target
from scanner.compat import UTC
from scanner.inventory import knowledge, trust
from scanner.inventory.enrich import _enrich_keys, enrich, parse_time
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, Relation, RelationType
from scanner.scan import ScanRequest, build_graph
from tests.support import pki

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def _old_enrich(graph: InventoryGraph, as_of: datetime) -> None:
    trust.classify(graph)
    _enrich_keys(graph)
    for asset_id in list(graph.asset_ids(AssetType.CERTIFICATE)):
        props = graph.asset(asset_id).properties
        updates: dict[str, object] = {}
        if props.get("not_before"):
            updates["age_days"] = (as_of - parse_time(props["not_before"])).days
        if props.get("not_after"):
            updates["days_remaining"] = (parse_time(props["not_after"]) - as_of).days
        if props.get("signature_hash"):
            updates["signature_hash_bits"] = knowledge.hash_strength(props["signature_hash"])
        graph.update_properties(asset_id, updates)
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


def _tree(root: Path) -> None:
    """Chains with awkward names: two CAs of one (non-ASCII) subject, leaves of each, a shared
    key, a SHA-384 signature, the same validity dates on many certificates, and a self-signed leaf."""
    first, second = pki.rsa_key(2048), pki.ec_key()
    subject = "Zürich Root CA ✓"
    pki.write(root / "ca1.crt", pki.pem(pki.certificate(first, subject, ca=True, days=3650)))
    pki.write(root / "ca2.crt", pki.pem(pki.certificate(second, subject, ca=True, days=3650)))
    shared = pki.ec_key()
    for n in range(6):
        issuer = first if n % 2 else second
        leaf = pki.certificate(
            shared if n < 3 else pki.ec_key(),
            f"host-{n}.example",
            issuer_key=issuer,
            issuer_name=subject,
            not_before=pki.NOW - pki.DAY,
            hash_algorithm=hashes.SHA384() if n == 5 and issuer is first else None,
        )
        pki.write(root / "leaves" / f"leaf{n}.crt", pki.pem(leaf))
    pki.write(root / "self.crt", pki.pem(pki.certificate(pki.rsa_key(2048), "self.example")))
    pki.write(
        root / "orphan.crt",
        pki.pem(pki.certificate(pki.ec_key(), "orphan", issuer_key=pki.ec_key(), issuer_name="Gone CA")),
    )


def _graph(root: Path) -> InventoryGraph:
    return build_graph(ScanRequest((Target("path", str(root)),), ()), SilentProgress())


def test_enrich_equals_the_earlier_passes_on_real_certificates(tmp_path: Path) -> None:
    _tree(tmp_path)
    new, old = _graph(tmp_path), _graph(tmp_path)
    enrich(new, AS_OF)
    _old_enrich(old, AS_OF)
    assert [a.properties for a in new.assets()] == [a.properties for a in old.assets()]
    assert [(a.id, a.locations) for a in new.assets()] == [(a.id, a.locations) for a in old.assets()]
    assert list(new.relations()) == list(old.relations())  # the same links, in the same order
    issued = [r for r in new.relations() if r.type == RelationType.ISSUED_BY]
    # each leaf to the one CA of the shared subject whose key signed it; the orphan's issuer is unseen
    assert len(issued) == 6
    certificates = list(new.assets(AssetType.CERTIFICATE))
    assert all("days_remaining" in c.properties and "age_days" in c.properties for c in certificates)
    assert {c.properties.get("signature_hash_bits") for c in certificates} >= {128, 192}

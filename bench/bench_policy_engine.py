"""Rule-engine throughput on a synthetic inventory: python bench/bench_policy_engine.py [CERTIFICATES].

Prints the time to evaluate the default packs and every built-in pack (with a waivers pass)
over N end-entity certificates and their keys, against a baseline measured in the same run:
one plain pass over every asset of the graph.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import time

from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import discover_packs, select_packs
from scanner.engine.waivers import WaiverRule, apply_waivers
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Relation, RelationType, freeze


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def inventory(n: int) -> InventoryGraph:
    graph = InventoryGraph()
    roots = []
    for c in range(10):
        root = f"cert:sha256:{_h(f'root{c}')}"
        props = {"subject": f"CN=Root {c}", "issuer": f"CN=Root {c}", "self_signed": True, "is_ca": True}
        props |= {"not_before": "2024-01-01T00:00:00Z", "not_after": "2034-01-01T00:00:00Z"}
        graph.add_asset(Asset(root, AssetType.CERTIFICATE, freeze(props)))
        roots.append(root)
    store = "truststore:/etc/ssl/certs/ca-bundle.crt"
    graph.add_asset(Asset(store, AssetType.TRUST_STORE, freeze({"path": "/etc/ssl/certs/ca-bundle.crt"})))
    for root in roots[:5]:
        graph.add_relation(Relation(store, root, RelationType.TRUSTS))
    for i in range(n):
        cert, key = f"cert:sha256:{_h(f'c{i}')}", f"key:spki-sha256:{_h(f'k{i}')}"
        props = {
            "subject": f"CN=host{i}.example",
            "issuer": f"CN=Root {i % 10}",
            "self_signed": False,
            "is_ca": False,
            "not_before": "2025-06-01T00:00:00Z",
            "not_after": "2026-06-01T00:00:00Z",
            "validity_days": 365,
            "signature_algorithm": "sha256WithRSAEncryption",
            "signature_hash": "sha256",
            "crl_urls": ["http://crl.example/root.crl"],
            "extended_key_usage": ["serverAuth"],
        }
        graph.add_asset(Asset(cert, AssetType.CERTIFICATE, freeze(props)))
        graph.add_asset(Asset(key, AssetType.KEY, freeze({"algorithm": "RSA", "key_size": 2048})))
        graph.add_relation(Relation(cert, key, RelationType.CERTIFIES))
        graph.add_relation(Relation(cert, roots[i % 10], RelationType.ISSUED_BY))
    return graph


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    as_of = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    graph = inventory(n)
    start = time.perf_counter()
    baseline_count = sum(1 for _ in graph.assets())
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    enrich(graph, as_of)
    enrichment = time.perf_counter() - start
    packs = discover_packs()
    waivers = (WaiverRule("cms.key.quantum-vulnerable", "bench", "bench", dt.date(2027, 1, 1), "bench:1", None, ()),)
    print(
        f"{n} certificates, {baseline_count} assets; baseline pass over assets {baseline:.3f}s; "
        f"enrich {enrichment:.2f}s"
    )
    for label, selected in (("default packs", select_packs(packs, [])), ("all packs", list(packs.values()))):
        engine = RuleEngine(selected)
        start = time.perf_counter()
        evaluation = engine.evaluate(graph, EvalContext(as_of=as_of))
        evaluated = time.perf_counter() - start
        start = time.perf_counter()
        apply_waivers(evaluation.findings, graph.asset, waivers, as_of.date())
        waived = time.perf_counter() - start
        print(
            f"{label}: {len(engine.rules)} rules, {len(evaluation.findings)} findings in {evaluated:.2f}s "
            f"({evaluated / baseline:.0f}x baseline), waivers {waived:.2f}s"
        )


if __name__ == "__main__":
    main()

"""Rule-engine throughput on a synthetic inventory: python bench/bench_policy_engine.py [CERTIFICATES].

Prints the time to evaluate the default packs and every built-in pack (with a waivers pass)
over N end-entity certificates and their keys, against a baseline measured in the same run:
one plain pass over every asset of the graph.

Then the same for an inventory shaped like a file sweep of N certificate files (bench_files.py's
tree: a file and a certificate per file, a few keys shared by thousands of certificates, most
certificates valid longer than the rotation policy allows, some world-readable key files): the
engine (fast forms), the plain evaluation (every check called on every asset, ``fast=False``),
and a floor: one trivial call per (rule, asset) pair the rules apply to. CPU seconds, best of 3.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import sys
import time
from collections.abc import Callable

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


def sweep_inventory(n: int, as_of: dt.datetime) -> InventoryGraph:
    """N certificate files as a file sweep finds them (see bench_files.py), 10 shared keys, 2% key files."""
    graph = InventoryGraph()
    keys = []
    for k in range(10):
        key = f"key:spki-sha256:{_h(f'shared{k}')}"
        props = {"algorithm": "RSA", "key_size": 2048, "has_private_key": True, "encrypted_at_rest": False}
        graph.add_asset(Asset(key, AssetType.KEY, freeze(props)))
        keys.append(key)
    for i in range(n):
        path = f"/srv/bench/d{i // 1000:03d}/c{i:06d}.pem"
        plaintext_key = i % 50 == 49
        file_props = {"path": path, "format": "pem", "mode": "0644", "owner": "root", "size": 1807}
        if plaintext_key:
            file_props |= {"contains_private_key": True, "contains_plaintext_private_key": True}
        graph.add_asset(Asset(f"file:{path}", AssetType.FILE, freeze(file_props)))
        cert = f"cert:sha256:{_h(f'sweep{i}')}"
        # issued in the last ten months, mostly for longer than a year (as bench_files.py's tree):
        # about nine in ten over the rotation policy's 398 days, a few expired
        not_before = as_of - dt.timedelta(days=i % 300, seconds=i % 86400)
        lifetime = dt.timedelta(days=90 + (i * 37) % 1400)
        props = {
            "subject": f"CN=host{i}.bench.example,O=Bench Corp,C=DE",
            "issuer": f"CN=Bench Issuing {i % 4},O=Bench Corp,C=DE",
            "not_before": not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": (not_before + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signature_algorithm": "sha256WithRSAEncryption",
            "signature_hash": "sha256",
            "self_signed": False,
            "is_ca": False,
            "key_usage": ["digital_signature", "key_encipherment"],
            "extended_key_usage": ["serverAuth", "clientAuth"],
            "ocsp_urls": [],
            "crl_urls": [],
        }
        graph.add_asset(Asset(cert, AssetType.CERTIFICATE, freeze(props)))
        graph.add_relation(Relation(cert, keys[i % 10], RelationType.CERTIFIES))
        graph.add_relation(Relation(cert, f"file:{path}", RelationType.STORED_IN))
        if plaintext_key:
            graph.add_relation(Relation(keys[i % 10], f"file:{path}", RelationType.STORED_IN))
    return graph


def _best(run: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def sweep(n: int, as_of: dt.datetime) -> None:
    graph = sweep_inventory(n, as_of)
    enrich(graph, as_of)
    gc.collect()
    gc.freeze()  # as `keysweep scan` does: the inventory is long-lived, not the collector's business
    engine = RuleEngine(select_packs(discover_packs(), []))
    plain = RuleEngine(select_packs(discover_packs(), []), fast=False)
    pairs = [(rule, asset) for rule in engine.rules for t in rule.applies_to for asset in graph.assets(t)]

    def floor() -> None:
        for rule, asset in pairs:
            asset.properties.get(rule.id)

    findings = engine.evaluate(graph, EvalContext(as_of=as_of)).findings
    assert findings == plain.evaluate(graph, EvalContext(as_of=as_of)).findings
    fast_s = _best(
        lambda: apply_waivers(engine.evaluate(graph, EvalContext(as_of=as_of)).findings, graph.asset, (), as_of.date())
    )
    plain_s = _best(lambda: plain.evaluate(graph, EvalContext(as_of=as_of)))
    floor_s = _best(floor)
    print(
        f"sweep of {n} files ({len(graph)} assets), default packs: {len(pairs)} (rule, asset) pairs, "
        f"{len(findings)} findings; CPU: engine + waivers {fast_s:.3f}s, plain evaluation {plain_s:.3f}s "
        f"({plain_s / fast_s:.1f}x the engine), floor of one call per pair {floor_s:.3f}s "
        f"(engine {fast_s / floor_s:.0f}x the floor)"
    )


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
    sweep(n, as_of)


if __name__ == "__main__":
    main()

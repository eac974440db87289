"""Benchmark: the fleet on PostgreSQL: ingest 1,000 signed host bundles, then `fleet report` over all scopes.

The host bundles are made from one real scan of sample-targets/generated (run `sample-targets/start.sh`
or `keysweep demo` once first) or, without it, of a generated mixed tree, varied per host: about a
third of the assets are the estate's common material (CA certificates, trust anchors), the rest the
host's own (ids varied per host), padded to about 300 assets; every tenth host pair shares a private key.
Each bundle is signed by one of ten host keys. A real PostgreSQL server is started in a temporary
directory, as the tests do.

Baselines measured in the same run: verifying the bundles without storing them (the floor of
ingest), and `fleet report` over a tenth of the scopes (how it scales).
Targets (issue 15): ingest >= 20 bundles/s on 2 cores; fleet report over 1,000 scopes < 60 s and < 2 GiB.

    .venv/bin/python bench/bench_fleet.py [--hosts 1000] [--assets 300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scanner.fleet.bundle import seal, verify
from scanner.fleet.ingest import Outcome, ingest
from scanner.fleet.keys import key_id
from scanner.store.postgres import PostgresStore
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]


def base_report(workdir: Path) -> dict:  # type: ignore[type-arg]
    sample = ROOT / "sample-targets" / "generated"
    target = sample if sample.is_dir() and any(sample.rglob("*.pem")) else None
    if target is None:
        from tests.support.scans import mixed_tree

        target = workdir / "tree"
        mixed_tree(target)
    out = workdir / "base.json"
    subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--path", str(target), "--no-store", "--json", str(out)],
        check=False,
        capture_output=True,
    )
    report: dict = json.loads(out.read_bytes())  # type: ignore[type-arg]
    return report


def _vary(text: str, host: int) -> str:
    return text.rsplit(":", 1)[0] + ":" + hashlib.sha256(f"{text}/{host}".encode()).hexdigest()


def host_report(base: dict, host: int, assets: int) -> bytes:  # type: ignore[type-arg]
    """Host ``host``'s scan: common assets kept, own assets re-identified, padded to ``assets``."""
    ids: dict[str, str] = {}
    out_assets = []
    source = base["assets"]
    copy = 0
    while len(out_assets) < assets:
        for n, asset in enumerate(source):
            if len(out_assets) >= assets:
                break
            # CA certificates are the estate's shared issuers (one node each, as in a real estate);
            # a third of the rest is common material too, the remainder the host's own
            props = asset.get("properties", {})
            shared = bool(props.get("is_ca")) or asset["type"] == "trust-store"
            if copy and shared:
                continue  # padding copies are host material: the estate has each CA once
            common = copy == 0 and (n % 3 == 0 or shared)
            # hosts 2k and 2k+1 of every tenth pair share their key material: the same ids
            owner = host - host % 2 if host % 10 < 2 else host
            new_id = asset["id"] if common else _vary(asset["id"], owner * 1000 + copy)
            ids[f"{copy}:{asset['id']}"] = new_id
            locations = [{**loc, "ref": loc["ref"].replace("/", f"/host{host}/", 1)} for loc in asset["locations"]]
            out_assets.append({**asset, "id": new_id, "locations": locations})
        copy += 1
    relations = []
    for c in range(copy):
        for r in base["relations"]:
            s, t = ids.get(f"{c}:{r['source']}"), ids.get(f"{c}:{r['target']}")
            if s and t:
                relations.append({**r, "source": s, "target": t})
    findings = [{**f, "asset_id": ids.get(f"0:{f['asset_id']}", f["asset_id"])} for f in base["findings"]]
    scan = {**base["scan"], "id": str(uuid.uuid4()), "scope": f"host-{host:04d}", "host": f"host-{host:04d}"}
    report = {**base, "scan": scan, "assets": out_assets, "relations": relations, "findings": findings}
    return json.dumps(report, separators=(",", ":")).encode()


def fleet_report(url: str, env: dict[str, str], out: Path) -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "fleet", "report", "--store", url, "--json", str(out)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"fleet report failed: {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so that the PostgreSQL server is removed


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--assets", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = base_report(work)
        keys = [Ed25519PrivateKey.generate() for _ in range(10)]
        trusted = {key_id(k.public_key()): k.public_key() for k in keys}
        bundle_dir = work / "bundles"
        bundle_dir.mkdir()
        paths = []
        for host in range(args.hosts):
            path = bundle_dir / f"host-{host:04d}.bundle"
            path.write_bytes(seal(host_report(base, host, args.assets), keys[host % 10]))
            paths.append(path)
        size = sum(p.stat().st_size for p in paths) / len(paths) / 1024
        print(f"{args.hosts} bundles, {args.assets} assets each, {size:.0f} KiB average", flush=True)

        start = time.perf_counter()
        for path in paths:
            verify(path.read_bytes(), trusted, str(path))
        verify_rate = len(paths) / (time.perf_counter() - start)
        print(f"baseline: verify only          {verify_rate:8.1f} bundles/s", flush=True)

        server = PostgresServer.start()
        try:
            os.environ["PGPASSWORD"] = server.password
            url = server.new_database()
            small_url = server.new_database()
            with PostgresStore(url) as store:
                start = time.perf_counter()
                results = ingest(paths, store, trusted)
                ingest_rate = len(paths) / (time.perf_counter() - start)
            stored = sum(1 for r in results if r.outcome is Outcome.STORED)
            print(
                f"ingest into PostgreSQL         {ingest_rate:8.1f} bundles/s   (target >= 20; {stored} stored)",
                flush=True,
            )
            small = max(1, args.hosts // 10)
            with PostgresStore(small_url) as store:
                ingest(paths[:small], store, trusted)
            small_time, _ = fleet_report(small_url, server.env(), work / "small.json")
            print(f"baseline: fleet report, {small:4d} scopes {small_time:8.1f} s", flush=True)
            full_time, peak = fleet_report(url, server.env(), work / "fleet.json")
            print(f"fleet report, {args.hosts:4d} scopes        {full_time:8.1f} s   (target < 60 s)", flush=True)
            print(f"fleet report peak memory       {peak:8.0f} MiB (target < 2048 MiB)", flush=True)
            fleet = json.loads((work / "fleet.json").read_bytes())
        finally:
            server.remove()
        fleet_findings = sum(1 for f in fleet["findings"] if "fleet" in f["policies"])
        print(
            f"fleet graph: {len(fleet['assets'])} assets, {len(fleet['findings'])} findings"
            f" ({fleet_findings} fleet findings)"
        )


if __name__ == "__main__":
    main()

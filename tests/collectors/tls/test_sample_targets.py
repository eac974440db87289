"""sample-targets/tls: start.sh brings up the three demo servers, scan-args scans them, stop.sh stops them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import AssetType
from scanner.scan import ScanRequest, run_scan
from tests.support import samples
from tests.support.tls_servers import ROOT

PART = ROOT / "sample-targets" / "tls"


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a PID 1 that never reaps (some containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_start_scan_stop(tmp_path: Path) -> None:
    out = samples.start("tls", tmp_path / "tls", timeout=60)
    pids = [int((out / name).read_text()) for name in ("legacy.pid", "pq.pid", "nginx/nginx.pid")]
    try:
        lines = (out / "scan-args").read_text().split()
        assert lines[0::2] == ["--tls"] * 3
        packs = select_packs(discover_packs(), [])
        result = run_scan(
            ScanRequest(targets=tuple(Target("tls", t) for t in lines[1::2]), packs=tuple(packs), timeout=5)
        )
        assert result.errors == ()
        legacy, modern, pq = (next(a for a in result.assets if a.id == f"tls:{t}") for t in lines[1::2])
        assert legacy.properties["protocols"] == ["TLSv1.0"]
        assert modern.properties["pq_key_exchange"] is False
        assert pq.properties["pq_key_exchange"] is True
        # nginx presents leaf + CA: the CA certificate is linked by issued-by
        relations = {(r.source, r.type.value) for r in result.relations}
        leaf = modern.properties["certificate_chains"][0][0]
        assert (leaf, "issued-by") in relations
        bad = {f.rule_id for f in result.findings if f.asset_id in legacy.properties["certificate_chains"][0]}
        assert {"cms.cert.expired", "cms.cert.weak-signature-hash"} <= bad
        assert sum(1 for a in result.assets if a.type is AssetType.TLS_ENDPOINT) == 3
    finally:
        subprocess.run(["bash", str(PART / "stop.sh"), str(out)], check=True, timeout=30)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)

"""A remote: target in a distributed sweep: routed to its host's zone, collected by a real scan
worker (`keysweep worker`, Redis broker) that logs in with its own identity and known_hosts from its
environment; the coordinator's SSH options never travel through the broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scanner.collectors.base import Target
from scanner.distributed.coordinator import plan
from scanner.distributed.zones import load_zones
from tests.collectors.remote.conftest import RemoteLab
from tests.distributed.conftest import KEYSWEEP, wait_for_workers
from tests.support import pki
from tests.support.redis_server import running_redis


def test_remote_target_is_routed_to_its_hosts_zone(tmp_path: Path) -> None:
    zones = tmp_path / "zones.toml"
    zones.write_text('[[zones]]\nname = "dmz"\ncidrs = ["10.1.0.0/16"]\n')
    chunks = plan("s1", [Target("remote", "ops@10.1.2.3:2222:/etc/ssl"), Target("tls", "10.9.9.9:443")],
                  load_zones(zones), 10)  # fmt: skip
    assert {(c.zone, c.targets[0].kind) for c in chunks} == {("dmz", "remote"), ("default", "tls")}


@pytest.mark.slow
def test_worker_sweeps_a_remote_host_with_its_own_credentials(remote_lab: RemoteLab, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    key = pki.ec_key()
    (tree / "site.crt").write_bytes(pki.pem(pki.certificate(key, "worker.example", days=30)))
    with running_redis(tmp_path) as broker:
        env = {
            **os.environ,
            "KEYSWEEP_STORE": str(tmp_path / "worker-store.sqlite3"),
            "KEYSWEEP_SSH_IDENTITY": str(remote_lab.identity),
            "KEYSWEEP_SSH_KNOWN_HOSTS": str(remote_lab.known_hosts),
        }
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [KEYSWEEP, "worker", "--broker", broker, "--zone", "default", "--concurrency", "1"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env,
            )  # fmt: skip
        try:
            wait_for_workers(broker, {"default"})
            out = tmp_path / "r.json"
            # the coordinator has no SSH identity of its own: only the worker can log in
            scan = subprocess.run(
                [KEYSWEEP, "scan", "--remote", remote_lab.remote(tree), "--distributed", broker, "--no-store",
                 "--json", str(out), "-q"],
                capture_output=True, text=True, timeout=180,
                env={**os.environ, "KEYSWEEP_SSH_KNOWN_HOSTS": str(tmp_path / "none")},
            )  # fmt: skip
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert scan.returncode in (0, 1), scan.stderr + (tmp_path / "worker.log").read_text()
    report = json.loads(out.read_text())
    [cert] = [a for a in report["assets"] if a["type"] == "certificate"]
    assert cert["locations"][0]["ref"].endswith(f"{tree}/site.crt")
    assert cert["locations"][0]["kind"] == "remote-file"
    assert report["scan"]["scope"] == remote_lab.server.host

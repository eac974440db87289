"""The distributed commands as a user runs them: credentials never on argv, workers listed by zone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.distributed.conftest import KEYSWEEP, start_worker, stop, wait_for_workers
from tests.support.redis_server import running_redis

PASSWORD = "s3cret-broker-pw"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEYSWEEP, *argv], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


def test_a_password_on_argv_is_refused_without_echoing_it() -> None:
    done = run("scan", "--no-store", "--tls", "127.0.0.1:1", "--distributed", f"redis://:{PASSWORD}@127.0.0.1:1/0")
    assert done.returncode == 2
    assert "must not carry a password" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.slow
def test_password_protected_broker_workers_listed_by_zone(tmp_path: Path) -> None:
    with running_redis(tmp_path, password=PASSWORD) as broker:
        env = {"KEYSWEEP_BROKER_PASSWORD": PASSWORD}
        os.environ["KEYSWEEP_BROKER_PASSWORD"] = PASSWORD
        try:
            worker = start_worker(broker, "dmz", tmp_path)
            try:
                wait_for_workers(broker, {"dmz"})
                cmdline = Path(f"/proc/{worker.pid}/cmdline").read_bytes()
                assert PASSWORD.encode() not in cmdline
                listed = run("workers", "--broker", broker, env=env)
                assert listed.returncode == 0, listed.stderr
                assert any(line.split()[:1] == ["dmz"] for line in listed.stdout.splitlines()[1:]), listed.stdout
                assert PASSWORD not in listed.stdout + listed.stderr
            finally:
                stop(worker)
            # without the password the broker refuses: a clear error, exit 2, no traceback
            denied = run("workers", "--broker", broker, env={"KEYSWEEP_BROKER_PASSWORD": "wrong"})
            assert denied.returncode == 2, denied.stdout + denied.stderr
            assert "cannot reach the broker" in denied.stderr and "Traceback" not in denied.stderr
            log = b"".join(p.read_bytes() for p in tmp_path.glob("worker-*.log"))
            assert PASSWORD.encode() not in log
        finally:
            os.environ.pop("KEYSWEEP_BROKER_PASSWORD", None)


def test_no_worker_answering_is_said(tmp_path: Path) -> None:
    with running_redis(tmp_path) as broker:
        done = run("workers", "--broker", broker, "--wait", "0.5")
    assert done.returncode == 0
    assert "no worker answered" in done.stderr

"""Real parts for the distributed sweeps: redis-server, scan workers as separate processes
(`keysweep worker`), and loopback TLS endpoints (nginx) in two zones. No eager mode, no in-memory
broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tls_servers as ts
from tests.support.redis_server import running_redis

KEYSWEEP = str(Path(sys.executable).parent / "keysweep")


@dataclass(frozen=True)
class Fleet:
    broker: str
    zones_file: Path
    zone_a: tuple[str, ...]  # targets as 127.0.0.1:PORT
    zone_b: tuple[str, ...]  # targets as localhost:PORT
    work: Path


def start_worker(broker: str, zone: str, work: Path, *extra: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
    log = open(work / f"worker-{zone}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 (kept open for the process)
    return subprocess.Popen(
        [KEYSWEEP, "worker", "--broker", broker, "--zone", zone, "--concurrency", str(concurrency), *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "KEYSWEEP_STORE": str(work / "worker-store.sqlite3")},
    )


def wait_for_workers(broker: str, zones: set[str], timeout: float = 60.0) -> None:
    from scanner.distributed.app import make_app
    from scanner.distributed.broker import resolve_broker

    app = make_app(resolve_broker(broker))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.inspect(timeout=1.0).active_queues() or {}
        seen = {str(q.get("name", "")).removeprefix("keysweep.") for queues in replies.values() for q in queues}
        if zones <= seen:
            return
    raise RuntimeError(f"workers for {zones} did not connect within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture(scope="package")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("distributed")
    cert, key = ts.server_certificate(work, "dist")
    servers = ts.start_nginx(work / "nginx", cert, key, count=40)
    zones = work / "zones.toml"
    zones.write_text('[[zones]]\nname = "b"\nhosts = ["localhost"]\n\n[[zones]]\nname = "a"\ncidrs = ["127.0.0.0/8"]\n')
    try:
        with running_redis(work) as broker:
            yield Fleet(
                broker,
                zones,
                tuple(s.target for s in servers[:20]),
                tuple(f"localhost:{s.port}" for s in servers[20:]),
                work,
            )
    finally:
        servers[0].stop()


@pytest.fixture
def workers(fleet: Fleet) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(zone: str, *extra: str) -> subprocess.Popen[bytes]:
        process = start_worker(fleet.broker, zone, fleet.work, *extra)
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)

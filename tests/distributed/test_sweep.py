"""Distributed sweeps through a real Redis broker and real Celery workers (separate processes):
the same result as a local scan, a worker killed mid-chunk, a zone without workers, a resumed
coordinator."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable

import pytest

from scanner.collectors.base import Target
from scanner.distributed.app import make_app
from scanner.distributed.broker import resolve_broker
from scanner.distributed.coordinator import DistributedCollect
from scanner.distributed.zones import load_zones
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import ScanResult
from scanner.scan import ScanRequest, run_scan
from tests.distributed.conftest import Fleet, wait_for_workers

pytestmark = pytest.mark.slow
TIMEOUT = 5.0


def request(fleet: Fleet, targets: list[str]) -> ScanRequest:
    packs = tuple(select_packs(discover_packs(), []))
    return ScanRequest(
        targets=tuple(Target("tls", t) for t in targets), packs=packs, timeout=TIMEOUT, options={"concurrency": 10}
    )


def distributed(
    fleet: Fleet, targets: list[str], sweep_id: str, zone_timeout: float = 120.0, **kw: object
) -> ScanResult:
    app = make_app(resolve_broker(fleet.broker), **kw)  # type: ignore[arg-type]
    collect = DistributedCollect(app, load_zones(fleet.zones_file), sweep_id, zone_timeout=zone_timeout)
    base = request(fleet, targets)
    return run_scan(ScanRequest(**{**_fields(base), "collect": collect, "scan_id": sweep_id}))


def _fields(r: ScanRequest) -> dict[str, object]:
    return {name: getattr(r, name) for name in r.__dataclass_fields__}


def essence(result: ScanResult) -> dict[str, object]:
    """What must not depend on where the targets were collected."""
    return {
        "assets": sorted(a.id for a in result.assets),
        "relations": sorted((r.source, r.target, str(r.type)) for r in result.relations),
        "findings": sorted((f.id, f.rule_id, f.asset_id, str(f.severity)) for f in result.findings),
        "errors": sorted(e.target for e in result.errors),
    }


def test_distributed_equals_local(fleet: Fleet, workers: Callable[[str], object]) -> None:
    workers("a")
    workers("b")
    wait_for_workers(fleet.broker, {"a", "b"})
    targets = [*fleet.zone_a, *fleet.zone_b]
    local = run_scan(request(fleet, targets))
    assert not local.errors, local.errors
    remote = distributed(fleet, targets, "equal")
    assert essence(remote) == essence(local)
    assert len([a for a in remote.assets if a.type.value == "tls-endpoint"]) == 40


def test_zone_without_worker_times_out_into_named_errors(fleet: Fleet, workers: Callable[[str], object]) -> None:
    workers("a")
    wait_for_workers(fleet.broker, {"a"})
    start = time.monotonic()
    result = distributed(fleet, [*fleet.zone_a[:5], *fleet.zone_b[:5]], "lonely", zone_timeout=5.0)
    assert time.monotonic() - start < 60
    errors = {e.target: e.message for e in result.errors}
    assert set(errors) == set(fleet.zone_b[:5])
    assert all("zone 'b'" in m and "--zone-timeout" in m for m in errors.values())
    endpoints = {a.id for a in result.assets if a.type.value == "tls-endpoint"}
    assert endpoints == {f"tls:{t}" for t in fleet.zone_a[:5]}


def _active_worker(app: object, zone: str, timeout: float = 60.0) -> int:
    """The pid of a worker of ``zone`` that is running a chunk right now (its node name carries it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = app.control.inspect(timeout=0.5).active() or {}  # type: ignore[attr-defined]
        for node, tasks in active.items():
            if tasks and node.startswith(f"{zone}-"):
                return int(node.split("@")[0].rsplit("-", 1)[1])
        time.sleep(0.1)
    raise AssertionError(f"no worker of zone {zone} started a chunk within {timeout} s")


def test_worker_killed_mid_chunk_loses_nothing(fleet: Fleet, workers: Callable[..., object]) -> None:
    # a short visibility timeout, so that the surviving worker takes the dead one's chunk over soon
    for zone in ("a", "a", "b"):
        workers(zone, "--visibility-timeout", "10")
    wait_for_workers(fleet.broker, {"a", "b"})
    targets = [*fleet.zone_a, *fleet.zone_b[:5]]
    reference = run_scan(request(fleet, targets))
    app = make_app(resolve_broker(fleet.broker))
    killed: list[int] = []

    def kill_one() -> None:
        pid = _active_worker(app, "a")
        os.killpg(pid, signal.SIGKILL)  # the worker and its pool at once, as when its host dies
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    killer.start()
    result = distributed(fleet, targets, "killed", visibility_timeout=10.0)
    killer.join()
    assert killed, "no worker was killed"
    assert essence(result) == essence(reference)


def test_chunk_failing_three_times_becomes_named_errors(fleet: Fleet, workers: Callable[..., object]) -> None:
    """A worker refuses anything but network targets (a broker message must never make it read its
    own files): such a chunk fails, is retried, and ends as errors naming its targets."""
    workers("a")
    wait_for_workers(fleet.broker, {"a"})
    app = make_app(resolve_broker(fleet.broker))
    collect = DistributedCollect(app, load_zones(fleet.zones_file), "refused", zone_timeout=60)
    from scanner.collectors.base import CollectContext
    from scanner.distributed.coordinator import Chunk

    chunk = Chunk("keysweep-refused-a-0", "a", (Target("path", "/etc/shadow"),))
    errors = list(collect._sweep([chunk], CollectContext(timeout=TIMEOUT)))
    assert [(e.target, e.collector) for e in errors] == [("/etc/shadow", "distributed")]  # type: ignore[union-attr]
    assert "failed 3 times" in errors[0].message and "not path" in errors[0].message  # type: ignore[union-attr]


def test_resumed_coordinator_collects_what_finished(fleet: Fleet, workers: Callable[..., object]) -> None:
    """`keysweep scan --distributed` killed after its first chunks finished; `--resume` collects those
    from the result backend (their results are not written again) and sends only the rest."""
    import subprocess

    from tests.distributed.conftest import KEYSWEEP

    workers("a")
    wait_for_workers(fleet.broker, {"a"})
    listing = fleet.work / "resume-targets.txt"
    listing.write_text("\n".join(fleet.zone_a) + "\n")
    report = fleet.work / "resumed.json"
    base = [KEYSWEEP, "scan", "--no-store", "--policy", "nist-sp800-52r2", "--targets", str(listing)]
    base += ["--distributed", fleet.broker, "--zones", str(fleet.zones_file), "--timeout", str(TIMEOUT)]
    first = subprocess.Popen([*base, "--json", str(fleet.work / "never.json")], stderr=subprocess.PIPE, text=True)
    assert first.stderr is not None
    sweep_id = first.stderr.readline().split("distributed sweep ")[1].split()[0]
    app = make_app(resolve_broker(fleet.broker))
    chunk_ids = [c.task_id for c in _plan(fleet, sweep_id)]
    deadline = time.monotonic() + 120
    while not any(app.AsyncResult(t).state == "SUCCESS" for t in chunk_ids) and time.monotonic() < deadline:
        time.sleep(0.2)
    first.kill()  # the coordinator dies; its chunks live on in the broker and the result backend
    first.wait()
    done_before = {t: app.AsyncResult(t).date_done for t in chunk_ids if app.AsyncResult(t).state == "SUCCESS"}
    assert done_before, "no chunk finished before the coordinator was stopped"
    resumed = subprocess.run([*base, "--resume", sweep_id, "--json", str(report)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    for task_id, date_done in done_before.items():
        assert app.AsyncResult(task_id).date_done == date_done, "a finished chunk was run again"
    data = json.loads(report.read_text())
    assert data["scan"]["id"] == sweep_id
    assert {a["id"] for a in data["assets"] if a["type"] == "tls-endpoint"} == {f"tls:{t}" for t in fleet.zone_a}
    assert data["errors"] == []


def _plan(fleet: Fleet, sweep_id: str) -> list[object]:
    from scanner.distributed.coordinator import DEFAULT_CHUNK_SIZE, plan

    targets = [Target("tls", t) for t in fleet.zone_a]
    return plan(sweep_id, targets, load_zones(fleet.zones_file), DEFAULT_CHUNK_SIZE)  # type: ignore[return-value]

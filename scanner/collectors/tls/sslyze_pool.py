"""Runs sslyze on many endpoints, one worker process each, each within the endpoint's deadline.

At most ``concurrency`` workers run at once. A worker that has not answered by its endpoint's
deadline is killed and its endpoint gets one error; the other endpoints are not held up.
Workers are forked from a fork server that imported sslyze once, so a worker starts in
milliseconds and never inherits the scanning threads of this process.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from scanner.collectors.tls.models import Endpoint, SslyzeOutcome

# what the fork server imports once, for every worker it forks
_PRELOAD = ["scanner.collectors.tls.sslyze_worker", "scanner.collectors.tls.sslyze_scan"]


@dataclass(frozen=True)
class _Running:
    endpoint: Endpoint
    process: BaseProcess
    deadline: float


def _context() -> multiprocessing.context.BaseContext:
    try:
        context = multiprocessing.get_context("forkserver")
    except ValueError:  # no fork server on this platform
        return multiprocessing.get_context("spawn")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.kill()
    process.join(5)


def scan(
    endpoints: Sequence[tuple[Endpoint, str, float]],
    *,
    timeout: float,
    concurrency: int,
    connections_per_server: int,
    enumeration: str = "keysweep",
) -> Iterator[tuple[Endpoint, SslyzeOutcome]]:
    """Scan (endpoint, ip address, deadline as time.monotonic()) triples; yields each outcome as it ends."""
    from scanner.collectors.tls import sslyze_worker

    context = _context()
    queue = deque(endpoints)
    running: dict[Connection, _Running] = {}
    try:
        while queue or running:
            while queue and len(running) < concurrency:
                endpoint, ip, deadline = queue.popleft()
                if time.monotonic() >= deadline:
                    yield endpoint, SslyzeOutcome(fatal="no time left for the scan before the target deadline")
                    continue
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(  # type: ignore[attr-defined]
                    target=sslyze_worker.main,
                    args=(sender, endpoint.host, endpoint.port, ip, timeout, connections_per_server, enumeration),
                    name=f"keysweep-sslyze-{endpoint.display}",
                    daemon=True,
                )
                process.start()
                sender.close()
                running[receiver] = _Running(endpoint, process, deadline)
            if not running:
                continue  # every endpoint left was out of time
            soonest = min(r.deadline for r in running.values())
            ready = wait(list(running), timeout=max(0.0, soonest - time.monotonic()))
            for ready_connection in ready:
                assert isinstance(ready_connection, Connection)
                job = running.pop(ready_connection)
                yield job.endpoint, _receive(ready_connection, job)
            now = time.monotonic()
            for receiver, job in list(running.items()):
                if now >= job.deadline:
                    del running[receiver]
                    _stop(job.process)
                    receiver.close()
                    yield (
                        job.endpoint,
                        SslyzeOutcome(
                            fatal="the scan did not finish before the target deadline; the endpoint was given up"
                        ),
                    )
    finally:
        for receiver, job in running.items():
            _stop(job.process)
            receiver.close()


def _receive(receiver: Connection, job: _Running) -> SslyzeOutcome:
    try:
        kind, payload = receiver.recv()
    except (EOFError, OSError):
        _stop(job.process)
        return SslyzeOutcome(fatal=f"the sslyze worker ended without a result (exit code {job.process.exitcode})")
    finally:
        receiver.close()
    job.process.join(5)
    if kind == "stalled":
        return SslyzeOutcome(fatal=str(payload))
    return payload if isinstance(payload, SslyzeOutcome) else SslyzeOutcome(fatal="the sslyze worker sent no outcome")

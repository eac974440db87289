"""Runs sslyze on many endpoints, one worker process each, each within the endpoint's deadline.

At most ``concurrency`` workers run at once. A worker that has not answered by its endpoint's
deadline is killed and its endpoint gets one error; the other endpoints are not held up.
Workers are forked from a fork server that imported sslyze once, so a worker starts in
milliseconds and never inherits the scanning threads of this process.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import types
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from scanner.collectors.tls.models import Endpoint, SslyzeOutcome

# what the fork server imports once, for every worker it forks
_PRELOAD = [
    "scanner.collectors.tls.sslyze_worker",
    "scanner.collectors.tls.sslyze_scan",
    "scanner.collectors.tls.sslyze_preload",
]


def _main_imports() -> list[str]:
    """The modules the main script imported (for keysweep's entry point: scanner.cli).

    multiprocessing runs a main *script* again in every worker it starts (Python 3.11's fork
    server never preloads it: it looks for a key its own preparation data does not have). With
    what the script imports already loaded in the fork server, that second run costs nothing;
    otherwise each worker imported the whole CLI again: about 50 ms of CPU per endpoint, measured.
    """
    main = sys.modules.get("__main__")
    names = set()
    for value in vars(main).values() if main is not None else ():
        module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(module, str) and module in sys.modules and module != "__main__":
            names.add(module)
    return sorted(names)


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
    context.set_forkserver_preload(["__main__", *_main_imports(), *_PRELOAD])
    return context


def warm_up() -> None:
    """Start the fork server now: it imports sslyze (about a second of CPU) while the caller
    checks reachability and runs its own probes, instead of before the first worker can start."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


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
    own_features: Mapping[Endpoint, int] | None = None,
) -> Iterator[tuple[Endpoint, SslyzeOutcome]]:
    """Scan (endpoint, ip address, deadline as time.monotonic()) triples; yields each outcome as it ends.

    ``own_features``: the endpoints whose ServerHello facts keysweep's features_probe answers, with
    the highest version each chose (sslyze_worker leaves those commands out)."""
    owned = own_features or {}
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
                    args=(
                        sender,
                        endpoint.host,
                        endpoint.port,
                        ip,
                        timeout,
                        connections_per_server,
                        enumeration,
                        owned.get(endpoint),
                        deadline,
                    ),
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

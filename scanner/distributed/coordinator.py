"""The coordinator of a distributed sweep: targets split into chunks per zone, sent to the zone's
queue, and the workers' observations gathered for one graph.

Chunk task ids are derived from the sweep id and the chunk's content, so a coordinator restarted
with ``--resume SWEEP_ID`` finds what finished in the result backend instead of sending it again.
A zone in which no chunk finishes for ``zone_timeout`` seconds (no worker, or a stuck one) gives up
its remaining chunks: their targets become errors naming the zone, and the rest is reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.collectors.base import CollectContext, Target
from scanner.distributed.app import ATTEMPTS, NETWORK_KINDS, TASK_NAME
from scanner.distributed.zones import ZoneMap, queue_name
from scanner.inventory.codec import CodecError, decode
from scanner.inventory.model import CollectionError, Observation
from scanner.targets import target_host

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 25
_POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Chunk:
    task_id: str
    zone: str
    targets: tuple[Target, ...]


def plan(sweep_id: str, targets: Sequence[Target], zones: ZoneMap, chunk_size: int) -> list[Chunk]:
    """Network targets in chunks per zone; the same inputs always give the same chunks and ids."""
    by_zone: dict[str, list[Target]] = {}
    for target in sorted(targets, key=lambda t: (t.kind, t.value)):
        host = target_host(target.kind, target.value)
        by_zone.setdefault(zones.zone_of(host), []).append(target)
    chunks = []
    for zone, members in sorted(by_zone.items()):
        for start in range(0, len(members), chunk_size):
            part = tuple(members[start : start + chunk_size])
            digest = hashlib.sha256(json.dumps([[t.kind, t.value] for t in part]).encode()).hexdigest()[:16]
            chunks.append(Chunk(f"keysweep-{sweep_id}-{zone}-{digest}", zone, part))
    return chunks


class DistributedCollect:
    """A ``Collect`` for ScanRequest: network targets through the workers, the rest locally."""

    def __init__(
        self,
        app: Any,
        zones: ZoneMap,
        sweep_id: str,
        *,
        zone_timeout: float,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        resume: bool = False,
    ) -> None:
        self.app, self.zones, self.sweep_id = app, zones, sweep_id
        self.zone_timeout, self.chunk_size, self.resume = zone_timeout, chunk_size, resume

    def __call__(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        from scanner.collectors import routing

        local = [t for t in targets if t.kind not in NETWORK_KINDS]
        if local:
            yield from routing.collect(local, context)
        network = [t for t in targets if t.kind in NETWORK_KINDS]
        if network:
            yield from self._sweep(plan(self.sweep_id, network, self.zones, self.chunk_size), context)

    def _send(self, chunk: Chunk, context: CollectContext) -> Any:
        concurrency = int(context.options.get("concurrency", 10))
        args = ([[t.kind, t.value] for t in chunk.targets], context.timeout, concurrency)
        return self.app.send_task(TASK_NAME, args=args, task_id=chunk.task_id, queue=queue_name(chunk.zone))

    def _sweep(self, chunks: list[Chunk], context: CollectContext) -> Iterator[Observation]:
        pending: dict[str, tuple[Chunk, Any]] = {}
        for chunk in chunks:
            result = self.app.AsyncResult(chunk.task_id)
            if self.resume and result.state in ("SUCCESS", "FAILURE"):
                log.info("chunk %s finished before the restart: collected, not sent again", chunk.task_id)
            else:
                result = self._send(chunk, context)
            pending[chunk.task_id] = (chunk, result)
            for target in chunk.targets:
                context.progress.target_started(f"zone {chunk.zone}", target.value)
        last_progress = {chunk.zone: time.monotonic() for chunk in chunks}
        while pending:
            finished = [(tid, c, r) for tid, (c, r) in pending.items() if r.state in ("SUCCESS", "FAILURE")]
            for task_id, chunk, result in finished:
                del pending[task_id]
                last_progress[chunk.zone] = time.monotonic()
                yield from self._gather(chunk, result, context)
            now = time.monotonic()
            for task_id, (chunk, result) in list(pending.items()):
                if now - last_progress[chunk.zone] > self.zone_timeout:
                    del pending[task_id]
                    result.revoke()
                    for target in chunk.targets:
                        context.progress.target_finished(f"zone {chunk.zone}", target.value, False)
                        yield CollectionError(
                            target.value,
                            "distributed",
                            f"not scanned: no worker of zone {chunk.zone!r} finished its chunk within "
                            f"{self.zone_timeout:g} s (--zone-timeout); is a worker running for that zone?",
                        )
            if pending and not finished:
                time.sleep(_POLL_SECONDS)

    def _gather(self, chunk: Chunk, result: Any, context: CollectContext) -> Iterator[Observation]:
        if result.state == "FAILURE":
            reason = str(result.result).split("\n", 1)[0][:200]
            for target in chunk.targets:
                context.progress.target_finished(f"zone {chunk.zone}", target.value, False)
                yield CollectionError(
                    target.value, "distributed", f"chunk failed {ATTEMPTS} times in zone {chunk.zone!r}: {reason}"
                )
            return
        payload = result.result
        observations = payload.get("observations", []) if isinstance(payload, dict) else []
        failed: set[str] = set()
        for value in observations:
            try:
                observation = decode(value)
            except CodecError as exc:
                yield CollectionError(chunk.task_id, "distributed", f"a worker's answer was not understood: {exc}")
                continue
            if isinstance(observation, CollectionError):
                failed.add(observation.target)
            yield observation
        for target in chunk.targets:
            context.progress.target_finished(f"zone {chunk.zone}", target.value, target.value not in failed)

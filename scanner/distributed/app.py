"""The Celery application of a distributed sweep: one task, one queue per network zone.

Workers run the ordinary collectors on a chunk of targets and return observations (never
findings: rules are evaluated once, by the coordinator). Delivery is at least once: a chunk is
acknowledged only when done (``acks_late``), and one whose worker dies is delivered again
(``reject_on_worker_lost``); duplicate observations merge by their content-derived ids. Payloads
are JSON only (no pickle): a worker's answer is data, never code.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from scanner.collectors import routing
from scanner.collectors.base import CollectContext, Target
from scanner.distributed.broker import Broker
from scanner.inventory.codec import encode

TASK_NAME = "keysweep.collect_chunk"
# the target kinds scan workers collect; files, tokens and their secrets stay on the coordinator
# (a remote sweep reads the remote host over SFTP with the worker's own SSH identity and known_hosts)
NETWORK_KINDS = frozenset({"tls", "ssh", "remote"})
# a failing chunk is tried this many times in all, then its targets become named errors
ATTEMPTS = 3
# Redis re-delivers an unacknowledged chunk after this long (a worker host that died as a whole)
DEFAULT_VISIBILITY_TIMEOUT = 600.0


def collect_chunk(targets: list[list[str]], timeout: float, concurrency: int) -> dict[str, Any]:
    """Collect one chunk: ``targets`` is a list of [kind, value]; returns encoded observations.

    Only network targets: a broker message must never make a worker read its own host's files."""
    context = CollectContext(timeout=timeout, options={"concurrency": concurrency})
    chunk = [Target(str(kind), str(value)) for kind, value in targets]
    refused = sorted({t.kind for t in chunk} - NETWORK_KINDS)
    if refused:
        raise ValueError(
            f"scan workers collect only {', '.join(sorted(NETWORK_KINDS))} targets, not {', '.join(refused)}"
        )
    return {"observations": [encode(o) for o in routing.collect(chunk, context)]}


def make_app(broker: Broker, visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT) -> Celery:
    url = broker.connection_url()
    app = Celery("keysweep", broker=url, backend=url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": visibility_timeout}
    ssl_options = broker.ssl_options()
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        result_expires=7 * 24 * 3600,  # a coordinator may resume a sweep within a week
        result_extended=True,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_default_queue="keysweep.default",
        **({"broker_use_ssl": ssl_options, "redis_backend_use_ssl": ssl_options} if ssl_options else {}),
    )
    app.task(
        name=TASK_NAME,
        autoretry_for=(Exception,),
        max_retries=ATTEMPTS - 1,
        default_retry_delay=1,
        acks_late=True,
        reject_on_worker_lost=True,
    )(collect_chunk)
    return app

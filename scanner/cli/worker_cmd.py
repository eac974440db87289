"""``keysweep worker`` and ``keysweep workers``: scan workers of a network zone, and who is connected."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner.cli.common import EXIT_USAGE, usage_error
from scanner.printable import printable

F = TypeVar("F", bound=Callable[..., Any])
_broker_help = (
    "Redis broker URL (no password: that comes from $KEYSWEEP_BROKER_PASSWORD) [default: $KEYSWEEP_BROKER_URL]."
)


def broker_options(command: F) -> F:
    command = click.option(
        "--broker-password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File holding the broker's password (instead of $KEYSWEEP_BROKER_PASSWORD).",
    )(command)
    return click.option("--broker", metavar="URL", help=_broker_help)(command)


def _app(broker: str | None, password_file: Path | None, visibility_timeout: float | None = None) -> tuple[Any, Any]:
    from scanner.distributed.app import DEFAULT_VISIBILITY_TIMEOUT, make_app
    from scanner.distributed.broker import BrokerError, resolve_broker

    try:
        resolved = resolve_broker(broker, password_file)
    except BrokerError as exc:
        raise usage_error(str(exc)) from None
    return resolved, make_app(resolved, visibility_timeout or DEFAULT_VISIBILITY_TIMEOUT)


@click.command("worker")
@broker_options
@click.option("--zone", required=True, metavar="NAME", help="The network zone whose queue this worker consumes.")
@click.option(
    "--concurrency", default=2, show_default=True, type=click.IntRange(min=1), help="Chunks collected at once."
)
@click.option(
    "--visibility-timeout",
    default=600.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds after which a chunk taken by a worker host that died is delivered again.",
)
def worker_command(
    broker: str | None, broker_password_file: Path | None, zone: str, concurrency: int, visibility_timeout: float
) -> None:
    """Run a scan worker: collect the TLS and SSH targets sent to this zone's queue."""
    from scanner.distributed.zones import ZoneError, check_zone_name, queue_name

    try:
        check_zone_name(zone, "--zone")
    except ZoneError as exc:
        raise usage_error(str(exc)) from None
    resolved, app = _app(broker, broker_password_file, visibility_timeout)
    click.echo(f"keysweep worker: zone {zone}, broker {resolved.url}, {concurrency} at once", err=True)
    app.worker_main(
        argv=[
            "worker",
            "--queues",
            queue_name(zone),
            "--concurrency",
            str(concurrency),
            # threads, not forked pool processes: Celery's pool processes are daemonic and may not
            # start children, and the TLS collector runs sslyze in processes of its own
            "--pool",
            "threads",
            "--hostname",
            # unique per process, so that several workers of one zone on one host are told apart
            f"{zone}-{os.getpid()}@{socket.gethostname()}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ]
    )


@click.command("workers")
@broker_options
@click.option(
    "--wait", default=2.0, show_default=True, type=click.FloatRange(min=0.1), help="Seconds to wait for replies."
)
def workers_command(broker: str | None, broker_password_file: Path | None, wait: float) -> None:
    """List the scan workers connected to the broker, by zone."""
    resolved, app = _app(broker, broker_password_file)
    try:
        queues = app.control.inspect(timeout=wait).active_queues() or {}
    except Exception as exc:  # the broker down or unreachable
        click.echo(f"keysweep: cannot reach the broker {resolved.url}: {type(exc).__name__}", err=True)
        sys.exit(EXIT_USAGE)
    if not queues:
        click.echo(f"keysweep: no worker answered within {wait:g} s on {resolved.url}", err=True)
        return
    click.echo(f"{'zone':<20}  worker")
    for name, consumed in sorted(queues.items()):
        for queue in consumed:
            zone = str(queue.get("name", "")).removeprefix("keysweep.")  # the queue is the zone
            click.echo(f"{printable(zone):<20}  {printable(name)}")

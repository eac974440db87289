"""The sslyze worker: one process scans one endpoint, so that the endpoint's deadline can be kept.

sslyze's scans run in threads that cannot be stopped, and its handshakes hold the interpreter
lock. A process per endpoint can be ended at the endpoint's deadline, and runs beside the others
on every core. The worker hands sslyze sockets that bound each connection as a whole
(``deadline.DeadlineSocket``), and gives up at once when the server stops answering before
sslyze's connectivity test is through: sslyze would otherwise try every TLS version, with
retries, each costing a whole timeout.

The worker is started from a fork server that has imported sslyze already (see sslyze_pool); the
scanning process itself imports this module only, never sslyze.
"""

from __future__ import annotations

import os
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from scanner.collectors.tls import deadline, hello
from scanner.collectors.tls.models import Endpoint, SslyzeOutcome

_WATCH_INTERVAL = 0.05
_POLL = 0.02


def _install_sockets(timeout: float, ledger: deadline.ConnectionLedger) -> None:
    """sslyze opens every direct connection through this one function; this process is ours alone."""
    from sslyze.connection_helpers import tls_connection

    def open_socket(server_location: Any, network_timeout: int) -> deadline.DeadlineSocket:
        return deadline.connect((server_location.ip_address, server_location.port), timeout, ledger)

    tls_connection._open_socket_for_direct_connection = open_socket


def _poll_faster() -> None:
    """sslyze's scanner thread looks for finished jobs every 0.2 s: each endpoint's scan (one per
    worker here) would end up to 0.2 s after its last job, its worker slot idle meanwhile."""
    from sslyze.scanner import _mass_scanner

    if hasattr(_mass_scanner, "sleep"):
        _mass_scanner.sleep = lambda _seconds: time.sleep(_POLL)


def main(
    conn: Connection,
    host: str,
    port: int,
    ip: str,
    timeout: float,
    connections_per_server: int,
    enumeration: str,
    highest: int | None = None,
    target_deadline: float | None = None,
) -> None:
    """Scan, send ("done", outcome) or ("stalled", message) through ``conn``, and exit.

    ``highest``: the version the server chose in the reachability check, when keysweep's own
    probes (features_probe) answer the ServerHello facts; then ROBOT runs only if the server
    accepts an RSA key transport suite."""
    # imported here: the fork server has it loaded already, and the scanning process never needs it
    from scanner.collectors.tls import features_probe, sslyze_scan

    own_features = highest is not None and enumeration == "keysweep"
    ledger = deadline.ConnectionLedger()
    _install_sockets(timeout, ledger)
    _poll_faster()
    connected = threading.Event()
    sent = threading.Lock()

    def reply(message: tuple[str, Any]) -> None:
        with sent:
            conn.send(message)
            conn.close()
            # sslyze's threads may still wait on sockets: nothing of theirs is worth waiting for
            os._exit(0)

    def watch() -> None:
        while not connected.is_set():
            if ledger.stalls:
                answered = any(s.had_answered for s in ledger.stalls)
                reply(
                    (
                        "stalled",
                        "the server "
                        + ("answered the handshake and then stopped" if answered else "stopped answering")
                        + f": nothing for {timeout:g}s during the connectivity test (timeout {timeout:g}s)",
                    )
                )
            time.sleep(_WATCH_INTERVAL)

    robot = True
    if own_features and highest is not None:
        end = target_deadline if target_deadline is not None else time.monotonic() + timeout
        try:
            robot = features_probe.rsa_key_transport((ip, port), host, highest, timeout, end)
        except hello.ProbeError as exc:
            if "before the timeout" in str(exc):  # silent now: as a stall in the connectivity test
                reply(
                    (
                        "stalled",
                        f"the server stopped answering: nothing for {timeout:g}s during the connectivity test "
                        f"(timeout {timeout:g}s)",
                    )
                )
            # any other failure: sslyze's ROBOT test decides
    threading.Thread(target=watch, daemon=True).start()
    try:
        outcome = sslyze_scan.scan_one(
            Endpoint(host, port),
            ip,
            timeout=timeout,
            connections_per_server=connections_per_server,
            enumeration=enumeration,
            own_features=own_features,
            robot=robot,
            on_connectivity=connected.set,
        )
    except Exception as exc:  # a bug in sslyze or here: this endpoint's error, never the scan's
        outcome = SslyzeOutcome(fatal=f"sslyze failed: {type(exc).__name__}: {exc}")
    connected.set()
    reply(("done", outcome))

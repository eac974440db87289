"""Runs sslyze's Python API on one endpoint (in a worker process) and turns its results into plain values.

Imported only when a scan has TLS targets: sslyze and nassl take a while to load.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from sslyze.errors import ConnectionToServerFailed
from sslyze.plugins.scan_commands import ScanCommand
from sslyze.scanner.models import (
    ServerConnectivityStatusEnum,
    ServerScanRequest,
    ServerScanResult,
    ServerScanStatusEnum,
)
from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
from sslyze.scanner.scanner import Scanner
from sslyze.scanner.scanner_observer import ScannerObserver
from sslyze.server_connectivity import ServerTlsProbingResult
from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

from scanner.collectors.tls.models import Endpoint, SslyzeOutcome, suite_properties
from scanner.inventory import knowledge

# Only the scan commands keysweep's rules read: no early data or CCS injection. The groups are
# keysweep's own probe (groups_probe), which also asks for the TLS 1.3 finite-field groups.
CIPHER_SUITE_COMMANDS = {
    ScanCommand.SSL_2_0_CIPHER_SUITES: "SSLv2",
    ScanCommand.SSL_3_0_CIPHER_SUITES: "SSLv3",
    ScanCommand.TLS_1_0_CIPHER_SUITES: "TLSv1.0",
    ScanCommand.TLS_1_1_CIPHER_SUITES: "TLSv1.1",
    ScanCommand.TLS_1_2_CIPHER_SUITES: "TLSv1.2",
    ScanCommand.TLS_1_3_CIPHER_SUITES: "TLSv1.3",
}
SCAN_COMMANDS = frozenset(
    {
        *CIPHER_SUITE_COMMANDS,
        ScanCommand.CERTIFICATE_INFO,
        ScanCommand.TLS_EXTENDED_MASTER_SECRET,
        ScanCommand.TLS_FALLBACK_SCSV,
        ScanCommand.SESSION_RESUMPTION,
        ScanCommand.TLS_COMPRESSION,
        ScanCommand.SESSION_RENEGOTIATION,
        ScanCommand.HEARTBLEED,
        ScanCommand.ROBOT,
        ScanCommand.HTTP_HEADERS,
    }
)
# keysweep's own enumeration (suites_probe) leaves sslyze SSL 2.0 alone; --tls-enumeration sslyze
# gives it every version again, and its elliptic-curves scan, for comparison
ENUMERATION_COMMANDS = frozenset(CIPHER_SUITE_COMMANDS) - {ScanCommand.SSL_2_0_CIPHER_SUITES}
# what keysweep's features_probe reads from ServerHellos instead, when it probes the endpoint
SERVER_HELLO_COMMANDS = frozenset(
    {
        ScanCommand.TLS_COMPRESSION,
        ScanCommand.TLS_EXTENDED_MASTER_SECRET,
        ScanCommand.TLS_FALLBACK_SCSV,
        ScanCommand.HEARTBLEED,
    }
)
# sslyze's ROBOT result when the server accepts no RSA key transport suite
ROBOT_RSA_NOT_SUPPORTED = "NOT_VULNERABLE_RSA_NOT_SUPPORTED"


def commands_for(enumeration: str, *, own_features: bool = False, robot: bool = True) -> frozenset[ScanCommand]:
    """sslyze's commands for one endpoint: all of them with ``--tls-enumeration sslyze``;
    otherwise those keysweep's own hellos do not answer (``own_features``: features_probe runs;
    ``robot``: False when the server accepts no RSA key transport suite)."""
    if enumeration == "sslyze":
        return SCAN_COMMANDS | {ScanCommand.ELLIPTIC_CURVES}
    commands = SCAN_COMMANDS - ENUMERATION_COMMANDS
    if own_features:
        commands -= SERVER_HELLO_COMMANDS
    if not robot:
        commands -= {ScanCommand.ROBOT}
    return commands


class _Observer(ScannerObserver):
    def __init__(self, on_connectivity: Callable[[], None]) -> None:
        self._on_connectivity = on_connectivity

    def server_connectivity_test_error(
        self, server_scan_request: ServerScanRequest, connectivity_error: ConnectionToServerFailed
    ) -> None:
        pass

    def server_connectivity_test_completed(
        self, server_scan_request: ServerScanRequest, connectivity_result: ServerTlsProbingResult
    ) -> None:
        self._on_connectivity()

    def server_scan_completed(self, server_scan_result: ServerScanResult) -> None:
        pass

    def all_server_scans_completed(self) -> None:
        pass


def scan_one(
    endpoint: Endpoint,
    ip: str,
    *,
    timeout: float,
    connections_per_server: int,
    enumeration: str = "keysweep",
    own_features: bool = False,
    robot: bool = True,
    on_connectivity: Callable[[], None] = lambda: None,
) -> SslyzeOutcome:
    """sslyze's scan commands on one endpoint (in the worker process: see sslyze_worker)."""
    commands = commands_for(enumeration, own_features=own_features, robot=robot)
    # sslyze's bundled trust stores hold a root with a negative serial number; not the user's problem
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive", module="sslyze")
    try:
        location = ServerNetworkLocation(hostname=endpoint.host, port=endpoint.port, ip_address=ip)
        network = ServerNetworkConfiguration(
            tls_server_name_indication=endpoint.host,
            # sslyze's timeout is per read; the worker's sockets bound each connection as a whole
            network_timeout=timeout,  # type: ignore[arg-type]
            network_max_retries=2,
        )
        request = ServerScanRequest(
            server_location=location, network_configuration=network, scan_commands=set(commands)
        )
    except Exception as exc:  # e.g. a name sslyze cannot IDNA-encode: this endpoint only
        return SslyzeOutcome(fatal=f"sslyze cannot scan this endpoint: {type(exc).__name__}: {exc}")
    scanner = Scanner(
        per_server_concurrent_connections_limit=connections_per_server,
        concurrent_server_scans_limit=1,
        observers=[_Observer(on_connectivity)],
    )
    scanner.queue_scans([request])
    for result in scanner.get_results():
        try:
            found = outcome(result, commands)
            if robot or found.fatal is not None:
                return found
            return replace(found, properties={**found.properties, "robot": ROBOT_RSA_NOT_SUPPORTED})
        except Exception as exc:  # an sslyze result of a shape this code did not expect
            return SslyzeOutcome(fatal=f"cannot read sslyze's result: {type(exc).__name__}: {exc}")
    return SslyzeOutcome(fatal="sslyze returned no result")


def _trace_message(trace: Any) -> str:
    if trace is None:
        return "unknown error"
    text = "".join(trace.format_exception_only()).strip().splitlines()
    return text[-1] if text else "unknown error"


def outcome(result: ServerScanResult, commands: frozenset[ScanCommand] = SCAN_COMMANDS) -> SslyzeOutcome:
    if result.connectivity_status is ServerConnectivityStatusEnum.ERROR or result.scan_result is None:
        return SslyzeOutcome(fatal=f"TLS connectivity test failed: {_trace_message(result.connectivity_error_trace)}")
    if result.scan_status is not ServerScanStatusEnum.COMPLETED:
        return SslyzeOutcome(fatal=f"scan did not complete ({result.scan_status.value})")
    attempts = result.scan_result
    errors: list[str] = []

    def completed(command: ScanCommand) -> Any:
        attempt = getattr(attempts, command.value)
        if attempt.status is ScanCommandAttemptStatusEnum.COMPLETED:
            return attempt.result
        if attempt.status is ScanCommandAttemptStatusEnum.ERROR:
            reason = attempt.error_reason.value if attempt.error_reason else "error"
            errors.append(f"{command.value}: {reason}: {_trace_message(attempt.error_trace)}")
        return None

    props: dict[str, Any] = {}
    by_protocol: dict[str, list[str]] = {}
    ephemeral: dict[str, dict[str, Any]] = {}
    for command, protocol in CIPHER_SUITE_COMMANDS.items():
        suites = completed(command)
        if suites is None or not suites.accepted_cipher_suites:
            continue
        names = []
        for accepted in suites.accepted_cipher_suites:
            names.append(accepted.cipher_suite.name)
            key = accepted.ephemeral_key
            if key is not None:
                info: dict[str, Any] = {"type": key.type_name, "bits": key.size}
                curve = getattr(key, "curve_name", None)
                if curve:
                    group = knowledge.tls_group(curve)
                    info["group"] = group.name if group else curve
                ephemeral[accepted.cipher_suite.name] = info
        by_protocol[protocol] = sorted(set(names))
    props.update(suite_properties(by_protocol, ephemeral))
    curves = completed(ScanCommand.ELLIPTIC_CURVES) if ScanCommand.ELLIPTIC_CURVES in commands else None
    if curves is not None:  # sslyze's enumeration, kept for comparison with keysweep's groups probe
        props["sslyze_key_exchange_groups"] = [
            (knowledge.tls_group(c.name) or c).name for c in curves.supported_curves or ()
        ]

    chains: list[tuple[bytes, ...]] = []
    certificates = completed(ScanCommand.CERTIFICATE_INFO)
    if certificates is not None:
        deployments = certificates.certificate_deployments
        chains = [tuple(c.public_bytes(Encoding.DER) for c in d.received_certificate_chain) for d in deployments]
        props["ocsp_stapling"] = any(d.ocsp_response is not None for d in deployments)
        props["ocsp_must_staple"] = any(d.leaf_certificate_has_must_staple_extension for d in deployments)
        props["chain_trusted_by"] = sorted(
            {
                f"{r.trust_store.name} {r.trust_store.version}"
                for d in deployments
                for r in d.path_validation_results
                if r.was_validation_successful
            }
        )
        props["chain_valid_order"] = all(d.received_chain_has_valid_order is not False for d in deployments)
        props["server_name_indication"] = certificates.hostname_used_for_server_name_indication

    compression = completed(ScanCommand.TLS_COMPRESSION)
    if compression is not None:
        props["compression"] = compression.supports_compression
    renegotiation = completed(ScanCommand.SESSION_RENEGOTIATION)
    if renegotiation is not None:
        props["secure_renegotiation"] = renegotiation.supports_secure_renegotiation
        props["client_renegotiation_dos"] = renegotiation.is_vulnerable_to_client_renegotiation_dos
    heartbleed = completed(ScanCommand.HEARTBLEED)
    if heartbleed is not None:
        props["heartbleed"] = heartbleed.is_vulnerable_to_heartbleed
    robot = completed(ScanCommand.ROBOT)
    if robot is not None:
        props["robot"] = robot.robot_result.value
    ems = completed(ScanCommand.TLS_EXTENDED_MASTER_SECRET)
    if ems is not None:
        props["extended_master_secret"] = ems.supports_ems_extension
    fallback = completed(ScanCommand.TLS_FALLBACK_SCSV)
    if fallback is not None:
        props["fallback_scsv"] = fallback.supports_fallback_scsv
    resumption = completed(ScanCommand.SESSION_RESUMPTION)
    if resumption is not None:
        props["session_resumption"] = {
            "session_id": resumption.session_id_resumption_result.name.lower(),
            "tls_ticket": resumption.tls_ticket_resumption_result.name.lower(),
        }
    http = completed(ScanCommand.HTTP_HEADERS)
    if http is not None:
        trace = http.http_error_trace
        if trace is not None and getattr(trace, "exc_type", None) in (TimeoutError, socket.timeout):
            # a server that answers too slowly (or drips) is not a server that does not speak HTTP
            errors.append(f"http_headers: no complete HTTP answer in time: {_trace_message(trace)}")
            props["speaks_http"] = None
        else:
            props["speaks_http"] = trace is None
        header = http.strict_transport_security_header
        props["hsts"] = (
            None
            if header is None
            else {
                "max_age": header.max_age,
                "include_subdomains": header.include_subdomains,
                "preload": header.preload,
            }
        )
    return SslyzeOutcome(properties=props, chains=tuple(chains), errors=tuple(errors))

"""sslyze's ``--json_out`` file: each scanned server as the tls-endpoint a live keysweep scan makes.

The properties are those the TLS collector takes from sslyze's Python API (it runs sslyze too), so
the same rules judge them. sslyze does not probe post-quantum groups: ``pq_key_exchange`` is known
only when its curve scan tested one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from cryptography import x509

from scanner.collectors.imports.base import ImportFormatError, ImportSource, group_name, pq_key_exchange, tls_endpoint
from scanner.inventory.model import Observation

# sslyze's scan command (JSON key) -> protocol, in the order the TLS collector reports them
CIPHER_SUITE_KEYS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


class SslyzeImporter:
    name: ClassVar[str] = "sslyze"

    def detect(self, document: Any) -> bool:
        return isinstance(document, dict) and "server_scan_results" in document and "sslyze_version" in document

    def observations(self, document: Any, source: ImportSource) -> Iterator[Observation]:
        for entry in document.get("server_scan_results") or []:
            location = entry.get("server_location") or {}
            host, port = location.get("hostname"), location.get("port")
            if not isinstance(host, str) or not isinstance(port, int):
                yield source.error(f"a server result without hostname and port: {str(location)[:200]}")
                continue
            where = f"{host}:{port}"
            if entry.get("connectivity_status") != "COMPLETED" or not entry.get("scan_result"):
                trace = entry.get("connectivity_error_trace") or {}
                yield source.error(f"{where}: sslyze could not connect: {str(trace)[:300] or 'no reason given'}")
                continue
            if entry.get("scan_status") != "COMPLETED":
                yield source.error(f"{where}: sslyze's scan did not complete ({entry.get('scan_status')})")
                continue
            try:
                properties, chains, errors = _endpoint(entry["scan_result"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ImportFormatError(
                    f"{where}: unexpected sslyze result shape: {type(exc).__name__}: {exc}"
                ) from None
            for message in errors:
                yield source.error(f"{where}: {message}")
            yield from tls_endpoint(host, port, properties, chains, source)


def _completed(scan: Mapping[str, Any], key: str, errors: list[str]) -> Any:
    attempt = scan.get(key) or {}
    status = attempt.get("status")
    if status == "COMPLETED":
        return attempt.get("result")
    if status == "ERROR":
        errors.append(f"{key}: {attempt.get('error_reason') or 'error'}")
    return None


def _endpoint(scan: Mapping[str, Any]) -> tuple[dict[str, Any], list[list[x509.Certificate]], list[str]]:
    errors: list[str] = []
    props: dict[str, Any] = {}
    by_protocol: dict[str, list[str]] = {}
    ephemeral: dict[str, dict[str, Any]] = {}
    for key, protocol in CIPHER_SUITE_KEYS.items():
        result = _completed(scan, key, errors)
        if not result or not result.get("accepted_cipher_suites"):
            continue
        names = []
        for accepted in result["accepted_cipher_suites"]:
            name = accepted["cipher_suite"]["name"]
            names.append(name)
            key_info = accepted.get("ephemeral_key")
            if key_info:
                info: dict[str, Any] = {"type": key_info["type_name"], "bits": key_info["size"]}
                if key_info.get("curve_name"):
                    info["group"] = group_name(key_info["curve_name"])
                ephemeral[name] = info
        by_protocol[protocol] = sorted(set(names))
    props["protocols"] = [p for p in CIPHER_SUITE_KEYS.values() if p in by_protocol]
    props["cipher_suites"] = sorted({n for names in by_protocol.values() for n in names})
    props["cipher_suites_by_protocol"] = by_protocol
    props["ephemeral_keys"] = ephemeral
    props["dh_key_sizes"] = sorted({int(k["bits"]) for k in ephemeral.values() if k["type"] == "DH"})

    curves = _completed(scan, "elliptic_curves", errors)
    supported = [group_name(c["name"]) for c in (curves or {}).get("supported_curves") or []]
    rejected = [group_name(c["name"]) for c in (curves or {}).get("rejected_curves") or []]
    props["key_exchange_groups"] = supported
    props["pq_key_exchange"], props["pq_groups_probed"] = pq_key_exchange(supported, supported + rejected)

    chains: list[list[x509.Certificate]] = []
    certificates = _completed(scan, "certificate_info", errors)
    if certificates:
        deployments = certificates.get("certificate_deployments") or []
        for deployment in deployments:
            chain = [
                x509.load_pem_x509_certificate(c["as_pem"].encode()) for c in deployment["received_certificate_chain"]
            ]
            chains.append(chain)
        props["ocsp_stapling"] = any(d.get("ocsp_response") is not None for d in deployments)
        props["ocsp_must_staple"] = any(d.get("leaf_certificate_has_must_staple_extension") for d in deployments)
        props["chain_trusted_by"] = sorted(
            {
                f"{r['trust_store']['name']} {r['trust_store']['version']}"
                for d in deployments
                for r in d.get("path_validation_results") or []
                if r.get("was_validation_successful")
            }
        )
        props["chain_valid_order"] = all(d.get("received_chain_has_valid_order") is not False for d in deployments)
        props["server_name_indication"] = certificates.get("hostname_used_for_server_name_indication")

    compression = _completed(scan, "tls_compression", errors)
    if compression is not None:
        props["compression"] = compression["supports_compression"]
    renegotiation = _completed(scan, "session_renegotiation", errors)
    if renegotiation is not None:
        props["secure_renegotiation"] = renegotiation["supports_secure_renegotiation"]
        props["client_renegotiation_dos"] = renegotiation["is_vulnerable_to_client_renegotiation_dos"]
    heartbleed = _completed(scan, "heartbleed", errors)
    if heartbleed is not None:
        props["heartbleed"] = heartbleed["is_vulnerable_to_heartbleed"]
    robot = _completed(scan, "robot", errors)
    if robot is not None:
        props["robot"] = robot["robot_result"]
    http = _completed(scan, "http_headers", errors)
    if http is not None:
        props["speaks_http"] = http.get("http_error_trace") is None
        header = http.get("strict_transport_security_header")
        props["hsts"] = (
            None if header is None else {k: header.get(k) for k in ("max_age", "include_subdomains", "preload")}
        )
    return props, chains, errors

"""testssl.sh's ``--jsonfile`` (flat) and ``--jsonfile-pretty`` JSON: each host:port as the
tls-endpoint a live keysweep scan makes.

testssl.sh writes one finding per line (``id``, ``ip`` as ``host/address``, ``port``, ``finding``);
the protocol lines, the per-cipher lines of ``-E``/``-e`` (IANA name in the last column), the
curves of ``-f``, the certificates of ``-S`` (PEM) and the HSTS lines of ``-h`` become endpoint
properties. What a run did not test stays unknown (absent), never "not offered".
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from cryptography import x509

from scanner.collectors.imports.base import ImportSource, group_name, pq_key_exchange, tls_endpoint
from scanner.inventory.model import Observation

PROTOCOL_IDS = {
    "SSLv2": "SSLv2",
    "SSLv3": "SSLv3",
    "TLS1": "TLSv1.0",
    "TLS1_1": "TLSv1.1",
    "TLS1_2": "TLSv1.2",
    "TLS1_3": "TLSv1.3",
}
_CIPHER_PROTOCOL = {
    "ssl2": "SSLv2",
    "ssl3": "SSLv3",
    "tls1": "TLSv1.0",
    "tls1_1": "TLSv1.1",
    "tls1_2": "TLSv1.2",
    "tls1_3": "TLSv1.3",
}
_CIPHER_ID = re.compile(r"^cipher-(ssl2|ssl3|tls1|tls1_1|tls1_2|tls1_3)_x[0-9a-f]+$")
# "ECDH 253", "DH 1024", "RSA" in the key-exchange column of a cipher line
_KX = re.compile(r"\b(ECDH|DH)\s+(\d+)\b")
_CERT_ID = re.compile(r"^(cert|intermediate_cert)(?:\s*<(?:hostCert|cert)?#?(\d+)>)?$")
_PEM_BODY = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
# X25519 is an ECDH share of 253 bits in testssl's columns; X448 one of 448
_ECDH_BITS_GROUP = {253: "x25519", 448: "x448", 256: "secp256r1", 384: "secp384r1", 521: "secp521r1"}


def _entries(document: Any) -> list[Mapping[str, Any]]:
    if isinstance(document, list):
        return [e for e in document if isinstance(e, dict)]
    # --jsonfile-pretty: {"scanResult": [{"targetHost", "ip", "port", "protocols": [...], ...}]}
    flat: list[Mapping[str, Any]] = []
    for result in document.get("scanResult") or []:
        where = {"ip": f"{result.get('targetHost', '')}/{result.get('ip', '')}", "port": result.get("port")}
        for value in result.values():
            if isinstance(value, list):
                flat += [{**where, **e} for e in value if isinstance(e, dict) and "id" in e]
    return flat


class TestsslImporter:
    name: ClassVar[str] = "testssl.sh"

    def detect(self, document: Any) -> bool:
        if isinstance(document, dict):
            return "scanResult" in document and "Invocation" in document
        return (
            isinstance(document, list)
            and bool(document)
            and all(isinstance(e, dict) and {"id", "finding"} <= e.keys() for e in document[:20])
            and any("port" in e and "ip" in e for e in document[:20])
        )

    def observations(self, document: Any, source: ImportSource) -> Iterator[Observation]:
        by_endpoint: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
        for entry in _entries(document):
            ip, port_text = str(entry.get("ip") or ""), str(entry.get("port") or "")
            if not ip or ip.startswith("/") or not port_text.isdigit():
                continue  # testssl's own notices (engine problems, scan time) name no endpoint
            by_endpoint[(ip.split("/", 1)[0], int(port_text))].append(entry)
        if not by_endpoint:
            yield source.error("no endpoint results in the testssl.sh file")
        for (host, port), entries in by_endpoint.items():
            for entry in entries:
                if entry.get("id") == "scanProblem" or str(entry.get("severity")) == "FATAL":
                    yield source.error(f"{host}:{port}: testssl.sh: {entry.get('finding')}")
            properties, chains = _endpoint(entries)
            if not properties.get("protocols") and not chains:
                yield source.error(f"{host}:{port}: testssl.sh found no protocol and no certificate")
                continue
            yield from tls_endpoint(host, port, properties, chains, source)


def _certificate(finding: str) -> x509.Certificate | None:
    match = _PEM_BODY.search(finding)
    if match is None:
        return None
    # testssl.sh writes the PEM on one line, its base64 lines joined by spaces
    return x509.load_der_x509_certificate(base64.b64decode("".join(match.group(1).split())))


def _endpoint(entries: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[list[x509.Certificate]]]:
    by_id = {str(e["id"]): str(e.get("finding", "")) for e in entries}
    props: dict[str, Any] = {}
    offered = {
        protocol: by_id[key].startswith("offered")
        for key, protocol in PROTOCOL_IDS.items()
        if key in by_id and ("offered" in by_id[key])
    }
    by_protocol: dict[str, set[str]] = defaultdict(set)
    ephemeral: dict[str, dict[str, Any]] = {}
    for key, finding in by_id.items():
        match = _CIPHER_ID.match(key)
        if not match:
            continue
        columns = finding.split()
        if not columns:
            continue
        name = columns[-1]
        by_protocol[_CIPHER_PROTOCOL[match.group(1)]].add(name)
        kx = _KX.search(finding)
        if kx:
            info: dict[str, Any] = {"type": kx.group(1), "bits": int(kx.group(2))}
            group = _ECDH_BITS_GROUP.get(int(kx.group(2))) if kx.group(1) == "ECDH" else None
            if group:
                info["group"] = group_name(group)
            ephemeral[name] = info
    if by_protocol:
        # with per-cipher lines, a protocol with accepted suites is offered whatever the summary line says
        protocols = [p for p in PROTOCOL_IDS.values() if by_protocol.get(p) or (offered.get(p) and not by_protocol)]
        props["cipher_suites_by_protocol"] = {p: sorted(by_protocol[p]) for p in protocols if p in by_protocol}
        props["cipher_suites"] = sorted({n for names in by_protocol.values() for n in names})
        props["ephemeral_keys"] = ephemeral
        props["dh_key_sizes"] = sorted({int(k["bits"]) for k in ephemeral.values() if k["type"] == "DH"})
    else:
        protocols = [p for p in PROTOCOL_IDS.values() if offered.get(p)]
    props["protocols"] = protocols

    if "PFS_ECDHE_curves" in by_id:
        groups = [group_name(g) for g in by_id["PFS_ECDHE_curves"].split()]
        props["key_exchange_groups"] = groups
        props["pq_key_exchange"], props["pq_groups_probed"] = pq_key_exchange(groups, groups)
    if "OCSP_stapling" in by_id:
        props["ocsp_stapling"] = by_id["OCSP_stapling"].startswith("offered")
    if "service" in by_id:
        props["speaks_http"] = by_id["service"].strip().upper() == "HTTP"
    if "HSTS_time" in by_id:
        seconds = re.search(r"=(\d+) seconds", by_id["HSTS_time"])
        subdomains, preload = by_id.get("HSTS_subdomains", "").lower(), by_id.get("HSTS_preload", "").lower()
        props["hsts"] = {
            "max_age": int(seconds.group(1)) if seconds else None,
            "include_subdomains": subdomains.startswith("includes"),
            "preload": "is marked for preloading" in preload,
        }
    elif by_id.get("HSTS", "").startswith("not offered"):
        props["hsts"] = None
    # the vulnerability lines (-R, -H) say "supported (OK)", "not vulnerable (OK)" or "VULNERABLE ..."
    if "secure_renego" in by_id:
        props["secure_renegotiation"] = by_id["secure_renego"].lower().startswith("supported")
    if "secure_client_renego" in by_id:
        props["client_renegotiation_dos"] = by_id["secure_client_renego"].startswith("VULNERABLE")
    if "heartbleed" in by_id:
        props["heartbleed"] = by_id["heartbleed"].startswith("VULNERABLE")

    chains: dict[str, list[tuple[int, x509.Certificate]]] = defaultdict(list)
    for key, finding in by_id.items():
        match = _CERT_ID.match(key)
        if not match or "BEGIN CERTIFICATE" not in finding:
            continue
        cert = _certificate(finding)
        if cert is None:
            continue
        # "cert" / "cert <hostCert#N>" is the leaf of deployment N; intermediates follow in order
        if match.group(1) == "cert":
            chains[match.group(2) or "1"].insert(0, (0, cert))
        else:
            chains["1"].append((int(match.group(2) or 1), cert))
    ordered = [[c for _, c in sorted(chain, key=lambda item: item[0])] for _, chain in sorted(chains.items())]
    return props, ordered

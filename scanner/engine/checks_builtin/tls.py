"""Checks on TLS endpoints: protocol versions, cipher suites, key exchange, presented chain, headers.

Certificate-level problems of a presented chain (expired, weak key, SHA-1) are the generic
certificate and key checks' business: the chain's certificates are ordinary graph nodes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.inventory import knowledge
from scanner.inventory.enrich import parse_time
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, Severity
from scanner.plurals import noun

_VERSION_LABELS = {
    "SSLv2": "SSL 2.0",
    "SSLv3": "SSL 3.0",
    "TLSv1.0": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


def endpoint_name(props: Mapping[str, Any]) -> str:
    """host:port, with an IPv6 host in brackets."""
    host, port = props.get("host", "?"), props.get("port", "?")
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def _scanned(props: Mapping[str, Any]) -> bool:
    """Cipher-suite scans completed: an endpoint with nothing known says nothing either way."""
    return bool(props.get("protocols"))


def deprecated_protocol_version(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """One hit per accepted protocol version below the minimum (SP 800-52r2: TLS 1.2)."""
    props = asset.properties
    disallowed: Sequence[str] = params.get("disallowed", ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"])
    critical = set(params.get("critical", ["SSLv2", "SSLv3"]))
    for version in props.get("protocols", []):
        if version in disallowed:
            suites = props.get("cipher_suites_by_protocol", {}).get(version, [])
            yield Hit(
                f"{endpoint_name(props)} accepts {_VERSION_LABELS.get(version, version)}",
                {"protocol": version, "cipher_suites": list(suites)},
                severity=Severity.CRITICAL if version in critical else None,
                discriminator=version,
            )


def tls13_not_supported(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    if _scanned(props) and "TLSv1.3" not in props["protocols"]:
        yield Hit(
            f"{endpoint_name(props)} does not support TLS 1.3 (accepts {', '.join(props['protocols'])})",
            {"protocols": list(props["protocols"])},
        )


def weak_cipher_suites(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """One hit per weakness (NULL, anonymous, export, RC4, DES, 3DES) listing the suites that have it."""
    props = asset.properties
    wanted: Sequence[str] = params.get("weaknesses", ["null", "anonymous", "export", "rc4", "des"])
    critical = set(params.get("critical", []))
    by_weakness: dict[str, list[str]] = {}
    for suite in props.get("cipher_suites", []):
        for weakness in knowledge.cipher_suite_facts(suite).weaknesses:
            if weakness in wanted:
                by_weakness.setdefault(weakness, []).append(suite)
    for weakness in wanted:
        suites = by_weakness.get(weakness)
        if suites:
            yield Hit(
                f"{endpoint_name(props)} accepts {len(suites)} {weakness.upper() if len(weakness) <= 4 else weakness} "
                f"{noun(len(suites), 'cipher suite')}: {', '.join(suites)}",
                {"weakness": weakness, "cipher_suites": suites},
                severity=Severity.CRITICAL if weakness in critical else None,
                discriminator=weakness,
            )


def rsa_key_transport(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    suites = [s for s in props.get("cipher_suites", []) if knowledge.cipher_suite_facts(s).key_transport]
    if suites:
        yield Hit(
            f"{endpoint_name(props)} accepts RSA key transport (no forward secrecy): {', '.join(suites)}",
            {"cipher_suites": suites},
        )


def no_forward_secrecy(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """No accepted suite uses an ephemeral key exchange: every session can be decrypted later."""
    props = asset.properties
    if not _scanned(props) or not props.get("cipher_suites"):
        return
    if not any(knowledge.cipher_suite_facts(s).forward_secrecy for s in props["cipher_suites"]):
        yield Hit(
            f"{endpoint_name(props)} offers no cipher suite with forward secrecy (no ECDHE or DHE)",
            {"cipher_suites": list(props["cipher_suites"])},
        )


def weak_key_exchange(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Finite-field DH groups under min_dh_bits, and ECDH groups under min_group_bits of strength."""
    props = asset.properties
    min_dh = int(params.get("min_dh_bits", 2048))
    min_group_bits = int(params.get("min_group_bits", 112))
    weak_dh = {
        suite: int(key["bits"])
        for suite, key in props.get("ephemeral_keys", {}).items()
        if key.get("type") == "DH" and int(key["bits"]) < min_dh
    }
    if weak_dh:
        sizes = sorted(set(weak_dh.values()))
        yield Hit(
            f"{endpoint_name(props)} uses Diffie-Hellman groups of {', '.join(map(str, sizes))} bits "
            f"(at least {min_dh} required) with {', '.join(sorted(weak_dh))}",
            {"dh_bits": sizes, "cipher_suites": sorted(weak_dh), "required_bits": min_dh},
            discriminator="dh",
        )
    weak_groups = []
    for name in props.get("key_exchange_groups", []):
        group = knowledge.tls_group(name)
        if group is not None and group.bits < min_group_bits:
            weak_groups.append(group.name)
    if weak_groups:
        yield Hit(
            f"{endpoint_name(props)} accepts key-exchange groups below {min_group_bits} bits of security: "
            f"{', '.join(weak_groups)}",
            {"groups": weak_groups, "required_bits": min_group_bits},
            discriminator="groups",
        )


def _leaves(asset: Asset, graph: InventoryGraph) -> list[Asset]:
    return [graph.asset(c) for c in asset.properties.get("leaf_certificates", []) if c in graph]


def self_signed_leaf(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    for leaf in _leaves(asset, graph):
        if leaf.properties.get("self_signed"):
            yield Hit(
                f"{endpoint_name(props)} presents a self-signed certificate ({leaf.properties.get('subject')}): "
                "clients can only trust it by pinning it",
                {"certificate": leaf.id, "subject": leaf.properties.get("subject")},
                discriminator=leaf.id,
            )


def _dns_matches(pattern: str, host: str) -> bool:
    """RFC 6125 section 6.4.3: a wildcard only as the whole left-most label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == pattern[2:] and "*" not in pattern[2:]
    return False


def names_match(host: str, san: Sequence[str], subject: str = "") -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(e.startswith("IP:") and ipaddress.ip_address(e[3:]) == address for e in san)
    dns = [e[4:] for e in san if e.startswith("DNS:")]
    if not dns and subject:  # no SAN at all: the common name, as legacy clients read it
        dns = [part[3:] for part in subject.split(",") if part.startswith("CN=")]
    return any(_dns_matches(name, host) for name in dns)


def hostname_mismatch(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    host = str(props.get("host", ""))
    for leaf in _leaves(asset, graph):
        san = list(leaf.properties.get("san", []))
        if not names_match(host, san, str(leaf.properties.get("subject", ""))):
            yield Hit(
                f"{endpoint_name(props)} presents a certificate for "
                f"{', '.join(san) or leaf.properties.get('subject')}, which does not name {host}",
                {"host": host, "san": san, "subject": leaf.properties.get("subject"), "certificate": leaf.id},
                discriminator=leaf.id,
            )


def no_ocsp_stapling(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    if props.get("ocsp_stapling") is False:
        has_url = any(leaf.properties.get("ocsp_urls") for leaf in _leaves(asset, graph))
        why = "" if has_url else " (its certificate names no OCSP responder, so it cannot staple one)"
        yield Hit(
            f"{endpoint_name(props)} does not staple an OCSP response{why}",
            {"ocsp_stapling": False, "leaf_has_ocsp_url": has_url},
        )


def hsts_missing(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """HTTPS without Strict-Transport-Security, or with a max-age shorter than min_max_age."""
    props = asset.properties
    if not props.get("speaks_http"):
        return
    minimum = int(params.get("min_max_age", 31536000))
    hsts = props.get("hsts")
    if hsts is None:
        yield Hit(f"{endpoint_name(props)} serves HTTPS without a Strict-Transport-Security header", {"hsts": None})
    elif (hsts.get("max_age") or 0) < minimum:
        yield Hit(
            f"{endpoint_name(props)} sends Strict-Transport-Security with max-age {hsts.get('max_age')} "
            f"(at least {minimum} required)",
            {"hsts": dict(hsts), "required_max_age": minimum},
        )


def _flag(name: str, message: str) -> Any:
    def check(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
        props = asset.properties
        value = props.get(name)
        if value is True:
            yield Hit(f"{endpoint_name(props)} {message}", {name: True})

    check.__name__ = name
    check.__doc__ = message
    return check


tls_compression = _flag("compression", "accepts TLS compression (CRIME)")
heartbleed = _flag("heartbleed", "is vulnerable to Heartbleed (CVE-2014-0160): memory can be read remotely")


def insecure_renegotiation(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    if props.get("secure_renegotiation") is False:
        yield Hit(
            f"{endpoint_name(props)} does not support secure renegotiation (RFC 5746)", {"secure_renegotiation": False}
        )
    if props.get("client_renegotiation_dos") and params.get("client_initiated", True):
        yield Hit(
            f"{endpoint_name(props)} accepts many client-initiated renegotiations (denial of service)",
            {"client_renegotiation_dos": True},
            discriminator="client-initiated",
        )


def robot(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    props = asset.properties
    result = str(props.get("robot") or "")
    if result.startswith("VULNERABLE"):
        strong = result == "VULNERABLE_STRONG_ORACLE"
        yield Hit(
            f"{endpoint_name(props)} is vulnerable to ROBOT ({'strong' if strong else 'weak'} Bleichenbacher oracle)",
            {"robot": result},
            severity=None if strong else Severity.MEDIUM,
        )


def _verdicts(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [v for v in props.get("chain_validation", []) if isinstance(v, Mapping)]


def _shown(names: Sequence[str]) -> str:
    """A chain as the server sent it, leaf first."""
    return " <- ".join(names)


def _chain_hit(verdict: Mapping[str, Any], message: str, **extra: Any) -> Hit:
    """A finding on one presented chain: the chain in the evidence, one finding per leaf."""
    evidence = {
        "presented": list(verdict.get("presented", [])),
        "path": list(verdict.get("path", [])),
        "status": verdict.get("status"),
        "trusted_by": verdict.get("trusted_by"),
        **extra,
    }
    return Hit(message, evidence, discriminator=str(verdict.get("path_ids", [""])[0]))


def chain_incomplete(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """The server does not send an intermediate: no path from its leaf to an anchor with what it sends."""
    props = asset.properties
    for verdict in _verdicts(props):
        if verdict.get("status") == "incomplete":
            path = list(verdict.get("path", []))
            yield _chain_hit(
                verdict,
                f"{endpoint_name(props)} sends an incomplete chain: the issuer of {path[-1] if path else '?'} "
                f"({verdict.get('missing_issuer')}) is neither sent nor a trust anchor "
                f"(chain sent: {_shown(verdict.get('presented', []))})",
                missing_issuer=verdict.get("missing_issuer"),
            )


def chain_untrusted_root(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """The chain ends at a self-signed root that neither the system store nor --ca-file/--ca-path holds."""
    props = asset.properties
    for verdict in _verdicts(props):
        if verdict.get("status") == "untrusted-root":
            path = list(verdict.get("path", []))
            root = verdict.get("missing_issuer") or (path[-1] if path else "?")
            yield _chain_hit(
                verdict,
                f"{endpoint_name(props)} chains to the root {root}, which no trust anchor holds "
                f"(system store, --ca-file, --ca-path) (chain: {_shown(path)})",
            )


def chain_wrong_order(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Each certificate after the leaf must certify the one before it (RFC 5246 section 7.4.2)."""
    props = asset.properties
    for verdict in _verdicts(props):
        if verdict.get("valid_order") is False:
            yield _chain_hit(
                verdict, f"{endpoint_name(props)} sends its chain out of order: {_shown(verdict.get('presented', []))}"
            )


def chain_expired_intermediate(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A CA certificate the server sends (after the leaf, not a self-signed root) has expired by the as-of date."""
    props = asset.properties
    seen: set[str] = set()
    for chain in props.get("certificate_chains", []):
        for cert_id in list(chain)[1:]:
            if cert_id in seen or cert_id not in graph:
                continue
            seen.add(cert_id)
            cert = graph.asset(cert_id).properties
            if cert.get("self_signed") or not cert.get("not_after"):
                continue
            if parse_time(cert["not_after"]) < context.as_of:
                names = [str(graph.asset(c).properties.get("subject", c)) if c in graph else c for c in chain]
                yield Hit(
                    f"{endpoint_name(props)} sends the intermediate {cert.get('subject')}, expired on "
                    f"{cert['not_after']} (chain sent: {_shown(names)})",
                    {"certificate": cert_id, "not_after": cert["not_after"], "presented": names},
                    discriminator=cert_id,
                )


def no_extended_master_secret(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """TLS 1.2 and below without RFC 7627's extended master secret (triple handshake); 1.3 has it built in."""
    props = asset.properties
    legacy = [p for p in props.get("protocols", []) if p != "TLSv1.3"]
    if legacy and props.get("extended_master_secret") is False:
        yield Hit(
            f"{endpoint_name(props)} does not support the extended master secret extension over "
            f"{', '.join(legacy)} (RFC 7627)",
            {"extended_master_secret": False, "protocols": legacy},
        )


def no_fallback_scsv(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Several protocol versions and no TLS_FALLBACK_SCSV: a downgrade goes unnoticed (RFC 7507)."""
    props = asset.properties
    protocols = list(props.get("protocols", []))
    if len(protocols) > 1 and props.get("fallback_scsv") is False:
        yield Hit(
            f"{endpoint_name(props)} accepts {', '.join(protocols)} but not TLS_FALLBACK_SCSV: "
            "a forced downgrade goes unnoticed",
            {"fallback_scsv": False, "protocols": protocols},
        )


@accepts("disallowed")
def weak_signature_schemes(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Handshake signatures the server agrees to make with a disallowed scheme (default: SHA-1)."""
    props = asset.properties
    disallowed = set(params.get("disallowed", ["rsa_pkcs1_sha1", "ecdsa_sha1"]))
    for version, schemes in sorted(dict(props.get("signature_algorithms", {})).items()):
        weak = [s for s in schemes if s in disallowed]
        if weak:
            yield Hit(
                f"{endpoint_name(props)} signs {_VERSION_LABELS.get(version, version)} handshakes with "
                f"{', '.join(weak)} when a client asks",
                {"protocol": version, "signature_algorithms": weak},
                discriminator=version,
            )

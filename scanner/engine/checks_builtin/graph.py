"""Graph checks: what one asset means given what it is connected to.

Each check looks only at an asset's neighbours (bounded walks), and facts about the whole graph
(the set of trusted anchors) are computed once per evaluation through ``context.once``, so that
the engine stays linear in the size of the inventory.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from scanner.engine.checks import EvalContext, Hit, Run, accepts, fast_form
from scanner.engine.checks_builtin.neighbours import certifying
from scanner.inventory.enrich import parse_time
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType
from scanner.inventory.trust import acts_as_ca

# extended key usages (cryptography's names) grouped into the functions SP 800-57 tells apart;
# serverAuth and clientAuth together are one function (TLS authentication)
_DEFAULT_FUNCTIONS = {
    "serverAuth": "tls-authentication",
    "clientAuth": "tls-authentication",
    "codeSigning": "code-signing",
    "emailProtection": "email-protection",
    "timeStamping": "time-stamping",
    "OCSPSigning": "ocsp-signing",
}
_MAX_CHAIN = 16


def _label(props: Mapping[str, Any]) -> str:
    algorithm = props.get("algorithm") or "key"
    return f"{algorithm} {props.get('curve') or props.get('key_size') or ''}".strip()


def _end_entity_certs(graph: InventoryGraph, context: EvalContext, key_id: str) -> list[Asset]:
    certificate = AssetType.CERTIFICATE  # read once: an enum member lookup is slow in a long loop
    return [c for c in certifying(graph, context, key_id) if c.type is certificate and not acts_as_ca(c.properties)]


@accepts("max_identities", "max_hosts")
def key_shared(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """One key behind certificates for several identities, or served by several hosts.

    Renewals for one subject are the key-reuse-on-renewal rule's business, not this one's.
    """
    certs = _end_entity_certs(graph, context, asset.id)
    identities = sorted({str(c.properties.get("subject") or c.id) for c in certs})
    max_identities = int(params.get("max_identities", 1))
    if len(identities) > max_identities:
        yield Hit(
            f"{_label(asset.properties)} is certified for {len(identities)} identities: {'; '.join(identities)}",
            {"identities": identities, "certificates": sorted(c.id for c in certs)},
            discriminator="identities",
        )
    hosts: set[str] = set()
    presents = RelationType.PRESENTS
    for cert in certifying(graph, context, asset.id):
        for endpoint in graph.predecessors(cert.id, presents):
            hosts.add(str(endpoint.properties.get("host") or endpoint.id))
    max_hosts = int(params.get("max_hosts", 1))
    if len(hosts) > max_hosts:
        yield Hit(
            f"{_label(asset.properties)} is served by {len(hosts)} hosts: {', '.join(sorted(hosts))}",
            {"hosts": sorted(hosts)},
            discriminator="hosts",
        )


def _key_functions_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    mapping: Mapping[str, str] = params.get("functions", _DEFAULT_FUNCTIONS)

    def run(asset: Asset) -> tuple[Hit, ...]:
        # the function names alone decide whether there is a hit; the check collects the
        # certificates behind each function only when there are two or more
        # (the distinct usages first, named once each: thousands of certificates share a few lists)
        signing = False
        usages: set[Any] = set()
        for cert in certifying(graph, context, asset.id):
            props = cert.properties
            if acts_as_ca(props) or "key_cert_sign" in (props.get("key_usage") or ()):
                signing = True
            else:
                usages.update(props.get("extended_key_usage") or ())
        names = {mapping.get(str(eku), str(eku)) for eku in usages}
        if signing:
            names.add("certificate-signing")
        if len(names) > 1:
            return tuple(key_functions(asset, graph, params, context))
        return ()

    return run


@fast_form(_key_functions_fast)
@accepts("functions")
def key_functions(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """One key used for several functions: certificate signing and end-entity use, or TLS and code signing."""
    mapping: Mapping[str, str] = params.get("functions", _DEFAULT_FUNCTIONS)
    functions: dict[str, set[str]] = {}
    for cert in certifying(graph, context, asset.id):
        props = cert.properties
        if acts_as_ca(props) or "key_cert_sign" in (props.get("key_usage") or ()):
            functions.setdefault("certificate-signing", set()).add(cert.id)
            continue
        for eku in props.get("extended_key_usage") or ():
            functions.setdefault(mapping.get(str(eku), str(eku)), set()).add(cert.id)
    if len(functions) > 1:
        names = sorted(functions)
        yield Hit(
            f"{_label(asset.properties)} serves {len(names)} functions: {', '.join(names)}; "
            "a key should have one function",
            {"functions": {name: sorted(ids) for name, ids in sorted(functions.items())}},
        )


@accepts()
def kek_weaker_than_wrapped(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key-encryption key with less security strength than a key it wraps."""
    bits = asset.properties.get("security_bits")
    if bits is None:
        return
    for wrapped in graph.successors(asset.id, RelationType.WRAPS):
        wrapped_bits = wrapped.properties.get("security_bits")
        if wrapped_bits is not None and wrapped_bits > bits:
            yield Hit(
                f"{_label(asset.properties)} ({bits} bits) wraps {_label(wrapped.properties)} ({wrapped_bits} bits): "
                "a key-encryption key must be at least as strong as the keys it protects",
                {"kek_bits": bits, "wrapped": wrapped.id, "wrapped_bits": wrapped_bits},
                discriminator=wrapped.id,
            )


def _trusted(graph: InventoryGraph) -> frozenset[str]:
    trusted: set[str] = set()
    for store_id in graph.asset_ids(AssetType.TRUST_STORE):
        trusted.update(c.id for c in graph.successors(store_id, RelationType.TRUSTS))
    return frozenset(trusted)


def _ancestors(graph: InventoryGraph, cert: Asset) -> list[Asset]:
    """The certificate and every issuer above it the inventory knows (all paths, for cross-signed CAs)."""
    found = [cert]
    seen = {cert.id}
    frontier = [cert]
    for _ in range(_MAX_CHAIN):
        next_level = []
        for current in frontier:
            for issuer in graph.successors(current.id, RelationType.ISSUED_BY):
                if issuer.id not in seen:
                    seen.add(issuer.id)
                    found.append(issuer)
                    next_level.append(issuer)
        if not next_level:
            break
        frontier = next_level
    return found


def _untrusted_root_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    if not context.once("graph.has-trust-store", lambda: any(graph.asset_ids(AssetType.TRUST_STORE))):
        return lambda asset: ()  # judged only when the scan found a trust store
    include_ca = params.get("include_ca", False)

    def run(asset: Asset) -> tuple[Hit, ...]:
        if not include_ca and acts_as_ca(asset.properties):
            return ()
        return tuple(untrusted_root(asset, graph, params, context))

    return run


@fast_form(_untrusted_root_fast)
@accepts("include_ca")
def untrusted_root(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A certificate chaining to a root that no scanned trust store holds.

    Judged only when the scan found at least one trust store. A certificate is trusted when any
    certificate on any of its issuer paths is an anchor; a chain whose top is not a root (its
    issuer was not found) is left alone: where it ends is unknown.
    """
    if not params.get("include_ca", False) and acts_as_ca(asset.properties):
        return
    if not context.once("graph.has-trust-store", lambda: any(graph.asset_ids(AssetType.TRUST_STORE))):
        return
    trusted = context.once("graph.trusted-anchors", lambda: _trusted(graph))
    chain = _ancestors(graph, asset)
    if any(c.id in trusted for c in chain):
        return
    roots = [c for c in chain if c.properties.get("self_signed")]
    if not roots:
        return
    names = [str(r.properties.get("subject") or r.id) for r in roots]
    yield Hit(
        f"certificate {asset.properties.get('subject') or asset.id} chains to {', '.join(names)}, "
        "which no scanned trust store holds",
        {"roots": [r.id for r in roots], "root_subjects": names, "chain": [c.id for c in chain]},
    )


@accepts("min_bits", "approved_fingerprints")
def trust_store_anchors(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Anchors a trust store should not hold: expired, weak keys, or not on an approved list.

    ``approved_fingerprints`` (SHA-256 hex of the approved roots, e.g. the Federal PKI's) makes
    every other anchor unapproved; without it only expired and weak anchors are reported.
    """
    approved = {str(f).lower().replace(":", "") for f in params.get("approved_fingerprints", [])}
    min_bits = int(params.get("min_bits", 112))
    for cert in graph.successors(asset.id, RelationType.TRUSTS):
        props = cert.properties
        problems: list[str] = []
        if props.get("not_after") and parse_time(props["not_after"]) < context.as_of:
            problems.append(f"expired on {props['not_after']}")
        for key in graph.successors(cert.id, RelationType.CERTIFIES):
            bits = key.properties.get("security_bits")
            if bits is not None and bits < min_bits:
                problems.append(f"{_label(key.properties)} key gives {bits} bits (< {min_bits})")
        if approved and str(props.get("sha256_fingerprint", "")).lower() not in approved:
            problems.append("not on the approved list of roots")
        if problems:
            yield Hit(
                f"trust store {asset.properties.get('path') or asset.id} holds {props.get('subject') or cert.id}: "
                + "; ".join(problems),
                {"anchor": cert.id, "subject": props.get("subject"), "problems": problems},
                discriminator=cert.id,
            )

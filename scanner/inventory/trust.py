"""Trust stores, decided by where certificates sit and how they are used, never by counting them.

A file of several CA certificates is not a trust store by that fact: a chain file (an untrusted
root plus its intermediate) looks the same, and calling it a trust store silences the rule that
should flag its root. A trust store is what relying software reads as anchors:
- a system trust location (a distribution's CA bundle or anchor directory, Java ``cacerts``,
  certifi's bundle), by path; a conventional bundle name (``ca-bundle.crt``) anywhere;
- a file or directory a server configuration names as its CA certificates (``ssl_client_certificate``,
  ``SSLCACertificateFile``, ``SSLCACertificatePath``);
- a keystore's trusted-certificate entries (JKS), decided by its handler.
Every trust store says why it is one (``reason``). A self-signed certificate a trust store holds is
an anchor (``trust_anchor``), whether or not it carries basicConstraints (old v1 roots do not).

A *reference* store is a collection of roots a package ships to compare against, not to trust
(testssl.sh's Apple/Java/Microsoft/Mozilla stores in /etc/testssl): package data, outside every
system trust location, and named by no configuration (``reference``; the file handler decides
it, since package ownership is the collectors' knowledge). Its anchors, and the keys they
certify, carry ``reference_copy`` when they sit nowhere else: the rule engine reports findings on
them at low severity with that reason, while the same weak root in a real store stays high.
The same holds for any certificate or key seen only in package data (a library's test fixtures,
documentation examples, a file a package ships unchanged, ``package_data_reason`` on its file):
an RSA-512 example key in /usr/share/doc secures nothing here, while the same key anywhere else
(a live endpoint, an admin's own file, a real trust store) is judged in full.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, freeze

# (path pattern, reason); a pattern ending in "/" is a directory whose files together are one store
SYSTEM_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("/etc/ssl/certs/ca-certificates.crt", "Debian/Ubuntu system CA bundle (ca-certificates, OpenSSL CAfile)"),
    ("/etc/ssl/certs/java/cacerts", "Debian/Ubuntu Java CA keystore (ca-certificates-java)"),
    # OpenSSL finds CApath anchors by subject-hash names only (c_rehash, update-ca-certificates):
    # a server's own certificate kept beside them (ssl-cert-snakeoil.pem) is not an anchor
    ("/etc/ssl/certs/[0-9a-f]{8}.[0-9]*", "system CA directory (OpenSSL CApath on Debian/Ubuntu)"),
    ("/usr/share/ca-certificates/", "Debian CA certificates offered to update-ca-certificates"),
    ("/usr/local/share/ca-certificates/", "local CA certificates added to the system store (update-ca-certificates)"),
    ("/etc/pki/tls/certs/ca-bundle.crt", "RHEL/Fedora system CA bundle"),
    ("/etc/pki/tls/certs/ca-bundle.trust.crt", "RHEL/Fedora system CA bundle with trust flags"),
    ("/etc/pki/tls/cert.pem", "RHEL/Fedora OpenSSL CAfile"),
    ("/etc/pki/ca-trust/extracted/", "RHEL/Fedora extracted system trust (update-ca-trust)"),
    ("/etc/pki/ca-trust/source/anchors/", "RHEL/Fedora local trust anchors (update-ca-trust)"),
    ("/usr/share/pki/ca-trust-source/", "RHEL/Fedora distribution trust anchors"),
    ("/etc/pki/trust/anchors/", "SUSE local trust anchors"),
    ("/var/lib/ca-certificates/", "SUSE generated system trust"),
    ("/etc/ssl/ca-bundle.pem", "SUSE system CA bundle"),
    ("/etc/ssl/cert.pem", "Alpine/BSD/macOS OpenSSL CAfile"),
    ("*/lib/security/cacerts", "Java runtime CA keystore (cacerts)"),
    ("*/certifi/cacert.pem", "certifi's Mozilla CA bundle (Python requests, pip)"),
    ("*/botocore/cacert.pem", "botocore's bundled CA certificates"),
)
_HASHED = re.compile(r"^/etc/ssl/certs/[0-9a-f]{8}\.[0-9]+$")
# names that software and distributions give to CA bundles, wherever the file sits
BUNDLE_NAMES: tuple[str, ...] = (
    "ca-certificates.crt",
    "ca-bundle.crt",
    "ca-bundle.pem",
    "ca-bundle.trust.crt",
    "tls-ca-bundle.pem",
    "cacert.pem",
    "cacerts",
    "cacerts.pem",
    "*truststore*",  # Java and Kafka trust stores: truststore.jks, client.truststore.p12
)
# roles with which a configuration names CA certificates (see the config handlers' references)
CA_ROLES = frozenset({"ca-certificates", "ca-directory"})


def _compiled() -> tuple[re.Pattern[str], list[tuple[str | None, str]], re.Pattern[str]]:
    """SYSTEM_LOCATIONS as one regex (alternatives in order: the first that matches wins, as in a
    loop), with each alternative's (store path or None for the file itself, reason); BUNDLE_NAMES as
    another. One match per file instead of some thirty fnmatch calls (~10% of a sweep's time)."""
    alternatives: list[str] = []
    stores: list[tuple[str | None, str]] = []
    for pattern, reason in SYSTEM_LOCATIONS:
        if pattern.startswith("/etc/ssl/certs/["):
            regex, store_path = _HASHED.pattern.rstrip("$") + r"\Z", "/etc/ssl/certs"
        elif pattern.endswith("/"):
            glob = pattern + "*"
            regex = fnmatch.translate(glob) if pattern.startswith("*") else re.escape(pattern) + "(?s:.*)"
            store_path = pattern.rstrip("/")
        else:
            regex, store_path = fnmatch.translate(pattern), None
        alternatives.append(f"(?P<p{len(stores)}>{regex})")
        stores.append((store_path, reason))
    names = re.compile("|".join(fnmatch.translate(p) for p in BUNDLE_NAMES))
    return re.compile("|".join(alternatives)), stores, names


_LOCATIONS, _STORES, _BUNDLE_NAME = _compiled()


def acts_as_ca(properties: Mapping[str, Any]) -> bool:
    """Whether relying parties use a certificate as a CA: its basicConstraints say so, or it is a
    trust anchor (a self-signed certificate a trust store holds: old v1 roots carry no
    basicConstraints, yet they are roots all the same). Rules about end-entity certificates and
    their keys (lifetime, rotation, renewal) leave such a certificate alone."""
    return bool(properties.get("is_ca") or properties.get("trust_anchor"))


def location_reason(path: str) -> tuple[str, str] | None:
    """(store path, reason) when a file is part of a trust store by where it is or how it is named."""
    return system_location(path) or _bundle_name(path)


def system_location(path: str) -> tuple[str, str] | None:
    """(store path, reason) when a file is part of a system or library trust location."""
    found = _LOCATIONS.match(path)
    if found is not None and found.lastgroup is not None:
        store_path, reason = _STORES[int(found.lastgroup[1:])]
        return store_path or path, reason
    return None


def _bundle_name(path: str) -> tuple[str, str] | None:
    name = os.path.basename(path)
    if _BUNDLE_NAME.match(name.lower()):
        return path, f"named as a CA bundle ({name})"
    return None


def store(store_path: str, certificates: Sequence[Asset], reason: str, **extra: Any) -> tuple[Asset | Relation, ...]:
    """The trust-store asset for certificates read as anchors, and its trusts relations."""
    if not certificates:
        return ()
    properties = {"path": store_path, "anchors": len({c.id for c in certificates}), "reason": reason, **extra}
    asset = Asset(
        id=f"truststore:{store_path}",
        type=AssetType.TRUST_STORE,
        properties=freeze(properties),
        locations=(Location("file", store_path),),
    )
    return (asset, *(Relation(asset.id, c.id, RelationType.TRUSTS) for c in certificates))


def for_file(path: str, certificates: Sequence[Asset]) -> tuple[Asset | Relation, ...]:
    """A file's certificates as a trust store, when its location or name makes it one."""
    found = location_reason(path)
    if found is None:
        return ()
    return store(found[0], certificates, found[1])


def reference_store(
    path: str, certificates: Sequence[Asset], shipped: str, *, named: bool = False
) -> tuple[Asset | Relation, ...]:
    """A package's collection of roots (``shipped``: why the file is package data) as a reference store.

    Several distinct self-signed CA certificates make a collection of roots; a chain file holds one
    root at most and is never one (its untrusted root stays reported). A file ``named`` as a CA
    bundle (xmlsec's examples/cacert.pem) is one with a single root: its name made it a store, and
    in package data no software here is known to read it.
    """
    roots = {c.id for c in certificates if c.properties.get("self_signed") and c.properties.get("is_ca") is not False}
    if len(roots) < (1 if named else 2):
        return ()
    reason = f"reference copy of CA roots ({shipped}), not a trust location any software here is known to use"
    return store(path, certificates, reason, reference=True)


def _certificates_in(graph: InventoryGraph, path: str) -> list[Asset]:
    prefix = path.rstrip("/") + "/"
    return [
        cert
        for cert in graph.assets(AssetType.CERTIFICATE)
        if any(loc.kind == "file" and (loc.ref == path or loc.ref.startswith(prefix)) for loc in cert.locations)
    ]


def _configured(graph: InventoryGraph) -> Iterable[tuple[str, str]]:
    """(path, reason) for every file or directory a configuration names as CA certificates."""
    for config in graph.assets(AssetType.CONFIG):
        for ref in config.properties.get("references") or ():
            if isinstance(ref, Mapping) and ref.get("role") in CA_ROLES and ref.get("path"):
                where = f"{ref.get('file') or config.properties.get('path')}:{ref.get('line')}"
                yield str(ref["path"]), f"named as CA certificates ({ref['role']}) by {where}"


def classify(graph: InventoryGraph) -> None:
    """Trust stores by use (named by a configuration), then anchors counted and marked on certificates."""
    for path, reason in _configured(graph):
        graph.add_all(store(path, _certificates_in(graph, path), reason))
        if f"truststore:{path}" in graph:
            # named by a configuration: used for trust, whatever package shipped it
            graph.update_properties(f"truststore:{path}", {"reference": False, "reason": reason})
    for store_id in list(graph.asset_ids(AssetType.TRUST_STORE)):
        anchors = graph.successors(store_id, RelationType.TRUSTS)
        # a directory store is seen file by file: its count is the union of them
        graph.update_properties(store_id, {"anchors": len(anchors)})
        for cert in anchors:
            if cert.properties.get("self_signed") and not cert.properties.get("trust_anchor"):
                graph.update_properties(cert.id, {"trust_anchor": True})
    _mark_reference_copies(graph)
    _mark_package_copies(graph)


def _trusted_for_real(graph: InventoryGraph, stores: Sequence[Asset]) -> set[str]:
    return {
        cert.id
        for used in stores
        if not used.properties.get("reference")
        for cert in graph.successors(used.id, RelationType.TRUSTS)
    }


def _mark_reference_copies(graph: InventoryGraph) -> None:
    """``reference_copy`` on reference stores, and on their anchors and keys found nowhere else."""
    stores = [graph.asset(i) for i in graph.asset_ids(AssetType.TRUST_STORE)]
    reference = {s.properties["path"]: s for s in stores if s.properties.get("reference")}
    if not reference:
        return
    trusted_for_real = _trusted_for_real(graph, stores)

    def only_in_reference(asset: Asset) -> bool:
        return all(loc.kind == "file" and loc.ref in reference for loc in asset.locations)

    for ref_store in reference.values():
        why = str(ref_store.properties.get("reason"))
        graph.update_properties(ref_store.id, {"reference_copy": why})
        for cert in graph.successors(ref_store.id, RelationType.TRUSTS):
            if cert.id in trusted_for_real or not only_in_reference(cert):
                continue
            graph.update_properties(cert.id, {"reference_copy": why})
            for key in graph.successors(cert.id, RelationType.CERTIFIES):
                if only_in_reference(key):
                    graph.update_properties(key.id, {"reference_copy": why})


def _mark_package_copies(graph: InventoryGraph) -> None:
    """``reference_copy`` on certificates and keys seen only in files that are package data."""
    shipped = {
        loc.ref: str(file.properties["package_data_reason"])
        for file in graph.assets(AssetType.FILE)
        if file.properties.get("package_data_reason")
        for loc in file.locations
    }
    if not shipped:
        return
    trusted_for_real = _trusted_for_real(graph, [graph.asset(i) for i in graph.asset_ids(AssetType.TRUST_STORE)])
    # certificates first: a key is package data only if every certificate of it is too (a weak root
    # a configuration names as its CA file is trusted for real, and so is its key)
    for kind in (AssetType.CERTIFICATE, AssetType.KEY):
        for asset in graph.assets(kind):
            places = asset.locations
            if not places or asset.id in trusted_for_real or asset.properties.get("reference_copy"):
                continue
            if not all(loc.kind == "file" and loc.ref in shipped for loc in places):
                continue
            if kind is AssetType.KEY and not all(
                cert.properties.get("reference_copy") for cert in graph.predecessors(asset.id, RelationType.CERTIFIES)
            ):
                continue
            why = f"package data ({shipped[places[0].ref]}), not key material this host is known to use"
            graph.update_properties(asset.id, {"reference_copy": why})

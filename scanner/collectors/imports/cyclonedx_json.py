"""CycloneDX CBOMs (1.6, 1.7) from other generators, and keysweep's own.

A component becomes a keysweep asset only where its identity can be the one a live scan gives:
- certificates with a SHA-256 fingerprint (CycloneDX 1.7 ``fingerprint``, keysweep's ``sha256``
  property, or a ``sha256:<hex>`` in the bom-ref as CBOMkit and the CycloneDX examples write it)
  -> ``cert:sha256:<hex>``, with subject, issuer, validity, serial and signature algorithm;
- public and private keys whose id is an SPKI SHA-256 (keysweep's CBOM) -> ``key:spki-sha256:<hex>``,
  with the ``certifies`` relation from a certificate's ``subjectPublicKeyRef``.
Algorithms, protocols and keys known only by a generator's own name have no such identity: they
are counted in one notice, not invented as assets.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from scanner.collectors.imports.base import ImportSource
from scanner.inventory.model import Asset, AssetType, Observation, Relation, RelationType, freeze

_SHA256 = re.compile(r"sha-?256[:=@/]([0-9a-fA-F]{64})\b", re.IGNORECASE)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _properties(component: Mapping[str, Any]) -> dict[str, str]:
    return {str(p.get("name")): str(p.get("value")) for p in component.get("properties") or [] if isinstance(p, dict)}


def _fingerprint(component: Mapping[str, Any], cert: Mapping[str, Any]) -> str | None:
    fingerprint = cert.get("fingerprint") or {}
    if str(fingerprint.get("alg", "")).upper() == "SHA-256" and _HEX64.match(str(fingerprint.get("content", ""))):
        return str(fingerprint["content"]).lower()
    own = _properties(component).get("keysweep:sha256")
    if own and _HEX64.match(own):
        return own.lower()
    ref = str(component.get("bom-ref") or "")
    if ref.startswith("cert:sha256:") and _HEX64.match(ref.removeprefix("cert:sha256:")):
        return ref.removeprefix("cert:sha256:").lower()
    match = _SHA256.search(ref)
    return match.group(1).lower() if match else None


def _spki(component: Mapping[str, Any], material: Mapping[str, Any]) -> str | None:
    ref = str(component.get("bom-ref") or "")
    if ref.startswith("key:spki-sha256:"):
        return ref.removeprefix("key:spki-sha256:").lower()
    ident = str(material.get("id") or "")
    return ident.lower() if _HEX64.match(ident) else None


def _time(value: Any) -> str | None:
    text = str(value or "")
    # keysweep's report times: UTC, whole seconds, "Z"
    return re.sub(r"(\.\d+)?(\+00:00|Z)$", "Z", text) if text else None


class CycloneDxImporter:
    name: ClassVar[str] = "cyclonedx"

    def detect(self, document: Any) -> bool:
        return isinstance(document, dict) and document.get("bomFormat") == "CycloneDX"

    def observations(self, document: Any, source: ImportSource) -> Iterator[Observation]:
        components = [c for c in _walk(document.get("components") or []) if isinstance(c.get("cryptoProperties"), dict)]
        by_ref = {str(c.get("bom-ref")): c for c in components if c.get("bom-ref")}
        key_ids: dict[str, str] = {}
        skipped: Counter[str] = Counter()
        for component in components:
            crypto = component["cryptoProperties"]
            material = crypto.get("relatedCryptoMaterialProperties") or {}
            if crypto.get("assetType") == "related-crypto-material" and material.get("type") in (
                "public-key",
                "private-key",
            ):
                spki = _spki(component, material)
                if spki is None:
                    skipped["key without an SPKI hash"] += 1
                    continue
                key_id = f"key:spki-sha256:{spki}"
                key_ids[str(component.get("bom-ref"))] = key_id
                algorithm = by_ref.get(str(material.get("algorithmRef")), {})
                props: dict[str, Any] = {
                    "spki_sha256": spki,
                    "algorithm": _key_algorithm(algorithm, component),
                    "key_size": material.get("size"),
                    "has_private_key": material.get("type") == "private-key",
                }
                where = source.location(f"component {component.get('bom-ref')}")
                yield Asset(key_id, AssetType.KEY, freeze({k: v for k, v in props.items() if v is not None}), (where,))
        for component in components:
            crypto = component["cryptoProperties"]
            kind = crypto.get("assetType")
            if kind == "related-crypto-material":
                continue
            if kind != "certificate":
                skipped[str(kind)] += 1
                continue
            cert = crypto.get("certificateProperties") or {}
            digest = _fingerprint(component, cert)
            if digest is None:
                skipped["certificate without a SHA-256 fingerprint"] += 1
                continue
            signature = by_ref.get(str(cert.get("signatureAlgorithmRef")), {})
            own = _properties(component)
            props = {
                "sha256_fingerprint": digest,  # same keys as a live scan's certificate
                "subject": cert.get("subjectName") or "",
                "issuer": cert.get("issuerName") or "",
                "serial": cert.get("serialNumber") or own.get("keysweep:serial"),
                "not_before": _time(cert.get("notValidBefore")),
                "not_after": _time(cert.get("notValidAfter")),
                "signature_algorithm": signature.get("name"),
            }
            cert_id = f"cert:sha256:{digest}"
            where = source.location(f"component {component.get('bom-ref')}")
            yield Asset(
                cert_id, AssetType.CERTIFICATE, freeze({k: v for k, v in props.items() if v is not None}), (where,)
            )
            certified = key_ids.get(str(cert.get("subjectPublicKeyRef")))
            if certified:
                yield Relation(cert_id, certified, RelationType.CERTIFIES)
        if skipped:
            listed = ", ".join(f"{n} {what}" for what, n in sorted(skipped.items()))
            yield source.error(f"components without a keysweep identity, not imported: {listed}")


def _walk(components: list[Any]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        if isinstance(component, dict):
            yield component
            yield from _walk(component.get("components") or [])


def _key_algorithm(algorithm: Mapping[str, Any], component: Mapping[str, Any]) -> str | None:
    """keysweep's algorithm name (RSA, EC, Ed25519, ML-DSA-65, ...) from the algorithm component."""
    props = algorithm.get("cryptoProperties", {}).get("algorithmProperties", {}) if algorithm else {}
    family = str(props.get("algorithmFamily") or "")
    name = str(algorithm.get("name") or component.get("name") or "")
    if family in ("ECDSA", "ECDH") or name.upper().startswith(("EC-", "ECDSA", "ECDH")):
        return "EC"
    if family.startswith("RSA") or name.upper().startswith("RSA"):
        return "RSA"
    return name.split(" ")[0] or None

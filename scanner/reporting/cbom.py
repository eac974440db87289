"""CycloneDX 1.6 CBOM, built with cyclonedx-python-lib.

Mapping (docs/reports.md has the full table):
- certificate -> ``certificate``, with subject, issuer, validity, signature algorithm and key refs
- the algorithms of keys, signatures and key-exchange groups -> ``algorithm``, with primitive,
  parameter set, classical and NIST quantum security levels, certification level
- key -> ``related-crypto-material`` with type, size, state and ``securedBy`` (HSM or Software)
- tls-endpoint -> ``protocol`` with TLS versions and cipher suites
- graph relations -> CycloneDX dependencies (certificate on key, signature algorithm and issuer;
  key on algorithm; protocol on the certificates it presents and its key-exchange groups)
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.crypto import (
    AlgorithmProperties,
    CertificateProperties,
    CryptoAssetType,
    CryptoCertificationLevel,
    CryptoPrimitive,
    CryptoProperties,
    ProtocolProperties,
    ProtocolPropertiesCipherSuite,
    ProtocolPropertiesType,
    RelatedCryptoMaterialProperties,
    RelatedCryptoMaterialSecuredBy,
    RelatedCryptoMaterialState,
    RelatedCryptoMaterialType,
)
from cyclonedx.output.json import JsonV1Dot6

from scanner import __version__
from scanner.inventory import knowledge
from scanner.inventory.model import Asset, AssetType, RelationType, ScanResult

# primitive of a key's algorithm as keysweep names it
_KEY_PRIMITIVES = {
    "RSA": CryptoPrimitive.PKE,
    "EC": CryptoPrimitive.SIGNATURE,
    "DSA": CryptoPrimitive.SIGNATURE,
    "Ed25519": CryptoPrimitive.SIGNATURE,
    "Ed448": CryptoPrimitive.SIGNATURE,
    "X25519": CryptoPrimitive.KEY_AGREE,
    "X448": CryptoPrimitive.KEY_AGREE,
    "DH": CryptoPrimitive.KEY_AGREE,
    "AES": CryptoPrimitive.BLOCK_CIPHER,
    "3DES": CryptoPrimitive.BLOCK_CIPHER,
    "DES": CryptoPrimitive.BLOCK_CIPHER,
}
_PQ_FAMILY_PRIMITIVES = {"ML-DSA": CryptoPrimitive.SIGNATURE, "SLH-DSA": CryptoPrimitive.SIGNATURE}
# NIST PQC security categories of the symmetric reference points (1 = AES-128, 3 = AES-192, 5 = AES-256)
_AES_CATEGORY = {128: 1, 192: 3, 256: 5}
_VERSION = re.compile(r"(\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class _Algorithm:
    ref: str
    name: str
    primitive: CryptoPrimitive
    parameter_set: str | None = None
    curve: str | None = None
    classical: int | None = None
    quantum: int | None = None
    oid: str | None = None
    fips_approved: bool | None = None


def _pq_primitive(name: str) -> CryptoPrimitive | None:
    pq = knowledge.post_quantum_by_name(name)
    if pq is None:
        return None
    if name.startswith("ML-KEM"):
        return CryptoPrimitive.KEM
    return _PQ_FAMILY_PRIMITIVES.get(pq.family, CryptoPrimitive.SIGNATURE)


def _key_algorithm(props: Any) -> _Algorithm | None:
    name = props.get("algorithm")
    if not name or str(name).startswith("unknown"):
        return None
    size, curve = props.get("key_size"), props.get("curve")
    pq = knowledge.post_quantum_by_name(name)
    if pq is not None:
        return _Algorithm(
            ref=f"algorithm:{name}",
            name=name,
            primitive=_pq_primitive(name) or CryptoPrimitive.OTHER,
            parameter_set=name.rsplit("-", 1)[-1],
            classical=props.get("security_bits") or pq.bits,
            quantum=pq.category,
            oid=pq.oid,
            fips_approved=props.get("fips_approved"),
        )
    canonical = knowledge.canonical_curve(curve) if curve else None
    label = f"{name}-{canonical or curve}" if curve else (f"{name}-{size}" if size else name)
    quantum: int | None = None
    if props.get("quantum_vulnerable"):
        quantum = 0
    elif name == "AES" and size:
        quantum = _AES_CATEGORY.get(int(size))
    return _Algorithm(
        ref=f"algorithm:{label}",
        name=label,
        primitive=_KEY_PRIMITIVES.get(name, CryptoPrimitive.UNKNOWN),
        parameter_set=None if curve else (str(size) if size else None),
        curve=canonical or curve,
        classical=props.get("security_bits"),
        quantum=quantum,
        fips_approved=props.get("fips_approved"),
    )


def _signature_algorithm(name: str) -> _Algorithm:
    pq = knowledge.post_quantum_by_name(name)
    if pq is not None:
        return _Algorithm(f"algorithm:{name}", name, CryptoPrimitive.SIGNATURE, name.rsplit("-", 1)[-1],
                          classical=pq.bits, quantum=pq.category, oid=pq.oid)  # fmt: skip
    # every classical certificate signature (RSA, ECDSA, DSA, EdDSA) falls to a quantum computer
    return _Algorithm(f"algorithm:{name}", name, CryptoPrimitive.SIGNATURE, quantum=0)


def _group_algorithm(group: str) -> _Algorithm:
    upper = group.upper()
    if "MLKEM" in upper or "KYBER" in upper:
        # hybrid groups (X25519MLKEM768, SecP256r1MLKEM768) resist a quantum computer through ML-KEM
        digits = re.findall(r"(?:MLKEM|KYBER)(\d+)", upper)
        category = {"512": 1, "768": 3, "1024": 5}.get(digits[0]) if digits else None
        return _Algorithm(f"algorithm:{group}", group, CryptoPrimitive.KEM, digits[0] if digits else None,
                          quantum=category)  # fmt: skip
    canonical = knowledge.canonical_curve(group)
    bits = knowledge.curve_strength(group) if canonical else None
    if group.lower() in ("x25519", "x448"):
        bits = 128 if group.lower() == "x25519" else 224
    return _Algorithm(f"algorithm:{group}", group, CryptoPrimitive.KEY_AGREE, curve=canonical or group,
                      classical=bits, quantum=0)  # fmt: skip


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _short_name(asset: Asset) -> str:
    subject = str(asset.properties.get("subject") or "")
    for part in subject.split(","):
        if part.strip().upper().startswith("CN="):
            return part.strip()[3:]
    return subject or asset.id


def _props(asset: Asset, extra: dict[str, Any] | None = None) -> list[Property]:
    out = [Property(name="keysweep:asset-id", value=asset.id)]
    # a location's ref may already carry its kind ("tls:host:port", "pkcs11:serial"): never doubled
    out += [
        Property(
            name="keysweep:location", value=loc.ref if loc.ref.startswith(f"{loc.kind}:") else f"{loc.kind}:{loc.ref}"
        )
        for loc in asset.locations[:20]
    ]
    for name, value in (extra or {}).items():
        if value is not None:
            out.append(Property(name=f"keysweep:{name}", value=str(value)))
    return out


def _tls_version(text: str) -> str:
    match = _VERSION.search(text)
    return match.group(1) if match else text


class CbomReporter:
    format: ClassVar[str] = "cbom"

    def render(self, result: ScanResult) -> bytes:
        return JsonV1Dot6(build_bom(result)).output_as_string(indent=1).encode("utf-8")


def build_bom(result: ScanResult) -> Bom:
    assets = {a.id: a for a in result.assets}
    out_edges: dict[str, dict[RelationType, list[str]]] = defaultdict(lambda: defaultdict(list))
    for rel in result.relations:
        out_edges[rel.source][rel.type].append(rel.target)
    in_stored: dict[str, list[str]] = defaultdict(list)
    for rel in result.relations:
        if rel.type == RelationType.STORED_IN:
            in_stored[rel.source].append(rel.target)
    certifying: dict[str, list[str]] = defaultdict(list)
    wrapped_by: dict[str, list[str]] = defaultdict(list)
    for rel in result.relations:
        if rel.type == RelationType.CERTIFIES:
            certifying[rel.target].append(rel.source)
        elif rel.type == RelationType.WRAPS and rel.source in assets:
            wrapped_by[rel.target].append(rel.source)

    algorithms: dict[str, _Algorithm] = {}
    components: dict[str, Component] = {}
    depends: dict[str, list[str]] = defaultdict(list)

    def algorithm(alg: _Algorithm | None) -> str | None:
        if alg is None:
            return None
        algorithms.setdefault(alg.ref, alg)
        return alg.ref

    for asset in result.assets:
        props = asset.properties
        if asset.type == AssetType.KEY:
            alg_ref = algorithm(_key_algorithm(props))
            # a wrapped key is secured by its key-encryption key's algorithm, and depends on that key
            keks = wrapped_by[asset.id]
            kek_ref = algorithm(_key_algorithm(assets[keks[0]].properties)) if keks else None
            components[asset.id] = _key_component(
                asset, alg_ref, kek_ref, in_stored[asset.id], assets, certifying[asset.id]
            )
            depends[asset.id] += ([alg_ref] if alg_ref else []) + keks
        elif asset.type == AssetType.CERTIFICATE:
            sig = props.get("signature_algorithm")
            sig_ref = algorithm(_signature_algorithm(str(sig))) if sig else None
            keys = [k for k in out_edges[asset.id][RelationType.CERTIFIES] if k in assets]
            components[asset.id] = Component(
                type=ComponentType.CRYPTOGRAPHIC_ASSET,
                name=_short_name(asset),
                bom_ref=asset.id,
                crypto_properties=CryptoProperties(
                    asset_type=CryptoAssetType.CERTIFICATE,
                    certificate_properties=CertificateProperties(
                        subject_name=props.get("subject") or None,
                        issuer_name=props.get("issuer") or None,
                        not_valid_before=_time(props.get("not_before")),
                        not_valid_after=_time(props.get("not_after")),
                        signature_algorithm_ref=BomRef(sig_ref) if sig_ref else None,
                        subject_public_key_ref=BomRef(keys[0]) if keys else None,
                        certificate_format="X.509",
                    ),
                ),
                properties=_props(asset, {"serial": props.get("serial"), "sha256": props.get("sha256_fingerprint")}),
            )
            depends[asset.id] += keys + ([sig_ref] if sig_ref else [])
            depends[asset.id] += [c for c in out_edges[asset.id][RelationType.ISSUED_BY] if c in assets]
        elif asset.type == AssetType.TLS_ENDPOINT:
            groups = [str(g) for g in props.get("key_exchange_groups") or []]
            group_refs = [r for r in (algorithm(_group_algorithm(g)) for g in groups) if r]
            certs = [c for c in out_edges[asset.id][RelationType.PRESENTS] if c in assets]
            versions = sorted({_tls_version(str(v)) for v in props.get("protocols") or []})
            components[asset.id] = Component(
                type=ComponentType.CRYPTOGRAPHIC_ASSET,
                name=f"TLS {asset.id.removeprefix('tls:')}",
                bom_ref=asset.id,
                crypto_properties=CryptoProperties(
                    asset_type=CryptoAssetType.PROTOCOL,
                    protocol_properties=ProtocolProperties(
                        type=ProtocolPropertiesType.TLS,
                        version=versions[-1] if versions else None,
                        cipher_suites=[
                            ProtocolPropertiesCipherSuite(name=str(cs)) for cs in props.get("cipher_suites") or []
                        ],
                        crypto_refs=[BomRef(r) for r in certs + group_refs],
                    ),
                ),
                properties=_props(
                    asset,
                    {
                        "tls-versions": ", ".join(versions) or None,
                        "pq-key-exchange": props.get("pq_key_exchange"),
                    },
                ),
            )
            depends[asset.id] += certs + group_refs

    for alg in algorithms.values():
        components[alg.ref] = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=alg.name,
            bom_ref=alg.ref,
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.ALGORITHM,
                algorithm_properties=AlgorithmProperties(
                    primitive=alg.primitive,
                    parameter_set_identifier=alg.parameter_set,
                    curve=alg.curve,
                    # keysweep sees algorithms, not the validated modules that run them
                    certification_levels=[CryptoCertificationLevel.UNKNOWN],
                    classical_security_level=alg.classical,
                    nist_quantum_security_level=alg.quantum,
                ),
                oid=alg.oid,
            ),
            properties=[Property(name="keysweep:fips-approved", value=str(alg.fips_approved).lower())]
            if alg.fips_approved is not None
            else None,
        )

    meta = result.metadata
    bom = Bom()
    try:
        bom.serial_number = uuid.UUID(meta.id)
    except ValueError:
        bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, f"keysweep:{meta.id}")
    bom.metadata.timestamp = meta.finished_at
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name="keysweep", version=__version__, bom_ref="tool:keysweep")
    )
    bom.metadata.properties.add(Property(name="keysweep:scan-id", value=meta.id))
    for ref in sorted(components):
        bom.components.add(components[ref])
    for ref, targets in depends.items():
        wanted = [components[t] for t in dict.fromkeys(targets) if t in components and t != ref]
        bom.register_dependency(components[ref], wanted)
    return bom


def _key_state(certs: list[Asset]) -> RelatedCryptoMaterialState:
    """Deactivated once every certificate binding the key has expired; pre-activation before any starts."""
    if not certs:
        return RelatedCryptoMaterialState.ACTIVE
    remaining = [c.properties.get("days_remaining") for c in certs]
    ages = [c.properties.get("age_days") for c in certs]
    if all(isinstance(r, int) and r < 0 for r in remaining):
        return RelatedCryptoMaterialState.DEACTIVATED
    if all(isinstance(a, int) and a < 0 for a in ages):
        return RelatedCryptoMaterialState.PRE_ACTIVATION
    return RelatedCryptoMaterialState.ACTIVE


def _key_component(
    asset: Asset,
    alg_ref: str | None,
    kek_ref: str | None,
    stored_in: list[str],
    assets: dict[str, Asset],
    cert_ids: list[str],
) -> Component:
    props = asset.properties
    on_hsm = any(assets[t].type == AssetType.HSM_TOKEN for t in stored_in if t in assets) or any(
        loc.kind == "pkcs11" for loc in asset.locations
    )
    symmetric = props.get("algorithm") in ("AES", "3DES", "DES", "HMAC") or asset.id.startswith("key:pkcs11:")
    if symmetric:
        kind = RelatedCryptoMaterialType.SECRET_KEY
    elif props.get("has_private_key"):
        kind = RelatedCryptoMaterialType.PRIVATE_KEY
    else:
        kind = RelatedCryptoMaterialType.PUBLIC_KEY
    certs = [assets[c] for c in cert_ids if c in assets]
    expiries = [t for t in (_time(c.properties.get("not_after")) for c in certs) if t]
    size = props.get("key_size")
    name = f"{props.get('algorithm') or 'key'}"
    name += f"-{props.get('curve') or size}" if (props.get("curve") or size) else ""
    return Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=f"{name} key {str(props.get('spki_sha256') or asset.id.rsplit(':', 1)[-1])[:12]}",
        bom_ref=asset.id,
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.RELATED_CRYPTO_MATERIAL,
            related_crypto_material_properties=RelatedCryptoMaterialProperties(
                type=kind,
                id=props.get("spki_sha256") or asset.id,
                state=_key_state(certs),
                algorithm_ref=BomRef(alg_ref) if alg_ref else None,
                size=int(size) if isinstance(size, int) else None,
                expiration_date=max(expiries) if expiries else None,
                secured_by=RelatedCryptoMaterialSecuredBy(
                    mechanism="HSM" if on_hsm else "Software", algorithm_ref=BomRef(kek_ref) if kek_ref else None
                ),
            ),
        ),
        properties=_props(
            asset,
            {
                "has-private-key": props.get("has_private_key"),
                "encrypted-at-rest": props.get("encrypted_at_rest"),
                "quantum-vulnerable": props.get("quantum_vulnerable"),
            },
        ),
    )

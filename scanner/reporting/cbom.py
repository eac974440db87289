"""CycloneDX CBOM, 1.6 (default) or 1.7 (``--cbom-version``), built with cyclonedx-python-lib.

Mapping (docs/reports.md has the full table):
- the algorithms of keys, signatures, key-exchange groups and cipher suites -> ``algorithm``, with
  OID, primitive, parameter set, mode/padding, classical and NIST quantum security levels and
  ``cryptoFunctions`` (cbom_catalogue.py); in 1.7 also the registry family and curve
- certificate -> ``certificate`` with subject, issuer, validity, signature algorithm and key refs;
  in 1.7 also serial number, SHA-256 fingerprint and lifecycle state
- key -> ``related-crypto-material`` with type, size, state as the rules judge it, and
  ``securedBy`` (HSM or Software); secrets -> ``related-crypto-material`` (password, token, ...)
  with their kind and location, never a value
- tls-endpoint -> ``protocol`` with its cipher suites (IANA code points and ``algorithms`` refs),
  one nested ``protocol`` per TLS version with that version's suites
- files and configs -> ``file`` components
- graph relations -> dependencies; every component is listed there
- ``compositions``: what was assessed, and the targets that could not be (with the error)
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
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
    CryptoFunction,
    CryptoMode,
    CryptoPadding,
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
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema.schema import SCHEMA_VERSIONS

from scanner import __version__
from scanner.inventory.model import Asset, AssetType, Finding, RelationType, ScanResult, Severity, iso_time
from scanner.inventory.summary import is_projection
from scanner.reporting import cbom_catalogue as catalogue
from scanner.reporting.cbom_catalogue import AlgorithmSpec
from scanner.reporting.json_indent import dumps_indent1, plain

VERSIONS = ("1.6", "1.7")
_TLS_VERSION = {"SSLv2": "2.0", "SSLv3": "3.0", "TLSv1.0": "1.0", "TLSv1": "1.0", "TLSv1.1": "1.1",
                "TLSv1.2": "1.2", "TLSv1.3": "1.3"}  # fmt: skip
# what a secret's kind says it is, as CycloneDX names related crypto material
_SECRET_TYPES = (
    ("password", RelatedCryptoMaterialType.PASSWORD),
    ("passphrase", RelatedCryptoMaterialType.PASSWORD),
    ("token", RelatedCryptoMaterialType.TOKEN),
    ("private", RelatedCryptoMaterialType.PRIVATE_KEY),
    ("key", RelatedCryptoMaterialType.SECRET_KEY),
)
# finding categories that say the policy no longer allows the key's algorithm or size
_DEPRECATING = frozenset({"key-size", "algorithm", "fips", "pqc"})


def _value(value: Any) -> str:
    # one spelling for booleans ("true"/"false"), as JSON has it
    return str(value).lower() if isinstance(value, bool) else str(value)


def _location(kind: str, ref: str) -> str:
    # a location's ref may already carry its kind ("tls:host:port", "pkcs11:serial"): never doubled
    return ref if ref.startswith(f"{kind}:") else f"{kind}:{ref}"


def _props(asset: Asset, extra: Mapping[str, Any] | None = None) -> list[Property]:
    out = [Property(name="keysweep:asset-id", value=asset.id)]
    out += [Property(name="keysweep:location", value=_location(loc.kind, loc.ref)) for loc in asset.locations[:20]]
    for name, value in (extra or {}).items():
        if value is not None and value != []:
            out.append(Property(name=f"keysweep:{name}", value=_value(value)))
    return out


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


def _algorithm_component(alg: AlgorithmSpec) -> Component:
    extra = {"fips-approved": alg.fips_approved, "tls-group-code": alg.tls_group_code}
    return Component(
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        name=alg.name,
        bom_ref=alg.ref,
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=AlgorithmProperties(
                primitive=CryptoPrimitive(alg.primitive),
                parameter_set_identifier=alg.parameter_set,
                curve=alg.curve,
                mode=CryptoMode(alg.mode) if alg.mode else None,
                padding=CryptoPadding(alg.padding) if alg.padding else None,
                crypto_functions=[CryptoFunction(f) for f in alg.functions],
                # keysweep sees algorithms, not the validated modules that run them
                certification_levels=[CryptoCertificationLevel.UNKNOWN],
                classical_security_level=alg.classical,
                nist_quantum_security_level=alg.quantum,
            ),
            oid=alg.oid,
        ),
        properties=[Property(name=f"keysweep:{k}", value=_value(v)) for k, v in extra.items() if v is not None] or None,
    )


class CbomReporter:
    format: ClassVar[str] = "cbom"

    def __init__(self, version: str = "1.6") -> None:
        if version not in VERSIONS:
            raise ValueError(f"CycloneDX version {version!r} is not offered (choose {', '.join(VERSIONS)})")
        self.version = version

    def render(self, result: ScanResult) -> bytes:
        built = _Builder(result)
        # the library's JSON read back: any number that is not an integer is noted, as the
        # json module and orjson write those differently (see scanner.reporting.json_indent)
        floats: list[str] = []
        loads = functools.partial(json.loads, parse_float=_noted(floats, float), parse_constant=_noted(floats, float))
        document = _serialize(built.bom(with_components=False), self.version, loads)
        view = SCHEMA_VERSIONS[SchemaVersion.from_version(self.version)]
        # each component serialised by the library, in bom-ref order; the Bom's own sorted set
        # compares whole components and costs more than the rest of the CBOM together
        document["components"] = [
            loads(built.components[ref].as_json(view_=view))  # type: ignore[attr-defined]
            for ref in sorted(built.components)
        ]
        document["dependencies"] = built.dependencies()
        document["compositions"] = built.compositions()
        if self.version == "1.7":
            _add_1_7_fields(document, built.extras)
        if not floats and (self.version != "1.7" or plain(built.extras)):
            # strs, ints, bools and None alone (keysweep's own parts are built of them)
            return dumps_indent1(document, plain=True)
        # backslashreplace: a non-UTF-8 file name's surrogates become JSON \udcXX escapes, as in the JSON report
        return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8", "backslashreplace")


def _noted(seen: list[str], parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def note(text: str) -> Any:
        seen.append(text)
        return parse(text)

    return note


def _serialize(bom: Bom, version: str, loads: Callable[[str], Any] = json.loads) -> dict[str, Any]:
    """The library's JSON of the BOM's metadata. Its own output step first registers every
    component in the dependency graph with a linear search per component (quadratic: over ten
    minutes for 20,000 assets), so keysweep writes ``dependencies`` itself, from its graph."""
    view = SCHEMA_VERSIONS[SchemaVersion.from_version(version)]
    body: dict[str, Any] = loads(bom.as_json(view_=view))  # type: ignore[attr-defined]
    schema = f"http://cyclonedx.org/schema/bom-{version}.schema.json"
    return {"$schema": schema, "bomFormat": "CycloneDX", "specVersion": version, **body}


def build_bom(result: ScanResult) -> Bom:
    """The CBOM's components and metadata as cyclonedx-python-lib's model."""
    return _Builder(result).bom(with_components=True)


class _Builder:
    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.assets = {a.id: a for a in result.assets}
        self.out_edges: dict[str, dict[RelationType, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.in_edges: dict[str, dict[RelationType, list[str]]] = defaultdict(lambda: defaultdict(list))
        for rel in result.relations:
            if rel.source in self.assets and rel.target in self.assets:
                self.out_edges[rel.source][rel.type].append(rel.target)
                self.in_edges[rel.target][rel.type].append(rel.source)
        self.findings: dict[str, list[Finding]] = defaultdict(list)
        for f in result.findings:
            if f.waived is None:
                self.findings[f.asset_id].append(f)
        self.algorithms: dict[str, AlgorithmSpec] = {}
        self.components: dict[str, Component] = {}
        self.depends: dict[str, list[str]] = defaultdict(list)
        # CycloneDX 1.7 fields the library does not model yet: bom-ref -> section -> field -> value
        self.extras: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
        self.unassessed: dict[str, str] = {}
        # per-version protocol components, nested in their endpoint's component
        self.nested: dict[str, Component] = {}

    def algorithm(self, alg: AlgorithmSpec | None) -> str | None:
        if alg is None:
            return None
        self.algorithms.setdefault(alg.ref, alg)
        return alg.ref

    def bom(self, *, with_components: bool) -> Bom:
        builders = {
            AssetType.KEY: self._key,
            AssetType.CERTIFICATE: self._certificate,
            AssetType.TLS_ENDPOINT: self._endpoint,
            AssetType.SECRET: self._secret,
            AssetType.FILE: self._file,
            AssetType.CONFIG: self._file,
            AssetType.TRUST_STORE: self._file,
            AssetType.HSM_TOKEN: self._token,
        }
        for asset in self.result.assets:
            build = builders.get(asset.type)
            if build is not None:
                build(asset)
        for alg in self.algorithms.values():
            self.components[alg.ref] = _algorithm_component(alg)
            if alg.family:
                self.extras[alg.ref]["algorithmProperties"]["algorithmFamily"] = alg.family
            if alg.elliptic_curve:
                self.extras[alg.ref]["algorithmProperties"]["ellipticCurve"] = alg.elliptic_curve
        self._unassessed()

        meta = self.result.metadata
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
        bom.metadata.properties.add(Property(name="keysweep:as-of", value=iso_time(meta.as_of)))
        # a projection (rules as of another day) says so: its states are not the estate's today
        bom.metadata.properties.add(Property(name="keysweep:projection", value=str(is_projection(meta)).lower()))
        if with_components:
            bom.components.update(self.components[ref] for ref in sorted(self.components))
        return bom

    def dependencies(self) -> list[dict[str, Any]]:
        """Every component (nested ones too) with what it depends on, possibly nothing."""
        out: list[dict[str, Any]] = []
        for ref in sorted({*self.components, *self.nested}):
            wanted = sorted(
                {t for t in self.depends.get(ref, []) if t != ref and (t in self.components or t in self.nested)}
            )
            out.append({"ref": ref, "dependsOn": wanted} if wanted else {"ref": ref})
        return out

    # -- assets -------------------------------------------------------------------------------------
    def _key(self, asset: Asset) -> None:
        props = asset.properties
        alg_ref = self.algorithm(catalogue.key_algorithm(props))
        # a wrapped key is secured by its key-encryption key's algorithm, and depends on that key
        keks = self.in_edges[asset.id][RelationType.WRAPS]
        kek_ref = self.algorithm(catalogue.key_algorithm(self.assets[keks[0]].properties)) if keks else None
        stored_in = self.out_edges[asset.id][RelationType.STORED_IN]
        on_hsm = any(self.assets[t].type == AssetType.HSM_TOKEN for t in stored_in) or any(
            loc.kind == "pkcs11" for loc in asset.locations
        )
        symmetric = props.get("algorithm") in ("AES", "3DES", "DES", "HMAC") or asset.id.startswith("key:pkcs11:")
        if symmetric:
            kind = RelatedCryptoMaterialType.SECRET_KEY
        elif props.get("has_private_key"):
            kind = RelatedCryptoMaterialType.PRIVATE_KEY
        else:
            kind = RelatedCryptoMaterialType.PUBLIC_KEY
        certs = [self.assets[c] for c in self.in_edges[asset.id][RelationType.CERTIFIES]]
        expiries = [t for t in (_time(c.properties.get("not_after")) for c in certs) if t]
        findings = self.findings[asset.id]
        size = props.get("key_size")
        name = f"{props.get('algorithm') or 'key'}"
        name += f"-{props.get('curve') or size}" if (props.get("curve") or size) else ""
        self.components[asset.id] = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=f"{name} key {str(props.get('spki_sha256') or asset.id.rsplit(':', 1)[-1])[:12]}",
            bom_ref=asset.id,
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.RELATED_CRYPTO_MATERIAL,
                related_crypto_material_properties=RelatedCryptoMaterialProperties(
                    type=kind,
                    id=props.get("spki_sha256") or asset.id,
                    state=_key_state(certs, findings),
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
                    "security-bits": props.get("security_bits"),
                    # the policy packs judge the algorithm or size no longer acceptable
                    "deprecated": any(f.category in _DEPRECATING for f in findings) or None,
                    "held-in": ", ".join(sorted(stored_in)) or None,
                },
            ),
        )
        self.depends[asset.id] += ([alg_ref] if alg_ref else []) + keks + stored_in
        if props.get("spki_sha256"):
            self.extras[asset.id]["relatedCryptoMaterialProperties"]["fingerprint"] = {
                "alg": "SHA-256",
                "content": str(props["spki_sha256"]),
            }

    def _certificate(self, asset: Asset) -> None:
        props = asset.properties
        sig = props.get("signature_algorithm")
        sig_ref = self.algorithm(catalogue.signature_algorithm(str(sig))) if sig else None
        keys = self.out_edges[asset.id][RelationType.CERTIFIES]
        stored_in = self.out_edges[asset.id][RelationType.STORED_IN]
        self.components[asset.id] = Component(
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
            properties=_props(
                asset,
                {
                    "serial": props.get("serial"),
                    "sha256": props.get("sha256_fingerprint"),
                    "is-ca": props.get("is_ca"),
                    "self-signed": props.get("self_signed"),
                },
            ),
        )
        self.depends[asset.id] += keys + ([sig_ref] if sig_ref else []) + stored_in
        self.depends[asset.id] += self.out_edges[asset.id][RelationType.ISSUED_BY]
        certificate = self.extras[asset.id]["certificateProperties"]
        if props.get("serial"):
            certificate["serialNumber"] = str(props["serial"])
        if props.get("sha256_fingerprint"):
            certificate["fingerprint"] = {"alg": "SHA-256", "content": str(props["sha256_fingerprint"])}
        state = _certificate_state(asset)
        certificate["certificateState"] = [{"state": state.value}]
        if props.get("not_before"):
            certificate["activationDate"] = str(props["not_before"])
        if state is RelatedCryptoMaterialState.DEACTIVATED and props.get("not_after"):
            certificate["deactivationDate"] = str(props["not_after"])

    def _endpoint(self, asset: Asset) -> None:
        props = asset.properties
        groups = [str(g) for g in props.get("key_exchange_groups") or []]
        group_refs = [r for r in (self.algorithm(catalogue.group_algorithm(g)) for g in groups) if r]
        certs = self.out_edges[asset.id][RelationType.PRESENTS]
        by_version: Mapping[str, Iterable[str]] = props.get("cipher_suites_by_protocol") or {}
        protocols = [str(p) for p in props.get("protocols") or []]
        versions = sorted({_TLS_VERSION.get(p, p) for p in protocols})
        suite_refs: list[str] = []
        children: list[Component] = []
        for protocol in protocols:
            names = [str(s) for s in by_version.get(protocol, [])]
            child_ref = f"{asset.id}#{protocol}"
            children.append(
                Component(
                    type=ComponentType.CRYPTOGRAPHIC_ASSET,
                    name=f"{protocol} on {asset.id.removeprefix('tls:')}",
                    bom_ref=child_ref,
                    crypto_properties=CryptoProperties(
                        asset_type=CryptoAssetType.PROTOCOL,
                        protocol_properties=ProtocolProperties(
                            type=ProtocolPropertiesType.TLS,
                            version=_TLS_VERSION.get(protocol, protocol),
                            cipher_suites=[self._suite(n) for n in names],
                        ),
                    ),
                )
            )
            self.depends[child_ref] += [r for n in names for r in self._suite_refs(n)]
        for name in props.get("cipher_suites") or []:
            suite_refs += self._suite_refs(str(name))
        component = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=f"TLS {asset.id.removeprefix('tls:')}",
            bom_ref=asset.id,
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.PROTOCOL,
                protocol_properties=ProtocolProperties(
                    type=ProtocolPropertiesType.TLS,
                    version=versions[-1] if versions else None,
                    cipher_suites=[self._suite(str(cs)) for cs in props.get("cipher_suites") or []],
                    crypto_refs=[BomRef(r) for r in dict.fromkeys(certs + group_refs)],
                ),
            ),
            properties=_props(
                asset,
                {
                    "tls-versions": ", ".join(versions) or None,
                    "key-exchange-groups": ", ".join(groups) or None,
                    "pq-key-exchange": props.get("pq_key_exchange"),
                    "imported-from": props.get("imported_from"),
                },
            ),
            components=children,
        )
        self.components[asset.id] = component
        self.depends[asset.id] += certs + group_refs + list(dict.fromkeys(suite_refs))
        self.depends[asset.id] += [str(c.bom_ref.value) for c in children]
        self.nested.update({str(c.bom_ref.value): c for c in children})

    def _suite_refs(self, name: str) -> list[str]:
        return [r for r in (self.algorithm(a) for a in catalogue.suite_algorithms(name)) if r]

    def _suite(self, name: str) -> ProtocolPropertiesCipherSuite:
        code = catalogue.suite_identifier(name)
        return ProtocolPropertiesCipherSuite(
            name=name, algorithms=[BomRef(r) for r in self._suite_refs(name)], identifiers=[code] if code else []
        )

    def _secret(self, asset: Asset) -> None:
        props = asset.properties
        kind_text = str(props.get("kind") or "").lower()
        kind = next((t for word, t in _SECRET_TYPES if word in kind_text), RelatedCryptoMaterialType.CREDENTIAL)
        stored_in = self.out_edges[asset.id][RelationType.STORED_IN]
        self.components[asset.id] = Component(
            type=ComponentType.CRYPTOGRAPHIC_ASSET,
            name=f"{props.get('kind') or 'secret'} at {props.get('location') or asset.id}",
            bom_ref=asset.id,
            crypto_properties=CryptoProperties(
                asset_type=CryptoAssetType.RELATED_CRYPTO_MATERIAL,
                # the value never leaves the scan: only what it is and where it was found
                related_crypto_material_properties=RelatedCryptoMaterialProperties(type=kind, id=asset.id),
            ),
            properties=_props(asset, {"kind": props.get("kind"), "found-at": props.get("location")}),
        )
        self.depends[asset.id] += stored_in

    def _file(self, asset: Asset) -> None:
        props = asset.properties
        self.components[asset.id] = Component(
            type=ComponentType.FILE,
            name=str(props.get("path") or asset.id.split(":", 2)[-1]),
            bom_ref=asset.id,
            properties=_props(
                asset,
                {
                    "asset-type": asset.type.value,
                    "format": props.get("format"),
                    "kind": props.get("kind"),
                    "mode": props.get("mode"),
                    "owner": props.get("owner"),
                },
            ),
        )
        self.depends[asset.id] += self.out_edges[asset.id][RelationType.REFERENCES]
        self.depends[asset.id] += self.out_edges[asset.id][RelationType.CONFIGURES]
        self.depends[asset.id] += self.out_edges[asset.id][RelationType.TRUSTS]

    def _token(self, asset: Asset) -> None:
        props = asset.properties
        self.components[asset.id] = Component(
            type=ComponentType.DEVICE,
            name=f"PKCS#11 token {props.get('label') or asset.id}",
            bom_ref=asset.id,
            properties=_props(
                asset,
                {k.replace("_", "-"): props.get(k) for k in ("label", "manufacturer", "model", "slot", "serial")},
            ),
        )

    def _unassessed(self) -> None:
        """One ``data`` component per target that could not be assessed (a timeout, a refused
        connection, an unreadable file), so that compositions can say what is missing."""
        for error in self.result.errors:
            # a target that gave an asset was assessed, if not completely (one bad PEM block, one probe)
            seen = (error.target, f"file:{error.target}", f"tls:{error.target}", f"ssh:{error.target}")
            if error.collector in ("waivers", "keysweep") or any(t in self.assets for t in seen):
                continue
            ref = f"not-assessed:{error.collector}:{error.target}"
            if ref in self.components:
                continue
            self.unassessed[ref] = error.message
            self.components[ref] = Component(
                type=ComponentType.DATA,
                name=f"{error.collector} {error.target}",
                bom_ref=ref,
                description=f"not assessed: {error.message}",
                properties=[
                    Property(name="keysweep:collector", value=error.collector),
                    Property(name="keysweep:target", value=error.target),
                ],
            )

    def compositions(self) -> list[dict[str, Any]]:
        assessed = sorted(r for r in self.components if r not in self.unassessed) + sorted(self.nested)
        out: list[dict[str, Any]] = [
            {
                "bom-ref": "composition:assessed",
                # complete where every target was collected; incomplete when some could not be
                "aggregate": "incomplete" if self.unassessed else "complete",
                "assemblies": assessed,
            }
        ]
        if self.unassessed:
            missing = sorted(self.unassessed)
            out.append({"bom-ref": "composition:not-assessed", "aggregate": "unknown", "assemblies": missing})
        return out


def _certificate_state(asset: Asset) -> RelatedCryptoMaterialState:
    remaining, age = asset.properties.get("days_remaining"), asset.properties.get("age_days")
    if isinstance(remaining, int) and remaining < 0:
        return RelatedCryptoMaterialState.DEACTIVATED
    if isinstance(age, int) and age < 0:
        return RelatedCryptoMaterialState.PRE_ACTIVATION
    return RelatedCryptoMaterialState.ACTIVE


def _key_state(certs: list[Asset], findings: list[Finding]) -> RelatedCryptoMaterialState:
    """Compromised when a rule found the private key exposed; deactivated once every certificate
    binding the key has expired; pre-activation before any starts; else active."""
    if any(f.category == "secret-exposure" or (f.category == "key-storage" and f.severity == Severity.CRITICAL)
           for f in findings):  # fmt: skip
        return RelatedCryptoMaterialState.COMPROMISED
    if not certs:
        return RelatedCryptoMaterialState.ACTIVE
    states = {_certificate_state(c) for c in certs}
    if states == {RelatedCryptoMaterialState.DEACTIVATED}:
        return RelatedCryptoMaterialState.DEACTIVATED
    if states == {RelatedCryptoMaterialState.PRE_ACTIVATION}:
        return RelatedCryptoMaterialState.PRE_ACTIVATION
    return RelatedCryptoMaterialState.ACTIVE


def _add_1_7_fields(document: dict[str, Any], extras: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
    """CycloneDX 1.7 fields cyclonedx-python-lib does not model yet, added to its JSON output."""

    def visit(components: list[dict[str, Any]]) -> None:
        for component in components:
            crypto = component.get("cryptoProperties")
            for section, fields in extras.get(component.get("bom-ref", ""), {}).items():
                if crypto is not None:
                    crypto.setdefault(section, {}).update(fields)
            visit(component.get("components", []))

    visit(document.get("components", []))

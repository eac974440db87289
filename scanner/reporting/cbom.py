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

Written as a stream (:func:`iter_cbom`, ``CbomReporter.write``): a first pass notes every bom-ref
and dependency, then the components are built, serialised by the library and encoded a chunk at a
time, so that a scan's memory does not grow with every component (1.2 GB at 20,000 files before).
"""

from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
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
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Finding,
    RelationType,
    ScanResult,
    Severity,
    iso_time,
)
from scanner.inventory.summary import is_projection
from scanner.reporting import cbom_catalogue as catalogue
from scanner.reporting.cbom_catalogue import AlgorithmSpec
from scanner.reporting.json_indent import Chunks, iter_indent1, plain
from scanner.reporting.output import write_output_chunks

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
# components encoded per streamed piece: ~0.3 MB of output; the dicts of one piece (~3 MB) at a time
CHUNK_COMPONENTS = 200

# makes one library Component from Component's keyword arguments: the constructor itself
# (build_bom keeps every component), or a _Refill (the streamed CBOM serialises each at once)
Factory = Callable[..., Component]


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


def _algorithm_component(alg: AlgorithmSpec, new: Factory = Component) -> Component:
    extra = {"fips-approved": alg.fips_approved, "tls-group-code": alg.tls_group_code}
    return new(
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


class _Refill:
    """One library Component filled with each asset's fields in turn, for a writer that serialises
    a component before it asks for the next. The constructor makes eight sorted sets a CBOM never
    fills (authors, hashes, tags, ...): a fresh Component per asset was a third of the CBOM's time."""

    def __init__(self) -> None:
        self._component = Component(name="", bom_ref="")

    def __call__(
        self,
        *,
        type: ComponentType,
        name: str,
        bom_ref: str,
        crypto_properties: CryptoProperties | None = None,
        properties: Iterable[Property] | None = None,
        description: str | None = None,
        components: Iterable[Component] | None = None,
    ) -> Component:
        # every field a keysweep component sets is set again, so nothing of the last one stays
        component = self._component
        component.type = type
        component.name = name
        component.bom_ref.value = bom_ref
        component.crypto_properties = crypto_properties
        component.properties = properties or []
        component.description = description
        if components or component.components:  # an empty set stays empty: no new one per asset
            component.components = components or []
        return component


class CbomReporter:
    format: ClassVar[str] = "cbom"

    def __init__(self, version: str = "1.6") -> None:
        if version not in VERSIONS:
            raise ValueError(f"CycloneDX version {version!r} is not offered (choose {', '.join(VERSIONS)})")
        self.version = version

    def render(self, result: ScanResult) -> bytes:
        return b"".join(iter_cbom(result, self.version))

    def write(self, result: ScanResult, path: str) -> None:
        """Stream the CBOM to ``path`` (the rules of scanner.reporting.output): the same bytes as
        :meth:`render`, a chunk of components in memory at a time."""
        write_output_chunks(path, iter_cbom(result, self.version))


def iter_cbom(result: ScanResult, version: str = "1.6") -> Iterator[bytes]:
    """The CBOM's bytes in pieces. Each component is serialised by the library (in bom-ref order:
    the Bom's own sorted set compares whole components and costs more than the rest of the CBOM
    together), read back and encoded CHUNK_COMPONENTS at a time, the dependencies likewise."""
    built = _Builder(result)
    # the library's JSON read back: any number that is not an integer is noted, as the
    # json module and orjson write those differently (see scanner.reporting.json_indent)
    floats: list[str] = []
    loads = functools.partial(json.loads, parse_float=_noted(floats, float), parse_constant=_noted(floats, float))
    document = _serialize(built.metadata(), version, loads)
    head_plain = not floats
    document["components"] = Chunks(_component_chunks(built, version, loads, floats))
    # strs alone (keysweep's own parts are built of them)
    document["dependencies"] = Chunks((part, True) for part in built.dependencies(CHUNK_COMPONENTS))
    document["compositions"] = built.compositions()
    return iter_indent1(document, plain=head_plain)


def _component_chunks(
    built: _Builder, version: str, loads: Callable[[str], Any], floats: list[str]
) -> Iterator[tuple[list[Any], bool]]:
    view = SCHEMA_VERSIONS[SchemaVersion.from_version(version)]
    refill = _Refill()
    refs = sorted(built.sources)
    for start in range(0, len(refs), CHUNK_COMPONENTS):
        floats.clear()
        chunk = [
            loads(built.component(ref, refill).as_json(view_=view))  # type: ignore[attr-defined]
            for ref in refs[start : start + CHUNK_COMPONENTS]
        ]
        plain = not floats
        if version == "1.7":
            plain = _add_1_7_fields(chunk, built.extras) and plain
        built.extras.clear()
        yield chunk, plain


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
    built = _Builder(result)
    bom = built.metadata()
    bom.components.update(built.component(ref, Component) for ref in sorted(built.sources))
    return bom


class _Builder:
    """Two passes: the constructor walks every asset for what the CBOM must know before its first
    component (every bom-ref, algorithms included, and the dependencies); :meth:`component` then
    builds one component at a time, when it is written."""

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.assets = {a.id: a for a in result.assets}
        # (asset id, relation type) -> the other ends; only pairs that exist (an estate's worth)
        self.out_edges: dict[tuple[str, RelationType], list[str]] = {}
        self.in_edges: dict[tuple[str, RelationType], list[str]] = {}
        for rel in result.relations:
            if rel.source in self.assets and rel.target in self.assets:
                self.out_edges.setdefault((rel.source, rel.type), []).append(rel.target)
                self.in_edges.setdefault((rel.target, rel.type), []).append(rel.source)
        self.findings: dict[str, list[Finding]] = defaultdict(list)
        for f in result.findings:
            if f.waived is None:
                self.findings[f.asset_id].append(f)
        self.algorithms: dict[str, AlgorithmSpec] = {}
        # bom-ref -> what its component is built from
        self.sources: dict[str, Asset | AlgorithmSpec | CollectionError] = {}
        self.depends: dict[str, list[str]] = {}
        # CycloneDX 1.7 fields the library does not model yet: bom-ref -> section -> field -> value,
        # of the components built since the caller last cleared it
        self.extras: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
        self.unassessed: dict[str, str] = {}
        # the per-version protocol components nested in their endpoint's component
        self.nested: set[str] = set()
        self._plan()

    def algorithm(self, alg: AlgorithmSpec | None) -> str | None:
        if alg is None:
            return None
        self.algorithms.setdefault(alg.ref, alg)
        return alg.ref

    def _plan(self) -> None:
        for asset in self.result.assets:
            kind = _KINDS.get(asset.type)
            if kind is not None:
                kind[0](self, asset)
                self.sources[asset.id] = asset
        self.sources.update(self.algorithms)
        self._unassessed()

    def component(self, ref: str, new: Factory) -> Component:
        source = self.sources[ref]
        if isinstance(source, Asset):
            return _KINDS[source.type][1](self, source, new)
        if isinstance(source, AlgorithmSpec):
            return self._algorithm(source, new)
        return _not_assessed(source, ref, new)

    def _out(self, asset: Asset, kind: RelationType) -> list[str]:
        return self.out_edges.get((asset.id, kind), [])

    def _in(self, asset: Asset, kind: RelationType) -> list[str]:
        return self.in_edges.get((asset.id, kind), [])

    def _depend(self, ref: str, refs: list[str]) -> None:
        if refs:
            self.depends.setdefault(ref, []).extend(refs)

    def metadata(self) -> Bom:
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
        return bom

    def dependencies(self, chunk: int) -> Iterator[list[dict[str, Any]]]:
        """Every component (nested ones too) with what it depends on, possibly nothing, ``chunk`` at a time."""
        refs = sorted({*self.sources, *self.nested})
        for start in range(0, len(refs), chunk):
            out: list[dict[str, Any]] = []
            for ref in refs[start : start + chunk]:
                wanted = sorted(
                    {t for t in self.depends.get(ref, []) if t != ref and (t in self.sources or t in self.nested)}
                )
                out.append({"ref": ref, "dependsOn": wanted} if wanted else {"ref": ref})
            yield out

    # -- assets -------------------------------------------------------------------------------------
    def _key_links(self, asset: Asset) -> tuple[str | None, list[str], str | None, list[str]]:
        """The key's algorithm, the keys that wrap it and their algorithm, and where it is held."""
        alg_ref = self.algorithm(catalogue.key_algorithm(asset.properties))
        # a wrapped key is secured by its key-encryption key's algorithm, and depends on that key
        keks = self._in(asset, RelationType.WRAPS)
        kek_ref = self.algorithm(catalogue.key_algorithm(self.assets[keks[0]].properties)) if keks else None
        return alg_ref, keks, kek_ref, self._out(asset, RelationType.STORED_IN)

    def _plan_key(self, asset: Asset) -> None:
        alg_ref, keks, _, stored_in = self._key_links(asset)
        self._depend(asset.id, ([alg_ref] if alg_ref else []) + keks + stored_in)

    def _key(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        alg_ref, _, kek_ref, stored_in = self._key_links(asset)
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
        certs = [self.assets[c] for c in self._in(asset, RelationType.CERTIFIES)]
        expiries = [t for t in (_time(c.properties.get("not_after")) for c in certs) if t]
        findings = self.findings.get(asset.id, [])
        size = props.get("key_size")
        name = f"{props.get('algorithm') or 'key'}"
        name += f"-{props.get('curve') or size}" if (props.get("curve") or size) else ""
        if props.get("spki_sha256"):
            self.extras[asset.id]["relatedCryptoMaterialProperties"]["fingerprint"] = {
                "alg": "SHA-256",
                "content": str(props["spki_sha256"]),
            }
        return new(
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

    def _certificate_links(self, asset: Asset) -> tuple[str | None, list[str], list[str]]:
        """The certificate's signature algorithm, the keys it certifies, and where it is held."""
        sig = asset.properties.get("signature_algorithm")
        sig_ref = self.algorithm(catalogue.signature_algorithm(str(sig))) if sig else None
        return sig_ref, self._out(asset, RelationType.CERTIFIES), self._out(asset, RelationType.STORED_IN)

    def _plan_certificate(self, asset: Asset) -> None:
        sig_ref, keys, stored_in = self._certificate_links(asset)
        issuers = self._out(asset, RelationType.ISSUED_BY)
        self._depend(asset.id, keys + ([sig_ref] if sig_ref else []) + stored_in + issuers)

    def _certificate(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        sig_ref, keys, _ = self._certificate_links(asset)
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
        return new(
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

    def _endpoint_links(self, asset: Asset) -> tuple[list[str], list[str], list[str], list[str]]:
        """The endpoint's key-exchange groups and their algorithms, the certificates it presents,
        and its protocol versions."""
        groups = [str(g) for g in asset.properties.get("key_exchange_groups") or []]
        group_refs = [r for r in (self.algorithm(catalogue.group_algorithm(g)) for g in groups) if r]
        protocols = [str(p) for p in asset.properties.get("protocols") or []]
        return groups, group_refs, self._out(asset, RelationType.PRESENTS), protocols

    def _plan_endpoint(self, asset: Asset) -> None:
        props = asset.properties
        _, group_refs, certs, protocols = self._endpoint_links(asset)
        by_version: Mapping[str, Iterable[str]] = props.get("cipher_suites_by_protocol") or {}
        children = [f"{asset.id}#{protocol}" for protocol in protocols]
        for protocol in protocols:
            names = by_version.get(protocol, [])
            self._depend(f"{asset.id}#{protocol}", [r for n in names for r in self._suite_refs(str(n))])
        suite_refs = [r for name in props.get("cipher_suites") or [] for r in self._suite_refs(str(name))]
        self._depend(asset.id, certs + group_refs + list(dict.fromkeys(suite_refs)) + children)
        self.nested.update(children)

    def _endpoint(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        groups, group_refs, certs, protocols = self._endpoint_links(asset)
        by_version: Mapping[str, Iterable[str]] = props.get("cipher_suites_by_protocol") or {}
        versions = sorted({_TLS_VERSION.get(p, p) for p in protocols})
        # nested components are new ones, whichever factory builds the endpoint's
        children = [
            Component(
                type=ComponentType.CRYPTOGRAPHIC_ASSET,
                name=f"{protocol} on {asset.id.removeprefix('tls:')}",
                bom_ref=f"{asset.id}#{protocol}",
                crypto_properties=CryptoProperties(
                    asset_type=CryptoAssetType.PROTOCOL,
                    protocol_properties=ProtocolProperties(
                        type=ProtocolPropertiesType.TLS,
                        version=_TLS_VERSION.get(protocol, protocol),
                        cipher_suites=[self._suite(str(n)) for n in by_version.get(protocol, [])],
                    ),
                ),
            )
            for protocol in protocols
        ]
        return new(
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

    def _suite_refs(self, name: str) -> list[str]:
        return [r for r in (self.algorithm(a) for a in catalogue.suite_algorithms(name)) if r]

    def _suite(self, name: str) -> ProtocolPropertiesCipherSuite:
        code = catalogue.suite_identifier(name)
        return ProtocolPropertiesCipherSuite(
            name=name, algorithms=[BomRef(r) for r in self._suite_refs(name)], identifiers=[code] if code else []
        )

    def _plan_secret(self, asset: Asset) -> None:
        self._depend(asset.id, self._out(asset, RelationType.STORED_IN))

    def _secret(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        kind_text = str(props.get("kind") or "").lower()
        kind = next((t for word, t in _SECRET_TYPES if word in kind_text), RelatedCryptoMaterialType.CREDENTIAL)
        return new(
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

    def _plan_file(self, asset: Asset) -> None:
        kinds = (RelationType.REFERENCES, RelationType.CONFIGURES, RelationType.TRUSTS)
        self._depend(asset.id, [ref for kind in kinds for ref in self._out(asset, kind)])

    def _file(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        return new(
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

    def _plan_token(self, asset: Asset) -> None:
        pass  # a token depends on nothing; what it holds depends on it

    def _token(self, asset: Asset, new: Factory) -> Component:
        props = asset.properties
        return new(
            type=ComponentType.DEVICE,
            name=f"PKCS#11 token {props.get('label') or asset.id}",
            bom_ref=asset.id,
            properties=_props(
                asset,
                {k.replace("_", "-"): props.get(k) for k in ("label", "manufacturer", "model", "slot", "serial")},
            ),
        )

    def _algorithm(self, alg: AlgorithmSpec, new: Factory) -> Component:
        if alg.family:
            self.extras[alg.ref]["algorithmProperties"]["algorithmFamily"] = alg.family
        if alg.elliptic_curve:
            self.extras[alg.ref]["algorithmProperties"]["ellipticCurve"] = alg.elliptic_curve
        return _algorithm_component(alg, new)

    def _unassessed(self) -> None:
        """One ``data`` component per target that could not be assessed (a timeout, a refused
        connection, an unreadable file), so that compositions can say what is missing."""
        for error in self.result.errors:
            # a target that gave an asset was assessed, if not completely (one bad PEM block, one probe)
            seen = (error.target, f"file:{error.target}", f"tls:{error.target}", f"ssh:{error.target}")
            if error.collector in ("waivers", "keysweep") or any(t in self.assets for t in seen):
                continue
            ref = f"not-assessed:{error.collector}:{error.target}"
            if ref in self.sources:
                continue
            self.unassessed[ref] = error.message
            self.sources[ref] = error

    def compositions(self) -> list[dict[str, Any]]:
        assessed = sorted(r for r in self.sources if r not in self.unassessed) + sorted(self.nested)
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


# what each asset type's first pass notes, and what builds its component (functions of the
# class, not bound methods: a table of a builder's own bound methods would keep it alive in a cycle)
_KINDS: dict[AssetType, tuple[Callable[[_Builder, Asset], None], Callable[[_Builder, Asset, Factory], Component]]] = {
    AssetType.KEY: (_Builder._plan_key, _Builder._key),
    AssetType.CERTIFICATE: (_Builder._plan_certificate, _Builder._certificate),
    AssetType.TLS_ENDPOINT: (_Builder._plan_endpoint, _Builder._endpoint),
    AssetType.SECRET: (_Builder._plan_secret, _Builder._secret),
    AssetType.FILE: (_Builder._plan_file, _Builder._file),
    AssetType.CONFIG: (_Builder._plan_file, _Builder._file),
    AssetType.TRUST_STORE: (_Builder._plan_file, _Builder._file),
    AssetType.HSM_TOKEN: (_Builder._plan_token, _Builder._token),
}


def _not_assessed(error: CollectionError, ref: str, new: Factory) -> Component:
    return new(
        type=ComponentType.DATA,
        name=f"{error.collector} {error.target}",
        bom_ref=ref,
        description=f"not assessed: {error.message}",
        properties=[
            Property(name="keysweep:collector", value=error.collector),
            Property(name="keysweep:target", value=error.target),
        ],
    )


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


def _add_1_7_fields(components: list[dict[str, Any]], extras: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> bool:
    """CycloneDX 1.7 fields cyclonedx-python-lib does not model yet, added to its JSON output of
    ``components``; whether every value added is plain (see scanner.reporting.json_indent)."""
    added: list[Any] = []
    _add_extras(components, extras, added)
    return plain(added)


def _add_extras(
    components: list[dict[str, Any]], extras: Mapping[str, Mapping[str, Mapping[str, Any]]], added: list[Any]
) -> None:
    # a module function, not a closure calling itself: that would be a cycle per chunk, which the
    # scan (garbage collector off once collected) would never free
    for component in components:
        crypto = component.get("cryptoProperties")
        for section, fields in extras.get(component.get("bom-ref", ""), {}).items():
            if crypto is not None:
                crypto.setdefault(section, {}).update(fields)
                added.append(fields)
        _add_extras(component.get("components", []), extras, added)

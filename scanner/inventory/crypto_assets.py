"""Turn cryptography objects into inventory assets, with content-derived ids.

Every collector (files, TLS, PKCS#11) uses these, so that the same certificate or key found in
several places becomes one node. Each field is read on its own: a certificate whose extensions
cannot be parsed is still inventoried, and what could not be read is reported.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dh, dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID

from scanner.inventory import der, knowledge, lenient
from scanner.inventory.lenient import FieldErrors
from scanner.inventory.model import (
    Asset,
    AssetType,
    FrozenProperties,
    Location,
    Relation,
    RelationType,
    iso_time,
)

K = TypeVar("K")
T = TypeVar("T")

_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def key_id_for_spki(spki_der: bytes) -> str:
    return "key:spki-sha256:" + hashlib.sha256(spki_der).hexdigest()


def certificate_id(der_bytes: bytes) -> str:
    return "cert:sha256:" + hashlib.sha256(der_bytes).hexdigest()


def describe_public_key(public_key: PublicKeyTypes) -> dict[str, Any]:
    """keysweep's algorithm name, size and curve for a key cryptography can load."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return {"algorithm": "RSA", "key_size": public_key.key_size, "curve": None}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return {"algorithm": "EC", "key_size": public_key.curve.key_size, "curve": public_key.curve.name}
    if isinstance(public_key, dsa.DSAPublicKey):
        return {"algorithm": "DSA", "key_size": public_key.key_size, "curve": None}
    if isinstance(public_key, dh.DHPublicKey):
        return {"algorithm": "DH", "key_size": public_key.key_size, "curve": None}
    for cls, name, size in (
        (ed25519.Ed25519PublicKey, "Ed25519", 256),
        (ed448.Ed448PublicKey, "Ed448", 456),
        (x25519.X25519PublicKey, "X25519", 256),
        (x448.X448PublicKey, "X448", 448),
    ):
        if isinstance(public_key, cls):
            return {"algorithm": name, "key_size": size, "curve": None}
    return {"algorithm": type(public_key).__name__, "key_size": None, "curve": None}


_DSA_OID = "1.2.840.10040.4.1"


def describe_spki(spki_der: bytes) -> dict[str, Any]:
    """Describe a SubjectPublicKeyInfo, by OID where cryptography cannot load the key."""
    return dict(_describe_spki(spki_der))  # a copy: the caller may add to it


# a key met again (in a certificate and its key file, renewed certificates, a chain's issuer) is
# loaded once: loading a key (checking an EC point) is most of the cost of describing it
@functools.lru_cache(maxsize=4096)
def _describe_spki(spki_der: bytes) -> dict[str, Any]:
    try:
        return describe_public_key(serialization.load_der_public_key(spki_der))
    except Exception:  # UnsupportedAlgorithm, ValueError: fall back to the OID
        pass
    oid = der.spki_algorithm_oid(spki_der)
    if oid == _DSA_OID and not der.spki_has_parameters(spki_der):
        # RFC 3279 2.3.2: a DSA key without parameters inherits its issuer's; the size is the issuer's p
        return {"algorithm": "DSA", "key_size": None, "curve": None, "dsa_parameters_inherited": True}
    pq = knowledge.post_quantum_by_oid(oid)
    if pq is not None:
        return {"algorithm": pq.name, "key_size": None, "curve": None, "algorithm_oid": oid}
    lenient_description = lenient.describe_spki(spki_der)
    if lenient_description is not None:
        return lenient_description
    return {"algorithm": f"unknown ({oid})", "key_size": None, "curve": None, "algorithm_oid": oid}


def key_asset(
    spki_der: bytes,
    location: Location | None,
    *,
    has_private_key: bool,
    encrypted_at_rest: bool | None = None,
    description: dict[str, Any] | None = None,
) -> Asset:
    digest = hashlib.sha256(spki_der).hexdigest()
    # built read-only at once (one copy of the description, not two)
    properties = FrozenProperties(
        description or _describe_spki(spki_der),
        spki_sha256=digest,
        has_private_key=has_private_key,
        # a bare public key or certificate says nothing about the private key's storage
        encrypted_at_rest=encrypted_at_rest if has_private_key else None,
    )
    return Asset(
        id="key:spki-sha256:" + digest,
        type=AssetType.KEY,
        properties=properties,
        locations=(location,) if location else (),
    )


def public_key_asset(
    public_key: PublicKeyTypes,
    location: Location | None,
    *,
    has_private_key: bool,
    encrypted_at_rest: bool | None = None,
) -> Asset:
    return key_asset(
        public_key.public_bytes(_DER, _SPKI),
        location,
        has_private_key=has_private_key,
        encrypted_at_rest=encrypted_at_rest,
        description=describe_public_key(public_key),
    )


def _signature_algorithm(cert: x509.Certificate) -> str:
    oid = cert.signature_algorithm_oid
    pq = knowledge.post_quantum_by_oid(oid.dotted_string)
    if pq is not None:
        return pq.name
    name = oid._name
    return oid.dotted_string if name == "Unknown OID" else name


def _signature_hash(cert: x509.Certificate) -> str | None:
    # EdDSA and ML-DSA sign without a separate hash; an unknown OID is shown by signature_algorithm
    if knowledge.post_quantum_by_oid(cert.signature_algorithm_oid.dotted_string) is not None:
        return None
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    return algorithm.name if isinstance(algorithm, hashes.HashAlgorithm) else None


def _san(value: x509.SubjectAlternativeName | None) -> list[str]:
    if value is None:
        return []
    out: list[str] = []
    for name in value:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
    return out


_KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _key_usage(value: x509.KeyUsage | None) -> list[str]:
    if value is None:
        return []
    used = [name for name in _KEY_USAGE_NAMES if getattr(value, name)]
    if value.key_agreement:  # encipher_only / decipher_only are only defined with key_agreement
        used += [n for n in ("encipher_only", "decipher_only") if getattr(value, n)]
    return used


def _ocsp_urls(value: x509.AuthorityInformationAccess | None) -> list[str]:
    if value is None:
        return []
    return [
        d.access_location.value
        for d in value
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def _crl_urls(value: x509.CRLDistributionPoints | None) -> list[str]:
    if value is None:
        return []
    return [
        name.value
        for point in value
        for name in point.full_name or []
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def _extension_properties(exts: dict[type[Any], Any]) -> dict[str, Any]:
    basic = exts.get(x509.BasicConstraints)
    ski = exts.get(x509.SubjectKeyIdentifier)
    aki = exts.get(x509.AuthorityKeyIdentifier)
    eku = exts.get(x509.ExtendedKeyUsage)
    return {
        "is_ca": bool(basic and basic.ca),
        "san": _san(exts.get(x509.SubjectAlternativeName)),
        "key_usage": _key_usage(exts.get(x509.KeyUsage)),
        # an OID without a name stays dotted, so that rules and readers can still tell purposes apart
        "extended_key_usage": [] if eku is None else [lenient.eku_name(oid.dotted_string) for oid in eku],
        "extended_key_usage_oids": [] if eku is None else [oid.dotted_string for oid in eku],
        "subject_key_id": None if ski is None else bytes(ski.digest).hex(),
        "authority_key_id": None if aki is None or aki.key_identifier is None else bytes(aki.key_identifier).hex(),
        "ocsp_urls": _ocsp_urls(exts.get(x509.AuthorityInformationAccess)),
        "crl_urls": _crl_urls(exts.get(x509.CRLDistributionPoints)),
    }


class _Memo(OrderedDict[K, T]):
    """Values derived from DER alone, by its bytes or their digest; bounded, the oldest entry goes first.

    An OrderedDict, not a dict: taking a dict's first key walks past the slots its earlier
    evictions emptied, so once full every remember cost a walk of thousands of slots (0.2 s per
    40,000 certificates); popitem(last=False) takes the oldest at once."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: T) -> None:
        if len(self) >= self.limit:
            with contextlib.suppress(KeyError):  # emptied by another thread evicting at the same moment
                self.popitem(last=False)
        self[key] = value


# A sweep meets the same issuer names, signature algorithms and extensions (authority key id, key
# usages, basic constraints, policies) in certificate after certificate; cryptography builds Python
# objects for each on every read (most of a description's cost). What they yield depends on their
# DER alone, so it is kept by those bytes: a value read once through cryptography, never guessed.
_NAME_TEXT: _Memo[bytes, str] = _Memo(8192)
_SIGNATURE: _Memo[bytes, tuple[str, str | None]] = _Memo(256)
# an Extension element (OID, critical, value) -> its OID and the properties it decides
_EXTENSION_FACTS: _Memo[bytes, tuple[str, dict[str, Any]]] = _Memo(16384)


def _name_text(fields: FieldErrors, field: str, name_der: bytes | None, name: Callable[[], x509.Name]) -> str:
    """A Name's rfc4514_string: read once per distinct DER Name, or directly when plain."""
    if name_der is None:
        return fields.read(field, lambda: name().rfc4514_string(), "")
    if (known := _NAME_TEXT.get(name_der)) is not None:
        return known
    text = _plain_name_text(name_der)
    if text is None:
        text = fields.read(field, lambda: name().rfc4514_string(), "")
    # issuers repeat; a leaf's own subject rarely does (a certificate met again is described once
    # anyway), and a sweep's worth of them would crowd the issuers out
    if field == "issuer" and field not in fields.failed:
        _NAME_TEXT.remember(name_der, text)
    return text


# the attributes a plain name is made of, by their DER OID element, with cryptography's short names
# (the names RFC 4514 gives) and the byte length cryptography holds each to, if it does
_PLAIN_NAME_ATTRIBUTES: dict[bytes, tuple[str, int, int]] = {
    b"\x06\x03\x55\x04\x03": ("CN", 1, 64),
    b"\x06\x03\x55\x04\x06": ("C", 2, 2),
    b"\x06\x03\x55\x04\x07": ("L", 1, 1 << 16),
    b"\x06\x03\x55\x04\x08": ("ST", 1, 1 << 16),
    b"\x06\x03\x55\x04\x09": ("STREET", 1, 1 << 16),
    b"\x06\x03\x55\x04\x0a": ("O", 1, 1 << 16),
    b"\x06\x03\x55\x04\x0b": ("OU", 1, 1 << 16),
}
# the characters a plain value may hold, by string tag: PrintableString's alphabet and visible ASCII
# for UTF8String, each without those RFC 4514 escapes (and never a leading '#' or an edge space)
_PLAIN_VALUE_BYTES = {
    0x13: frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()-./:=?"),
    0x0C: frozenset(range(0x20, 0x7F)) - frozenset(b'\\"+,;<>#'),
}
_NOT_PLAIN = {tag: bytes(set(range(256)) - allowed) for tag, allowed in _PLAIN_VALUE_BYTES.items()}


def _plain_name_text(name_der: bytes) -> str | None:
    """rfc4514_string of a Name whose every RDN is one common attribute with a value that needs no
    escaping (what cryptography writes for it is then the value as it stands); None otherwise."""
    try:
        attributes = der.name_attributes(name_der)
    except der.DerError:
        return None
    if attributes is None:
        return None
    parts = []
    for oid, tag, value in reversed(attributes):
        known = _PLAIN_NAME_ATTRIBUTES.get(oid)
        not_plain = _NOT_PLAIN.get(tag)
        if known is None or not_plain is None or not known[1] <= len(value) <= known[2]:
            return None
        if value.translate(None, not_plain) != value or value[0] == 0x20 or value[-1] == 0x20:
            return None
        parts.append(f"{known[0]}={value.decode('ascii')}")
    return ",".join(parts)


def _signature(
    fields: FieldErrors, cert: x509.Certificate, algorithm_der: bytes | None
) -> tuple[str | None, str | None]:
    """signature_algorithm and signature_hash, read once per distinct AlgorithmIdentifier."""
    if algorithm_der is not None and (known := _SIGNATURE.get(algorithm_der)) is not None:
        return known
    name = fields.read("signature_algorithm", lambda: _signature_algorithm(cert), None)
    digest = fields.read("signature_hash", lambda: _signature_hash(cert), None)
    if algorithm_der is not None and name is not None and "signature_hash" not in fields.failed:
        _SIGNATURE.remember(algorithm_der, (name, digest))
    return name, digest


def _known_extension_properties(elements: tuple[bytes, ...]) -> dict[str, Any] | None:
    """_extension_properties without cryptography, when every extension was read before or is read
    directly; else None.

    cryptography parses each extension on its own and fails the set only for a duplicate OID, so a
    set of extensions each read before reads the same, unless two share an OID (then it is read).
    """
    properties = lenient.no_extension_properties()
    seen: set[str] = set()
    for element in elements:
        known = _EXTENSION_FACTS.get(element)
        fact = known or _direct_extension_fact(element)
        if fact is None or fact[0] in seen:
            return None
        seen.add(fact[0])
        if known is None:
            properties.update(fact[1])  # a direct reading's values are its own
            continue
        for key, value in known[1].items():
            # fresh lists: the memo's own must never be shared with (or changed through) an asset
            properties[key] = value.copy() if type(value) is list else value
    return properties


# the extensions nearly every leaf has its own of, so a memo would not help: read from their DER in
# the common shapes (names that are all plain DNS names, a key identifier), else through cryptography
_SAN, _SKI = "2.5.29.17", "2.5.29.14"


def _direct_extension_fact(element: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        oid, value = der.extension_parts(element)
        if oid == der.SAN_OID:
            names = der.dns_names(value)
            return None if names is None else (_SAN, {"san": [f"DNS:{name}" for name in names]})
        if oid == der.SKI_OID:
            digest = der.octet_string(value)
            return None if digest is None else (_SKI, {"subject_key_id": digest.hex()})
    except der.DerError:
        pass
    return None


def _read_extension_properties(cert: x509.Certificate, elements: tuple[bytes, ...] | None) -> dict[str, Any]:
    """_extension_properties through cryptography (raises as it does); each extension's share is
    remembered by its DER element for the certificates that follow."""
    extensions = list(cert.extensions)  # every extension's parsed value, by its class below
    properties = _extension_properties({type(ext.value): ext.value for ext in extensions})
    if elements is not None and len(elements) == len(extensions):
        empty = lenient.no_extension_properties()
        for element, ext in zip(elements, extensions, strict=True):
            if element not in _EXTENSION_FACTS and ext.oid.dotted_string not in (_SAN, _SKI):
                # what this extension decides is what it changes from a reading without extensions
                alone = _extension_properties({type(ext.value): ext.value})
                decided = {key: value for key, value in alone.items() if value != empty[key]}
                _EXTENSION_FACTS.remember(element, (ext.oid.dotted_string, decided))
    return properties


def certificate_observations(
    cert: x509.Certificate,
    location: Location | None,
    *,
    der_bytes: bytes | None = None,
) -> tuple[list[Asset | Relation], dict[str, str]]:
    """The certificate, the key it certifies, and the relation between them.

    Returns the observations and the fields that could not be read (field -> reason).
    """
    raw = der_bytes if der_bytes is not None else cert.public_bytes(_DER)
    digest = hashlib.sha256(raw).hexdigest()
    described = _DESCRIBED.get(digest)
    if described is None:
        properties, spki, failed = _describe_certificate(cert, raw, digest)
        described = _with_key("cert:sha256:" + digest, properties, spki, failed)
        _DESCRIBED.remember(digest, described)
    return _sighting(described, location)


# A certificate met again (an intermediate in every chain file, a root in every CA bundle, a file
# reached twice) is described once: its description and its key's depend on its DER alone, so they
# are kept by fingerprint, with the same failed fields (the error entries repeat for each sighting).
_DESCRIBED: _Memo[str, _Described] = _Memo(4096)


# the validity bounds by field, as cryptography names them
_BOUNDS = {"not_before": "not_valid_before_utc", "not_after": "not_valid_after_utc"}


def _moment(fields: FieldErrors, cert: x509.Certificate, field: str) -> tuple[str | None, datetime | None]:
    """A validity bound as report text, and as read (for validity_days: read once, not twice)."""
    try:
        moment: datetime = getattr(cert, _BOUNDS[field])
        return iso_time(moment), moment
    except Exception as exc:  # as FieldErrors.read: the field is named, the others still read
        fields.failed[field] = lenient.reason(exc)
        return None, None


def _describe_certificate(
    cert: x509.Certificate, raw: bytes, digest: str
) -> tuple[dict[str, Any], bytes | None, dict[str, str]]:
    fields = FieldErrors()
    try:
        # the DER elements the memos are keyed by; a shape this reader does not know reads all through cryptography
        parts: der.CertificateFields | None = der.certificate_fields(raw)
    except der.DerError:
        parts = None
    subject = _name_text(fields, "subject", parts.subject if parts else None, lambda: cert.subject)
    issuer = _name_text(fields, "issuer", parts.issuer if parts else None, lambda: cert.issuer)
    not_before, valid_from = _moment(fields, cert, "not_before")
    not_after, valid_to = _moment(fields, cert, "not_after")
    elements = parts.extensions if parts else None
    extension_values = _known_extension_properties(elements) if elements else None
    if extension_values is None:
        extension_values = fields.read("extensions", lambda: _read_extension_properties(cert, elements), None)
    if extension_values is None:
        # one bad extension fails them all in cryptography: read each on its own, so that a CA keeps
        # its basicConstraints, and name the extensions that failed
        no_values: tuple[dict[str, Any], dict[str, str]] = ({}, {})
        extension_values, failed_extensions = fields.read(
            "extensions (lenient reading)", lambda: lenient.extension_properties(raw), no_values
        )
        extension_values = {**_extension_properties({}), **extension_values}
        lost, refused = lenient.extensions_cryptography_rejects(raw)
        if lost or refused or failed_extensions:  # otherwise cryptography's own reason stays the one given
            del fields.failed["extensions"]
        # a field is lost when no reader read it, or when cryptography refused an extension a
        # description reads; one it does not read (a policy notice with bytes outside
        # VisibleString's alphabet, in four of Microsoft's roots) loses nothing: a fact about the
        # certificate, kept as such, not an error
        for name, reason in {**lost, **failed_extensions}.items():
            fields.failed[f"extension {name}"] = reason
        nonconforming = {name: why for name, why in refused.items() if name not in failed_extensions}
        if nonconforming:
            extension_values["nonconforming_extensions"] = dict(sorted(nonconforming.items()))
    ski, aki = extension_values["subject_key_id"], extension_values["authority_key_id"]
    serial = fields.read("serial", lambda: format(cert.serial_number, "x"), None)
    signature_algorithm, signature_hash = _signature(fields, cert, parts.signature_algorithm if parts else None)
    properties: dict[str, Any] = {
        "sha256_fingerprint": digest,
        "subject": subject,
        "issuer": issuer,
        "serial": serial,
        "not_before": not_before,
        "not_after": not_after,
        "signature_algorithm": signature_algorithm,
        "signature_hash": signature_hash,
        # self-issued, and signed by its own key where key identifiers say so
        "self_signed": bool(subject) and subject == issuer and (aki is None or ski is None or aki == ski),
        **extension_values,
        "version": fields.read("version", lambda: cert.version.name, None),
    }
    if not_before and not_after and valid_from and valid_to:
        properties["validity_days"] = (valid_to - valid_from).days

    if parts is not None:  # the same element spki_from_tbs finds, without asking for the TBS again
        return properties, parts.spki, fields.failed
    spki = fields.read("public_key", lambda: der.spki_from_tbs(cert.tbs_certificate_bytes), None)
    return properties, spki, fields.failed


def lenient_certificate_observations(
    der_bytes: bytes, location: Location | None
) -> tuple[list[Asset | Relation], dict[str, str]]:
    """What asn1crypto can read of a certificate cryptography rejects (marked ``parsed_leniently``).

    Raises ValueError when the data is not a certificate even to a lenient reader.
    """
    properties, spki, failed = lenient.certificate_properties(der_bytes)
    return _sighting(_with_key(certificate_id(der_bytes), properties, spki, failed), location)


class _Described(NamedTuple):
    """A certificate's description and its key's, for any sighting (``_sighting`` adds the place)."""

    cert_id: str
    properties: dict[str, Any]  # the certificate's, with public_key_algorithm and unreadable_fields
    key: Asset | None  # without locations
    failed: dict[str, str]


def _with_key(cert_id: str, properties: dict[str, Any], spki: bytes | None, failed: dict[str, str]) -> _Described:
    """The certificate's properties completed by its key's description (``properties`` and ``failed``
    are changed: callers hand over their own)."""
    key = None
    if spki is not None:
        try:
            key = key_asset(spki, None, has_private_key=False)
        except Exception as exc:  # an SPKI that even the OID reader cannot walk
            failed["public_key"] = lenient.reason(exc)
        else:
            properties["public_key_algorithm"] = key.properties.get("algorithm")
    if failed:
        properties["unreadable_fields"] = sorted(failed)
    return _Described(cert_id, properties, key, failed)


def _sighting(described: _Described, location: Location | None) -> tuple[list[Asset | Relation], dict[str, str]]:
    """One sighting's observations: its own assets (and property mappings) at ``location``."""
    locations = (location,) if location else ()
    cert_id, properties, key, failed = described
    cert_asset = Asset(cert_id, AssetType.CERTIFICATE, FrozenProperties(properties), locations)
    if key is None:
        return [cert_asset], dict(failed)
    key_here = Asset(key.id, AssetType.KEY, FrozenProperties(key.properties), locations)
    return [cert_asset, key_here, Relation(cert_id, key.id, RelationType.CERTIFIES)], dict(failed)

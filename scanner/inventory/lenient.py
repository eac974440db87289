"""A lenient reading of X.509 certificates with asn1crypto, field by field.

cryptography refuses a whole certificate (or all its extensions) for one field it dislikes, where
OpenSSL still loads it. For an inventory, what can be read counts: each field and each extension
is read on its own here, and what failed is named. Properties use the same names and shapes as
crypto_assets' strict reading, so rules do not need to know which reader ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import algos
from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519

from scanner.compat import UTC
from scanner.inventory import der
from scanner.inventory.model import iso_time

T = TypeVar("T")

# RFC 4514 short names, as cryptography's rfc4514_string writes them
_NAME_SHORT = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
_KEY_USAGE = {
    "digital_signature": "digital_signature",
    "non_repudiation": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "key_cert_sign": "key_cert_sign",
    "crl_sign": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
_SAN_PREFIX = {
    "dns_name": "DNS",
    "ip_address": "IP",
    "rfc822_name": "email",
    "uniform_resource_identifier": "URI",
}


def key_purpose_name(dotted: str) -> str | None:
    """asn1crypto's name for an extended key usage OID, in the camelCase of RFC 5280 (anyExtendedKeyUsage)."""
    snake: str | None = ax509.KeyPurposeId._map.get(dotted)
    if not snake:
        return None
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def eku_name(dotted: str) -> str:
    """An extended key usage by name where one is known (cryptography's, else asn1crypto's), else dotted."""
    name = x509.ObjectIdentifier(dotted)._name
    if name != "Unknown OID":
        return name
    return key_purpose_name(dotted) or dotted


def _escape(value: str) -> str:
    out = value.replace("\\", "\\\\")
    for char in ',+"<>;=':
        out = out.replace(char, "\\" + char)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def rfc4514(name: ax509.Name) -> str:
    """A Name as RFC 4514 text (last RDN first), close to cryptography's rfc4514_string."""
    rdns = []
    for rdn in name.chosen:
        parts = []
        for attribute in rdn:
            oid = attribute["type"].dotted
            value = attribute["value"].native
            text = value if isinstance(value, str) else str(value)
            parts.append(f"{_NAME_SHORT.get(oid, oid)}={_escape(text)}")
        rdns.append("+".join(parts))
    return ",".join(reversed(rdns))


def reason(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(exc).split("\n", 1)[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class FieldErrors:
    """Collects per-field read failures, so that one bad field does not lose the certificate."""

    def __init__(self) -> None:
        self.failed: dict[str, str] = {}

    def read(self, field: str, reader: Callable[[], T], default: T) -> T:
        try:
            return reader()
        except Exception as exc:  # cryptography and asn1crypto raise ValueError, TypeError, KeyError, ...
            self.failed[field] = reason(exc)
            return default


def _extension_name(extension: Any) -> str:
    oid = extension["extn_id"].dotted
    name = ax509.ExtensionId._map.get(oid)
    return f"{name} ({oid})" if name else oid


# the extensions a description reads (see _read_extension): basic constraints, SAN, key usage,
# EKU, SKI, AKI, authority information access, CRL distribution points
_READ_OIDS = frozenset(
    {"2.5.29.19", "2.5.29.17", "2.5.29.15", "2.5.29.37", "2.5.29.14", "2.5.29.35", "1.3.6.1.5.5.7.1.1", "2.5.29.31"}
)


def _general_names(names: Any) -> list[str]:
    out = []
    for general in names:
        prefix = _SAN_PREFIX.get(general.name)
        if prefix:
            out.append(f"{prefix}:{general.native}")
    return out


def _crl_urls(points: Any) -> list[str]:
    urls: list[str] = []
    for point in points:
        name = point["distribution_point"]
        if name.name == "full_name":
            urls += [g.native for g in name.chosen if g.name == "uniform_resource_identifier"]
    return urls


def _read_extension(oid: str, value: Any, out: dict[str, Any]) -> None:
    native = value.native  # forces a full parse: a bad encoding raises here
    if oid == "2.5.29.19":
        out["is_ca"] = bool(native["ca"])
        out["path_length"] = native.get("path_len_constraint")
    elif oid == "2.5.29.17":
        out["san"] = _general_names(value)
    elif oid == "2.5.29.15":
        used = {_KEY_USAGE[n] for n in native if n in _KEY_USAGE}
        out["key_usage"] = [n for n in _KEY_USAGE.values() if n in used]
    elif oid == "2.5.29.37":
        dotted = [purpose.dotted for purpose in value]
        out["extended_key_usage"] = [eku_name(d) for d in dotted]
        out["extended_key_usage_oids"] = dotted
    elif oid == "2.5.29.14":
        out["subject_key_id"] = bytes(native).hex()
    elif oid == "2.5.29.35":
        key_id = native.get("key_identifier")
        out["authority_key_id"] = None if key_id is None else bytes(key_id).hex()
    elif oid == "1.3.6.1.5.5.7.1.1":
        out["ocsp_urls"] = [
            d["access_location"].native for d in value if d["access_method"].dotted == "1.3.6.1.5.5.7.48.1"
        ]
    elif oid == "2.5.29.31":
        out["crl_urls"] = _crl_urls(value)


def no_extension_properties() -> dict[str, Any]:
    """The extension properties of a certificate without extensions (where every description starts)."""
    return {
        "is_ca": False,
        "san": [],
        "key_usage": [],
        "extended_key_usage": [],
        "extended_key_usage_oids": [],
        "subject_key_id": None,
        "authority_key_id": None,
        "ocsp_urls": [],
        "crl_urls": [],
    }


def extension_properties(der_bytes: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """The extension properties crypto_assets reads, each extension on its own; and the ones that failed."""
    out = no_extension_properties()
    failures = FieldErrors()
    tbs = ax509.TbsCertificate.load(der.certificate_parts(der_bytes)[0])
    extensions: list[Any] = failures.read("extensions", lambda: list(tbs["extensions"]), [])
    for extension in extensions:
        try:
            name = _extension_name(extension)
        except Exception as exc:  # not even the OID is readable
            failures.failed["extensions"] = reason(exc)
            continue
        try:
            _read_extension(extension["extn_id"].dotted, extension["extn_value"].parsed, out)
        except Exception as exc:  # this extension only: the others are still read
            failures.failed[name] = reason(exc)
    return out, failures.failed


def extensions_cryptography_rejects(der_bytes: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The extensions cryptography refuses, found by offering it each extension alone: those a
    description reads, then the others (name -> cryptography's reason).

    cryptography reads all extensions at once and its error does not name the culprit; a CA whose
    one odd extension fails must be told apart from one whose basicConstraints fails. A value that
    asn1crypto reads from a refused extension may be wrong (a 5-byte IP name comes back as None):
    one a description reads is a field lost, another loses nothing.
    """
    read: dict[str, str] = {}
    other: dict[str, str] = {}
    try:
        variants = der.certificate_with_each_extension(der_bytes)
    except der.DerError:
        return read, other
    for extension, variant in variants:
        try:
            x509.load_der_x509_certificate(variant).extensions  # noqa: B018 -- parsing is the test
        except Exception as exc:  # ValueError, DuplicateExtension, UnsupportedGeneralNameType, ...
            loaded = ax509.Extension.load(extension)
            found = read if loaded["extn_id"].dotted in _READ_OIDS else other
            found[_extension_name(loaded)] = reason(exc)
    return read, other


def _time(value: Any) -> datetime:
    moment: datetime = value.native
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _signature_algorithm(algorithm: Any) -> str:
    dotted = algorithm["algorithm"].dotted
    name = x509.ObjectIdentifier(dotted)._name
    return dotted if name == "Unknown OID" else name


def certificate_properties(der_bytes: bytes) -> tuple[dict[str, Any], bytes | None, dict[str, str]]:
    """Certificate properties read leniently, the SubjectPublicKeyInfo DER (None if unreadable), and failures.

    Raises ValueError (der.DerError) when not even the outer structure is a certificate.
    """
    # the parts on their own: a damaged signature value must not hide the rest
    tbs_der, algorithm_der = der.certificate_parts(der_bytes)
    tbs = ax509.TbsCertificate.load(tbs_der)
    algorithm = algos.SignedDigestAlgorithm.load(algorithm_der)
    failures = FieldErrors()
    subject = failures.read("subject", lambda: rfc4514(tbs["subject"]), "")
    issuer = failures.read("issuer", lambda: rfc4514(tbs["issuer"]), "")
    not_before = failures.read("not_before", lambda: _time(tbs["validity"]["not_before"]), None)
    not_after = failures.read("not_after", lambda: _time(tbs["validity"]["not_after"]), None)
    extensions, failed_extensions = extension_properties(der_bytes)
    for name, why in failed_extensions.items():
        failures.failed[f"extension {name}"] = why
    ski, aki = extensions["subject_key_id"], extensions["authority_key_id"]
    properties: dict[str, Any] = {
        "sha256_fingerprint": hashlib.sha256(der_bytes).hexdigest(),
        "subject": subject,
        "issuer": issuer,
        "serial": failures.read("serial", lambda: format(tbs["serial_number"].native, "x"), None),
        "not_before": iso_time(not_before) if not_before else None,
        "not_after": iso_time(not_after) if not_after else None,
        "signature_algorithm": failures.read("signature_algorithm", lambda: _signature_algorithm(algorithm), None),
        "signature_hash": failures.read("signature_hash", lambda: algorithm.hash_algo, None),
        "self_signed": bool(subject) and subject == issuer and (aki is None or ski is None or aki == ski),
        **extensions,
        "version": failures.read("version", lambda: str(tbs["version"].native), None),
        "parsed_leniently": True,
    }
    if not_before and not_after:
        properties["validity_days"] = (not_after - not_before).days
    spki = failures.read("public_key", lambda: tbs["subject_public_key_info"].dump(), None)
    return properties, spki, failures.failed


# -- keys ----------------------------------------------------------------------------------------
_KEY_NAMES = {"rsa": "RSA", "rsassa_pss": "RSA", "dsa": "DSA", "ec": "EC", "ed25519": "Ed25519", "ed448": "Ed448"}
_CURVES: dict[str, ec.EllipticCurve] = {
    "secp256r1": ec.SECP256R1(),
    "secp384r1": ec.SECP384R1(),
    "secp521r1": ec.SECP521R1(),
    "secp256k1": ec.SECP256K1(),
    "secp224r1": ec.SECP224R1(),
}
_SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def describe_spki(spki: bytes) -> dict[str, Any] | None:
    """Algorithm, size and curve of a public key cryptography refuses (an even RSA modulus, a point
    off its curve), from its structure alone; None when asn1crypto does not know the algorithm."""
    try:
        info = akeys.PublicKeyInfo.load(spki)
        name = _KEY_NAMES.get(info.algorithm)
        if name is None:
            return None
        curve = info.curve[1] if info.algorithm == "ec" and info.curve[0] == "named" else None
        return {"algorithm": name, "key_size": info.bit_size, "curve": curve, "parsed_leniently": True}
    except Exception:  # asn1crypto raises ValueError, TypeError, KeyError on what it cannot read
        return None


def private_key_spki(der_bytes: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a PKCS#8 private key cryptography refuses (e.g. a private scalar
    that no longer matches its public point): RSA keeps n and e beside the private fields, an EC key
    usually its point; otherwise EC, DSA and EdDSA public keys are derived from the private half.

    Raises ValueError when the key cannot be read even so.
    """
    info = akeys.PrivateKeyInfo.load(der_bytes)
    algorithm = info.algorithm
    inner = info["private_key"].parsed
    if algorithm == "rsa":
        public = akeys.RSAPublicKey(
            {"modulus": inner["modulus"].native, "public_exponent": inner["public_exponent"].native}
        )
        # built by asn1crypto, not cryptography: a modulus it calls invalid still has an identity
        return bytes(akeys.PublicKeyInfo.wrap(public, "rsa").dump())
    if algorithm == "ec":
        point = inner["public_key"].native
        if point:  # the point the key file carries is what its certificate binds, whatever the scalar
            algorithm_id = akeys.PublicKeyAlgorithm(
                {"algorithm": "ec", "parameters": info["private_key_algorithm"]["parameters"].copy()}
            )
            return bytes(akeys.PublicKeyInfo({"algorithm": algorithm_id, "public_key": point}).dump())
        kind, name = info.curve
        if kind != "named" or name not in _CURVES:
            raise ValueError(f"EC private key on a curve keysweep cannot derive from ({name})")
        scalar = inner["private_key"].native
        return ec.derive_private_key(scalar, _CURVES[name]).public_key().public_bytes(*_SPKI)
    if algorithm == "dsa":
        parameters = info["private_key_algorithm"]["parameters"]
        p, q, g = (parameters[n].native for n in ("p", "q", "g"))
        y = pow(g, inner.native, p)
        return dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key().public_bytes(*_SPKI)
    if algorithm == "ed25519":
        seed = akeys.OctetString.load(info["private_key"].contents).native
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*_SPKI)
    raise ValueError(f"no lenient reading for {algorithm} private keys")


def dsa_spki(y: int, p: int, q: int, g: int) -> bytes:
    """A DSA SubjectPublicKeyInfo, built without cryptography's checks (it refuses a 512-bit p)."""
    algorithm = akeys.PublicKeyAlgorithm({"algorithm": "dsa", "parameters": {"p": p, "q": q, "g": g}})
    return bytes(akeys.PublicKeyInfo({"algorithm": algorithm, "public_key": akeys.Integer(y)}).dump())

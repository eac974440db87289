"""Turn a token reading into inventory assets: the token, its keys, certificates and relations.

Asymmetric keys are identified by their SubjectPublicKeyInfo, built from the objects' public
attributes (modulus and exponent, or EC parameters and point), so that a key held in an HSM and
its certificate found on disk are one node. A private object whose public half the token does
not show is paired with a public key or certificate of the same CKA_ID.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from scanner.collectors.pkcs11.reading import UNREADABLE, ObjectReading, TokenReading
from scanner.inventory import crypto_assets
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Observation,
    Relation,
    RelationType,
    freeze,
)

COLLECTOR = "pkcs11"
USAGE_ATTRIBUTES = (
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "sign_recover",
    "verify_recover",
    "wrap",
    "unwrap",
    "derive",
)
_PROTECTION = ("sensitive", "extractable", "always_sensitive", "never_extractable", "wrap_with_trusted")
# keysweep's algorithm names (those of algorithms.toml) for PKCS#11 secret key types
_SYMMETRIC_ALGORITHMS = {"AES": "AES", "DES3": "3DES", "DES2": "3DES", "DES": "DES"}
# DES keys have a fixed length and often no CKA_VALUE_LEN; bits include the parity bits
_FIXED_LENGTH_BITS = {"DES": 64, "DES2": 128, "DES3": 192}
_ASYMMETRIC_FALLBACK = {"RSA": "RSA", "EC": "EC", "DSA": "DSA", "DH": "DH", "X9_42_DH": "DH"}
_ED_OIDS = {"1.3.101.112": "Ed25519", "1.3.101.113": "Ed448"}


def token_id(serial: str) -> str:
    return f"pkcs11:{serial}"


def _decode_der_length(data: bytes, offset: int) -> tuple[int, int] | None:
    if offset >= len(data):
        return None
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 4 or offset + 1 + count > len(data):
        return None
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def _unwrap_octet_string(data: bytes) -> bytes | None:
    """CKA_EC_POINT is a DER OCTET STRING by the standard; some modules give the raw point."""
    if len(data) < 2 or data[0] != 0x04:
        return None
    decoded = _decode_der_length(data, 1)
    if decoded is None:
        return None
    length, start = decoded
    return data[start:] if start + length == len(data) else None


def _oid_from_der(data: bytes) -> str | None:
    if len(data) < 3 or data[0] != 0x06:
        return None
    decoded = _decode_der_length(data, 1)
    if decoded is None:
        return None
    length, start = decoded
    body = data[start : start + length]
    if not body or len(body) != length:
        return None
    parts = [body[0] // 40, body[0] % 40] if body[0] < 80 else [2, body[0] - 80]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def ec_curve_name(ec_params_hex: str) -> str | None:
    """The curve named by CKA_EC_PARAMS (a namedCurve OID), in cryptography's naming."""
    oid = _oid_from_der(bytes.fromhex(ec_params_hex))
    if oid is None:
        return None
    if oid in _ED_OIDS:
        return _ED_OIDS[oid]
    try:
        return ec.get_curve_for_oid(x509.ObjectIdentifier(oid))().name
    except Exception:
        return f"unknown ({oid})"


def public_key_of(attributes: Mapping[str, Any]) -> PublicKeyTypes | None:
    """The public key from RSA modulus/exponent or EC params/point; None when not shown."""
    modulus, exponent = attributes.get("modulus"), attributes.get("public_exponent")
    if isinstance(modulus, str) and isinstance(exponent, str) and modulus and exponent:
        try:
            return rsa.RSAPublicNumbers(int(exponent, 16), int(modulus, 16)).public_key()
        except ValueError:
            return None
    params, point = attributes.get("ec_params"), attributes.get("ec_point")
    if not (isinstance(params, str) and isinstance(point, str) and params and point):
        return None
    raw = bytes.fromhex(point)
    oid = _oid_from_der(bytes.fromhex(params))
    for candidate in (_unwrap_octet_string(raw), raw):
        if candidate is None:
            continue
        try:
            if oid == "1.3.101.112":
                return ed25519.Ed25519PublicKey.from_public_bytes(candidate)
            if oid == "1.3.101.113":
                return ed448.Ed448PublicKey.from_public_bytes(candidate)
            if oid is None:
                return None
            curve = ec.get_curve_for_oid(x509.ObjectIdentifier(oid))()
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, candidate)
        except Exception:
            continue
    return None


def _object_name(obj: ObjectReading) -> str:
    label = obj.attributes.get("label") or ""
    object_id = obj.attributes.get("id") or ""
    parts = [obj.object_class]
    if label:
        parts.append(repr(label))
    if object_id:
        parts.append(f"id {object_id}")
    return " ".join(parts)


def _first(objects: Sequence[ObjectReading], name: str) -> Any:
    """An attribute's value from the first object (private before public) that has it."""
    for obj in objects:
        if name in obj.attributes:
            return obj.attributes[name]
    return None


def _date(objects: Sequence[ObjectReading], name: str) -> Any:
    """A real date wins over "unreadable"; "unreadable" over none (never guessed)."""
    values = [obj.attributes[name] for obj in objects if name in obj.attributes]
    dates = [v for v in values if v and v != UNREADABLE]
    if dates:
        return dates[0]
    return UNREADABLE if UNREADABLE in values else None


def key_properties(objects: Sequence[ObjectReading], token: TokenReading) -> dict[str, Any]:
    """HSM facts of one key, from its objects on the token (private or secret first)."""
    order = {"private-key": 0, "secret-key": 0, "public-key": 1}
    objects = sorted(objects, key=lambda o: order.get(o.object_class, 2))
    holder = [o for o in objects if o.object_class in ("private-key", "secret-key")]
    usage = sorted({name for obj in objects for name in USAGE_ATTRIBUTES if obj.attributes.get(name) is True})
    props: dict[str, Any] = {
        "in_hsm": True,
        "token": token_id(token.serial),
        "token_label": token.label,
        "label": _first(objects, "label"),
        "pkcs11_id": _first(objects, "id"),
        "pkcs11_objects": [o.object_class for o in objects],
        "usage": usage,
        "start_date": _date(objects, "start_date"),
        "end_date": _date(objects, "end_date"),
        "key_gen_mechanism": _first(objects, "key_gen_mechanism"),
        "local": _first(holder or objects, "local"),
    }
    for name in _PROTECTION:
        # protection flags belong to the private or secret object; a public object has none
        props[name] = _first(holder, name) if holder else None
    refused = sorted(
        f"{obj.object_class}:CKA_{attribute.upper()} ({reason})"
        for obj in objects
        for attribute, reason in obj.refused.items()
    )
    if refused:
        props["unreadable_attributes"] = refused
    return props


def _with(asset: Asset, extra: Mapping[str, Any], locations: Iterable[Location]) -> Asset:
    properties = {**asset.properties, **extra}
    return dataclasses.replace(asset, properties=freeze(properties), locations=tuple(locations))


def _object_key(obj: ObjectReading, index: int) -> str:
    """CKA_ID (hex), else the label; an object with neither by its place in the token's listing."""
    return str(obj.attributes.get("id") or obj.attributes.get("label") or f"unnamed-{index}")


def _symmetric_key(obj: ObjectReading, index: int, token: TokenReading, location: Location) -> Asset:
    key_type = str(obj.attributes.get("key_type") or "unknown")
    value_len = obj.attributes.get("value_len")
    bits = int(value_len) * 8 if isinstance(value_len, int) else _FIXED_LENGTH_BITS.get(key_type)
    ident = _object_key(obj, index)
    properties: dict[str, Any] = {
        "algorithm": _SYMMETRIC_ALGORITHMS.get(key_type, key_type.replace("_", "-")),
        "key_size": bits,
        "curve": None,
        "spki_sha256": None,
        "has_private_key": False,
        "symmetric": True,
        "encrypted_at_rest": True,  # inside the HSM
        "pkcs11_key_type": key_type,
        **key_properties([obj], token),
    }
    return Asset(
        id=f"key:pkcs11:{token.serial}:{ident}",
        type=AssetType.KEY,
        properties=freeze(properties),
        locations=(location,),
    )


def _asymmetric_fallback(objects: Sequence[ObjectReading], token: TokenReading, ident: str) -> Asset:
    """A key whose public half the token does not show: known by token and object id only."""
    first = objects[0]
    key_type = str(first.attributes.get("key_type") or "unknown")
    curve = None
    params = _first(objects, "ec_params")
    if isinstance(params, str):
        curve = ec_curve_name(params)
    algorithm = _ASYMMETRIC_FALLBACK.get(key_type, key_type)
    if curve in ("Ed25519", "Ed448"):
        algorithm, curve = curve, None
    size = _first(objects, "modulus_bits")
    if size is None and isinstance(_first(objects, "modulus"), str):
        size = len(_first(objects, "modulus")) * 4
    if size is None and curve:
        try:
            size = ec.get_curve_for_oid(x509.ObjectIdentifier(_oid_from_der(bytes.fromhex(params)) or "")).key_size
        except Exception:
            size = None
    has_private = any(o.object_class == "private-key" for o in objects)
    properties = {
        "algorithm": algorithm,
        "key_size": size,
        "curve": curve,
        "spki_sha256": None,
        "has_private_key": has_private,
        "encrypted_at_rest": True if has_private else None,
        "public_key_unreadable": True,
        **key_properties(objects, token),
    }
    return Asset(id=f"key:pkcs11:{token.serial}:{ident}", type=AssetType.KEY, properties=freeze(properties))


def _location(token: TokenReading, objects: Iterable[ObjectReading]) -> list[Location]:
    ref = token_id(token.serial)
    return [Location("pkcs11", ref, f"token {token.label!r}, {_object_name(obj)}") for obj in objects]


def token_asset(token: TokenReading, module: str) -> Asset:
    counts: dict[str, int] = {}
    for obj in token.objects:
        counts[obj.object_class] = counts.get(obj.object_class, 0) + 1
    properties: dict[str, Any] = {
        "label": token.label,
        "serial": token.serial,
        "manufacturer": token.manufacturer,
        "model": token.model,
        "firmware": token.firmware_version,
        "hardware": token.hardware_version,
        "flags": list(token.flags),
        "slot": token.slot_id,
        "slot_description": token.slot_description,
        "module": module,
        "logged_in": token.logged_in,
        "object_counts": counts,
        "refused_objects": token.refused_objects,
        "mechanisms": [m.name for m in token.mechanisms],
        "mechanism_functions": {m.name: list(m.functions) for m in token.mechanisms if m.functions},
        # data objects: metadata only, their value is never read
        "data_objects": [
            {
                "label": o.attributes.get("label"),
                "application": o.attributes.get("application"),
                "private": o.attributes.get("private"),
            }
            for o in token.objects
            if o.object_class == "data"
        ],
    }
    if token.problems:
        properties["problems"] = list(token.problems)
    ref = token_id(token.serial)
    return Asset(
        id=ref,
        type=AssetType.HSM_TOKEN,
        properties=freeze(properties),
        locations=(Location("pkcs11", ref, f"module {module}, slot {token.slot_id}"),),
    )


def token_observations(token: TokenReading, module: str) -> list[Observation]:
    """The token, every key and certificate on it, and their stored-in relations."""
    token_ref = token_id(token.serial)
    out: list[Observation] = [token_asset(token, module)]

    # public keys known on the token, by CKA_ID, for private objects that do not show theirs
    spki_by_id: dict[str, PublicKeyTypes] = {}
    certificates: list[tuple[ObjectReading, x509.Certificate]] = []
    for obj in token.objects:
        object_id = obj.attributes.get("id") or ""
        if obj.object_class == "public-key":
            public = public_key_of(obj.attributes)
            if public is not None and object_id:
                spki_by_id.setdefault(object_id, public)
        elif obj.object_class == "certificate":
            value = obj.attributes.get("value")
            if not isinstance(value, str):
                continue
            try:
                cert = x509.load_der_x509_certificate(bytes.fromhex(value))
            except ValueError:
                out.append(
                    CollectionError(token_ref, COLLECTOR, f"{_object_name(obj)}: not a readable X.509 certificate")
                )
                continue
            certificates.append((obj, cert))
            if object_id:
                with contextlib.suppress(Exception):  # a key type cryptography cannot load
                    spki_by_id.setdefault(object_id, cert.public_key())

    # group the key objects: one asset per key pair
    pairs: dict[str, tuple[PublicKeyTypes | None, list[ObjectReading]]] = {}
    for index, obj in enumerate(token.objects):
        if obj.object_class == "secret-key":
            key = _symmetric_key(obj, index, token, _location(token, [obj])[0])
            out += [key, Relation(key.id, token_ref, RelationType.STORED_IN)]
            continue
        if obj.object_class not in ("private-key", "public-key"):
            continue
        public = public_key_of(obj.attributes) or spki_by_id.get(obj.attributes.get("id") or "")
        if public is not None:
            spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            group = crypto_assets.key_id_for_spki(spki)
        else:
            group = "object:" + _object_key(obj, index)
        pairs.setdefault(group, (public, []))[1].append(obj)

    for group, (public, objects) in pairs.items():
        has_private = any(o.object_class == "private-key" for o in objects)
        extra = key_properties(objects, token)
        if public is not None:
            base = crypto_assets.public_key_asset(
                public, None, has_private_key=has_private, encrypted_at_rest=True if has_private else None
            )
            asset = _with(base, extra, _location(token, objects))
        else:
            asset = dataclasses.replace(
                _asymmetric_fallback(objects, token, group.removeprefix("object:")),
                locations=tuple(_location(token, objects)),
            )
        out.append(asset)
        out.append(Relation(asset.id, token_ref, RelationType.STORED_IN))

    for obj, cert in certificates:
        observations, failed = crypto_assets.certificate_observations(
            cert, _location(token, [obj])[0], der_bytes=bytes.fromhex(obj.attributes["value"])
        )
        for item in observations:
            out.append(item)
            if isinstance(item, Asset) and item.type is AssetType.CERTIFICATE:
                out.append(Relation(item.id, token_ref, RelationType.STORED_IN))
        if failed:
            fields = ", ".join(sorted(failed))
            out.append(CollectionError(token_ref, COLLECTOR, f"{_object_name(obj)}: fields unreadable: {fields}"))
    return out

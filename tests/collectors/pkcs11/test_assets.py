"""Building public keys from PKCS#11 attributes, and keys the token only partly shows."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from scanner.collectors.pkcs11.assets import ec_curve_name, public_key_of, token_observations
from scanner.collectors.pkcs11.reading import ObjectReading, TokenReading
from scanner.inventory.crypto_assets import public_key_asset
from scanner.inventory.model import Asset, AssetType, Relation

P256_PARAMS = "06082a8648ce3d030107"
ED25519_PARAMS = "06032b6570"


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def test_ec_point_wrapped_in_octet_string_or_raw() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = _point(public)
    wrapped = bytes([0x04, len(raw)]) + raw
    for point in (wrapped, raw):
        built = public_key_of({"ec_params": P256_PARAMS, "ec_point": point.hex()})
        assert built == public


def test_ed25519_point() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    built = public_key_of({"ec_params": ED25519_PARAMS, "ec_point": (bytes([0x04, 32]) + raw).hex()})
    assert built == public
    assert ec_curve_name(ED25519_PARAMS) == "Ed25519"


def test_curve_names() -> None:
    assert ec_curve_name(P256_PARAMS) == "secp256r1"
    assert ec_curve_name("06052b81040022") == "secp384r1"
    assert ec_curve_name("0603550403") == "unknown (2.5.4.3)"


def _token(*objects: ObjectReading) -> TokenReading:
    return TokenReading(
        slot_id=1,
        slot_description="s",
        label="t",
        serial="abc",
        manufacturer="m",
        model="x",
        hardware_version="1.0",
        firmware_version="1.0",
        flags=(),
        logged_in=True,
        objects=objects,
    )


def test_private_ec_key_paired_with_public_object_by_id() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = bytes([0x04, 65]) + _point(public)
    private = ObjectReading(
        "private-key",
        {"key_type": "EC", "id": "07", "label": "k", "ec_params": P256_PARAMS, "sign": True, "sensitive": True},
    )
    pub = ObjectReading("public-key", {"key_type": "EC", "id": "07", "ec_params": P256_PARAMS, "ec_point": point.hex()})
    observations = token_observations(_token(private, pub), "/m.so")
    keys = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert [k.id for k in keys] == [public_key_asset(public, None, has_private_key=True).id]
    assert keys[0].properties["has_private_key"] is True and keys[0].properties["sensitive"] is True
    assert len(keys[0].locations) == 2
    assert sum(isinstance(o, Relation) for o in observations) == 1


def test_private_key_without_public_half_is_not_guessed() -> None:
    private = ObjectReading(
        "private-key",
        {"key_type": "EC", "id": "08", "ec_params": P256_PARAMS, "sign": True},
        refused={"ec_point": "sensitive"},
    )
    keys = [o for o in token_observations(_token(private), "/m.so") if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert [k.id for k in keys] == ["key:pkcs11:abc:08"]
    props = keys[0].properties
    assert (props["algorithm"], props["curve"], props["key_size"], props["spki_sha256"]) == (
        "EC",
        "secp256r1",
        256,
        None,
    )
    assert props["public_key_unreadable"] is True
    assert props["unreadable_attributes"] == ["private-key:CKA_EC_POINT (sensitive)"]


def test_des3_key_without_value_len() -> None:
    secret = ObjectReading("secret-key", {"key_type": "DES3", "id": "09", "encrypt": True})
    keys = [o for o in token_observations(_token(secret), "/m.so") if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert (keys[0].properties["algorithm"], keys[0].properties["key_size"]) == ("3DES", 192)

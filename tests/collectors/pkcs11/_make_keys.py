"""Creates keys on a SoftHSM token (child process of tests/collectors/pkcs11/softhsm.py).

Request on stdin (JSON): module, label, pin, keys. Each key:
  {"type": "rsa"|"ec"|"aes"|"des3"|"generic", "bits": int, "curve": "secp256r1", "label": str,
   "id": hex, "attrs": {...}, "private": {...}, "public": {...}}
or {"type": "certificate", "label", "id", "der": hex} or {"type": "data", "label", "application"}.
Attribute names are python-pkcs11's (SIGN, DECRYPT, START_DATE "YYYY-MM-DD", ...). Usage flags
not named are False, so that each test key has exactly the functions it says.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.rsa import encode_rsa_public_key

_USAGE = ("ENCRYPT", "DECRYPT", "SIGN", "VERIFY", "WRAP", "UNWRAP", "DERIVE")
_PUBLIC_USAGE = ("ENCRYPT", "VERIFY", "WRAP")
_PRIVATE_USAGE = ("DECRYPT", "SIGN", "UNWRAP", "DERIVE")


def _template(names: tuple[str, ...], given: dict[str, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {getattr(Attribute, n): False for n in names}
    for name, value in given.items():
        if name.endswith("_DATE"):
            value = dt.date.fromisoformat(value)
        out[getattr(Attribute, name)] = value
    return out


def _spki(der: bytes) -> str:
    """SubjectPublicKeyInfo (python-pkcs11 gives RSA keys as PKCS#1 RSAPublicKey)."""
    key = serialization.load_der_public_key(der)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).hex()


def main() -> None:
    request = json.loads(sys.stdin.read())
    lib = pkcs11.lib(request["module"])
    token = lib.get_token(token_label=request["label"])
    made: list[dict[str, Any]] = []
    with token.open(rw=True, user_pin=request["pin"]) as session:
        for spec in request["keys"]:
            kind = spec["type"]
            common = {"label": spec["label"], "id": bytes.fromhex(spec.get("id", "")) or None, "store": True}
            if kind == "rsa":
                public, _ = session.generate_keypair(
                    KeyType.RSA,
                    spec["bits"],
                    public_template=_template(_PUBLIC_USAGE, spec.get("public", {})),
                    private_template=_template(_PRIVATE_USAGE, spec.get("private", {})),
                    **common,
                )
                made.append({"label": spec["label"], "spki": _spki(encode_rsa_public_key(public))})
            elif kind == "ec":
                params = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(spec["curve"])}, local=True
                )
                public, _ = params.generate_keypair(
                    public_template=_template(_PUBLIC_USAGE, spec.get("public", {})),
                    private_template=_template(_PRIVATE_USAGE, spec.get("private", {})),
                    **common,
                )
                made.append({"label": spec["label"], "spki": _spki(encode_ec_public_key(public))})
            elif kind in ("aes", "des3", "generic"):
                key_type = {"aes": KeyType.AES, "des3": KeyType.DES3, "generic": KeyType.GENERIC_SECRET}[kind]
                session.generate_key(
                    key_type,
                    spec.get("bits") if kind != "des3" else None,
                    template=_template(_USAGE, spec.get("attrs", {})),
                    **common,
                )
                made.append({"label": spec["label"]})
            elif kind == "certificate":
                session.create_object(
                    {
                        Attribute.CLASS: ObjectClass.CERTIFICATE,
                        Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                        Attribute.TOKEN: True,
                        Attribute.LABEL: spec["label"],
                        Attribute.ID: bytes.fromhex(spec.get("id", "")),
                        Attribute.VALUE: bytes.fromhex(spec["der"]),
                        # SoftHSM requires the subject of an X.509 certificate object
                        Attribute.SUBJECT: x509.load_der_x509_certificate(
                            bytes.fromhex(spec["der"])
                        ).subject.public_bytes(),
                    }
                )
                made.append({"label": spec["label"]})
            elif kind == "data":
                session.create_object(
                    {
                        Attribute.CLASS: ObjectClass.DATA,
                        Attribute.TOKEN: True,
                        Attribute.PRIVATE: True,
                        Attribute.LABEL: spec["label"],
                        Attribute.APPLICATION: spec.get("application", "keysweep-test"),
                        Attribute.VALUE: b"data object value, never read by the scan",
                    }
                )
                made.append({"label": spec["label"]})
            else:
                raise SystemExit(f"unknown key type {kind}")
    json.dump(made, sys.stdout)


if __name__ == "__main__":
    main()

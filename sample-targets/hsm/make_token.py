"""Fills the demo token with good and bad keys (run by start.sh; PIN in $KEYSWEEP_DEMO_PIN).

usage: make_token.py MODULE TOKEN_LABEL CERT_DIR
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

_FLAGS = ("ENCRYPT", "DECRYPT", "SIGN", "VERIFY", "WRAP", "UNWRAP", "DERIVE")
_PUBLIC = ("ENCRYPT", "VERIFY", "WRAP", "VERIFY_RECOVER")
_PRIVATE = ("DECRYPT", "SIGN", "UNWRAP", "DERIVE", "SIGN_RECOVER")


def template(allowed: tuple[str, ...], *granted: str, **extra: Any) -> dict[Any, Any]:
    """Every usage flag off except those granted: each demo key has exactly the functions it says."""
    out: dict[Any, Any] = {getattr(Attribute, name): name in granted for name in allowed}
    out.update({getattr(Attribute, name): value for name, value in extra.items()})
    return out


def rsa(session: Any, label: str, key_id: int, bits: int, private: tuple[str, ...], public: tuple[str, ...]) -> None:
    session.generate_keypair(
        KeyType.RSA,
        bits,
        id=bytes([key_id]),
        label=label,
        store=True,
        public_template=template(_PUBLIC, *public),
        private_template=template(_PRIVATE, *private),
    )


def ec_pair(session: Any, label: str, key_id: int, curve: str, public_extra: dict[str, Any] | None = None) -> Any:
    params = session.create_domain_parameters(
        KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True
    )
    public, _ = params.generate_keypair(
        id=bytes([key_id]),
        label=label,
        store=True,
        public_template=template(_PUBLIC, "VERIFY", **(public_extra or {})),
        private_template=template(_PRIVATE, "SIGN"),
    )
    return public


def secret(session: Any, key_type: Any, bits: int | None, label: str, key_id: int, *granted: str, **extra: Any) -> None:
    session.generate_key(
        key_type, bits, id=bytes([key_id]), label=label, store=True, template=template(_FLAGS, *granted, **extra)
    )


def certificate_for(public_der: bytes, cert_dir: Path) -> None:
    """The good signing key's certificate, issued by a CA outside the token and kept on disk."""
    ca_key = ec.generate_private_key(ec.SECP384R1())
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    cert = (
        x509.CertificateBuilder()
        .subject_name(name("signing.demo.keysweep.test"))
        .issuer_name(name("keysweep demo CA"))
        .public_key(serialization.load_der_public_key(public_der))  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=180))
        .sign(ca_key, hashes.SHA384())
    )
    (cert_dir / "hsm-signing.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def main() -> None:
    module, label, cert_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    token = pkcs11.lib(module).get_token(token_label=label)
    with token.open(rw=True, user_pin=os.environ["KEYSWEEP_DEMO_PIN"]) as session:
        # good: single-purpose, sensitive, never extractable, strong
        signing = ec_pair(session, "good-p384-signing", 0x10, "secp384r1")
        rsa(session, "good-rsa3072-decrypt", 0x11, 3072, ("DECRYPT",), ("ENCRYPT",))
        secret(session, KeyType.AES, 256, "good-aes256-kek", 0x12, "WRAP", "UNWRAP")
        # bad: too small, exportable, multi-purpose, past its end date and cryptoperiod, legacy 3DES
        rsa(session, "bad-rsa1024-signing", 0x20, 1024, ("SIGN",), ("VERIFY",))
        secret(
            session,
            KeyType.AES,
            128,
            "bad-aes128-exportable",
            0x21,
            "ENCRYPT",
            "DECRYPT",
            SENSITIVE=False,
            EXTRACTABLE=True,
        )
        rsa(session, "bad-rsa2048-sign-and-decrypt", 0x22, 2048, ("SIGN", "DECRYPT"), ("VERIFY", "ENCRYPT"))
        # SoftHSM 2.6 only shows dates of public objects; the pair's dates are read from there
        ec_pair(
            session,
            "bad-p256-expired",
            0x23,
            "secp256r1",
            {"START_DATE": dt.date(2019, 1, 1), "END_DATE": dt.date(2021, 1, 1)},
        )
        secret(session, KeyType.DES3, None, "bad-3des-wrap-and-encrypt", 0x24, "WRAP", "ENCRYPT", "DECRYPT")
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.DATA,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: True,
                Attribute.LABEL: "app-settings",
                Attribute.APPLICATION: "keysweep-demo",
                Attribute.VALUE: b"demo data object; keysweep records its label, never its value",
            }
        )
        certificate_for(encode_ec_public_key(signing), cert_dir)


if __name__ == "__main__":
    main()

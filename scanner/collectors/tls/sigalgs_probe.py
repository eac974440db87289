"""Which signature schemes a server accepts for its handshake signature, by keysweep's own ClientHellos.

One ClientHello per scheme, offering that scheme alone in signature_algorithms: a server that can
sign with it answers with a ServerHello, one that cannot refuses (handshake_failure). TLS 1.2 offers
only (EC)DHE suites, since RSA key transport signs nothing; the scheme the server used is read back
from its ServerKeyExchange. TLS 1.0 and 1.1 have no signature_algorithms, so they are not asked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from scanner.collectors.tls import groups_probe, hello

SCHEME_NAMES = {
    0x0201: "rsa_pkcs1_sha1",
    0x0203: "ecdsa_sha1",
    0x0401: "rsa_pkcs1_sha256",
    0x0501: "rsa_pkcs1_sha384",
    0x0601: "rsa_pkcs1_sha512",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519",
    0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512",
    0x0904: "mldsa44",
    0x0905: "mldsa65",
    0x0906: "mldsa87",
}
_DHE_SUITES = tuple(s for s in hello.LEGACY_SUITES if s in (0x009E, 0x009F, 0x0067, 0x006B, 0x0033, 0x0039))
_SIGNED_SUITES = groups_probe.ECDHE_SUITES[:-1] + _DHE_SUITES + (0x00FF,)
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
_POINT = serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint


@dataclass(frozen=True, slots=True)
class SignatureResult:
    version: str
    schemes: tuple[str, ...]  # IANA names of the schemes the server accepted
    error: str | None = None  # a probe failed after its retries: the list may be incomplete


def key_share(code: int) -> bytes | None:
    """A fresh public key share for the classical group, or None where keysweep makes none."""
    if code == 0x001D:
        return x25519.X25519PrivateKey.generate().public_key().public_bytes(*_RAW)
    if code == 0x001E:
        return x448.X448PrivateKey.generate().public_key().public_bytes(*_RAW)
    curves = {0x0017: ec.SECP256R1(), 0x0018: ec.SECP384R1(), 0x0019: ec.SECP521R1()}
    if code in curves:
        return ec.generate_private_key(curves[code]).public_key().public_bytes(*_POINT)
    return None


def _scheme_of(server_key_exchange: bytes) -> int | None:
    """The SignatureAndHashAlgorithm after an ECDHE ServerKeyExchange's parameters (RFC 8422 5.4)."""
    if len(server_key_exchange) < 4 or server_key_exchange[0] != 3:
        return None
    offset = 4 + server_key_exchange[3]
    if len(server_key_exchange) < offset + 2:
        return None
    return int(struct.unpack("!H", server_key_exchange[offset : offset + 2])[0])


def probe(
    address: tuple[str, int],
    server_name: str | None,
    version: int,
    timeout: float,
    deadline: float,
    group: int = 0x001D,
) -> SignatureResult:
    """The schemes accepted at ``version`` (0x0303 or 0x0304); ``group`` is a group the server accepts."""
    label = hello.VERSION_NAMES[version]
    accepted: list[str] = []
    for code, name in SCHEME_NAMES.items():
        if version == 0x0304:
            share = key_share(group)
            message = hello.client_hello(
                server_name,
                versions=[0x0304],
                cipher_suites=hello.TLS13_SUITES,
                groups=[group],
                key_shares=[(group, share)] if share else [],
                signature_schemes=[code],
            )
        else:
            message = hello.client_hello(
                server_name,
                versions=[version],
                cipher_suites=_SIGNED_SUITES,
                groups=groups_probe.LEGACY_CURVES,
                signature_schemes=[code],
            )
        try:
            reply, messages = hello.ask(address, message, timeout, deadline, flight=version != 0x0304)
        except hello.ProbeError as exc:
            return SignatureResult(label, tuple(accepted), f"signature algorithms probe ({label}) failed: {exc}")
        if reply.kind == "alert":
            continue
        if reply.kind == "hello_retry_request":
            return SignatureResult(label, tuple(accepted), f"signature algorithms probe ({label}): no usable group")
        used = _scheme_of(messages.get(12, b""))
        if version == 0x0304 or used in (None, code):
            accepted.append(name)
    return SignatureResult(label, tuple(accepted))

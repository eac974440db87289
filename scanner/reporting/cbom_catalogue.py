"""The algorithms a CBOM names, with the facts CycloneDX asks for (cbom_algorithms.toml).

Keys, certificate signatures, TLS groups and the parts of TLS cipher suites (key exchange,
authentication, bulk cipher, hash) each become one algorithm description, found by name; the
numbers come from keysweep's knowledge base where it has them (key strength, PQC categories).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from scanner.compat import tomllib
from scanner.inventory import knowledge

# NIST PQC categories of the symmetric reference points (1 = AES-128, 3 = AES-192, 5 = AES-256)
_AES_CATEGORY = {128: 1, 192: 3, 256: 5}
_ML_KEM_CATEGORY = {"512": 1, "768": 3, "1024": 5}
_PQ_PRIMITIVES = {"ML-KEM": "kem", "ML-DSA": "signature", "SLH-DSA": "signature"}


@dataclass(frozen=True, slots=True)
class AlgorithmSpec:
    ref: str
    name: str
    primitive: str  # a CycloneDX primitive
    parameter_set: str | None = None
    curve: str | None = None
    classical: int | None = None
    quantum: int | None = None
    oid: str | None = None
    fips_approved: bool | None = None
    family: str | None = None  # CycloneDX 1.7 registry family
    elliptic_curve: str | None = None  # CycloneDX 1.7 registry curve
    mode: str | None = None
    padding: str | None = None
    functions: tuple[str, ...] = ()
    tls_group_code: int | None = None


@cache
def _data() -> dict[str, Any]:
    text = resources.files("scanner.reporting").joinpath("cbom_algorithms.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _suite_codes() -> dict[str, str]:
    text = resources.files("scanner.reporting").joinpath("tls_cipher_suites.toml").read_text("utf-8")
    codes: dict[str, str] = tomllib.loads(text)["suites"]
    return codes


def _spec(name: str, entry: Mapping[str, Any], **overrides: Any) -> AlgorithmSpec:
    values: dict[str, Any] = {
        "primitive": entry.get("primitive", "unknown"),
        "parameter_set": entry.get("parameter_set"),
        "curve": entry.get("curve_name"),
        "classical": entry.get("classical"),
        "quantum": entry.get("quantum"),
        "oid": entry.get("oid"),
        "family": entry.get("family"),
        "elliptic_curve": entry.get("curve"),
        "mode": entry.get("mode"),
        "padding": entry.get("padding"),
        "functions": tuple(entry.get("functions", ())),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return AlgorithmSpec(ref=f"algorithm:{name}", name=name, **values)


def key_algorithm(props: Mapping[str, Any]) -> AlgorithmSpec | None:
    """The algorithm of a key asset: its family with the key's size or curve (RSA-2048, EC-secp256r1)."""
    name = props.get("algorithm")
    if not name or str(name).startswith("unknown"):
        return None
    name = str(name)
    size, curve = props.get("key_size"), props.get("curve")
    pq = knowledge.post_quantum_by_name(name)
    if pq is not None:
        return AlgorithmSpec(
            ref=f"algorithm:{name}",
            name=name,
            primitive="kem" if name.startswith("ML-KEM") else _PQ_PRIMITIVES.get(pq.family, "signature"),
            parameter_set=name.rsplit("-", 1)[-1] if name.startswith(("ML-", "SLH-")) else None,
            classical=props.get("security_bits") or pq.bits,
            quantum=pq.category,
            oid=pq.oid,
            fips_approved=props.get("fips_approved"),
            family=pq.family,
            functions=("encapsulate", "decapsulate") if name.startswith("ML-KEM") else ("sign", "verify"),
        )
    entry = _data()["keys"].get(name, {})
    canonical = knowledge.canonical_curve(str(curve)) if curve else None
    label = f"{name}-{canonical or curve}" if curve else (f"{name}-{size}" if size else name)
    quantum: int | None = None
    if props.get("quantum_vulnerable"):
        quantum = 0
    elif name == "AES" and size:
        quantum = _AES_CATEGORY.get(int(size))
    elif name in ("3DES", "DES"):
        quantum = 0  # below the AES-128 reference point of category 1
    oid = entry.get("oid")
    if name == "AES" and size:
        oid = None  # an AES key has no mode, and AES OIDs name a mode
    return _spec(
        label,
        entry,
        parameter_set=None if curve else (str(size) if size else None),
        curve_name=None,
        curve=canonical or curve,
        classical=props.get("security_bits"),
        quantum=quantum,
        oid=oid,
        fips_approved=props.get("fips_approved"),
        elliptic_curve=_data()["curves"].get(canonical or "") or entry.get("curve"),
    )


# cached: a name always gives the same (frozen) spec, and a CBOM asks for each twice per certificate
@cache
def signature_algorithm(name: str) -> AlgorithmSpec:
    """A certificate's signature algorithm (sha256WithRSAEncryption, ecdsa-with-SHA384, ML-DSA-65, ...)."""
    pq = knowledge.post_quantum_by_name(name)
    if pq is not None:
        return AlgorithmSpec(
            f"algorithm:{name}",
            name,
            "signature",
            name.rsplit("-", 1)[-1],
            classical=pq.bits,
            quantum=pq.category,
            oid=pq.oid,
            family=pq.family,
            functions=("sign", "verify"),
        )
    entry = _data()["signatures"].get(name, {})
    digest = entry.get("hash")
    bits = knowledge.hash_strength(digest) if digest else entry.get("classical")
    parameter_set = entry.get("parameter_set") or (re.sub(r"\D", "", digest) or None if digest else None)
    if digest == "sha1":
        parameter_set = "160"
    elif digest == "md5":
        parameter_set = "128"
    # every classical certificate signature (RSA, ECDSA, DSA, EdDSA) falls to a quantum computer
    return _spec(
        name,
        {**entry, "primitive": "signature", "functions": ["sign", "verify"]},
        parameter_set=parameter_set,
        classical=bits,
        quantum=0,
        fips_approved=knowledge.signature_fips_approved(name),
    )


@cache
def group_algorithm(group: str) -> AlgorithmSpec:
    """A TLS key-exchange group: an ECDH curve, a finite-field group, or a (hybrid) ML-KEM group."""
    known = knowledge.tls_group(group)
    code = known.code if known else None
    upper = group.upper()
    if "MLKEM" in upper or "KYBER" in upper:
        digits = re.findall(r"(?:MLKEM|KYBER)(\d+)", upper)
        size = digits[0] if digits else None
        return AlgorithmSpec(f"algorithm:{group}", group, "kem", size, quantum=_ML_KEM_CATEGORY.get(size or ""),
                             classical=known.bits if known else None, family="ML-KEM",
                             functions=("keygen", "encapsulate", "decapsulate"), tls_group_code=code,
                             fips_approved=known.fips_approved if known else None)  # fmt: skip
    data = _data()
    canonical = knowledge.canonical_curve(group)
    if group.lower().startswith("ffdhe"):
        return AlgorithmSpec(
            f"algorithm:{group}",
            group,
            "key-agree",
            group[5:],
            classical=known.bits if known else None,
            quantum=0,
            family="FFDH",
            functions=("keygen", "keyderive"),
            tls_group_code=code,
        )
    bits = known.bits if known else (knowledge.curve_strength(group) if canonical else None)
    key = group.lower() if group.lower() in ("x25519", "x448") else (canonical or group)
    return AlgorithmSpec(
        f"algorithm:{group}",
        group,
        "key-agree",
        curve=canonical or group,
        classical=bits,
        quantum=0,
        oid=data["curve_oids"].get(key),
        family="ECDH",
        elliptic_curve=data["curves"].get(key),
        functions=("keygen", "keyderive"),
        tls_group_code=code,
        fips_approved=known.fips_approved if known else None,
    )


def suite_identifier(name: str) -> str | None:
    """The IANA code point of a cipher suite, as "0xC0,0x2F"."""
    return _suite_codes().get(name)


@cache
def suite_algorithms(name: str) -> tuple[AlgorithmSpec, ...]:
    """Key exchange, authentication, bulk cipher and hash of a TLS cipher suite, from its IANA name."""
    data = _data()
    parts: list[str] = []
    body = name.removeprefix("TLS_").removeprefix("SSL_")
    if "_WITH_" in body:
        prefix, body = body.split("_WITH_", 1)
        words = prefix.split("_")
        exchange = data["suite_key_exchange"].get(words[0])
        if exchange:
            parts.append(exchange)
        if len(words) > 1 and words[1] in data["suite_authentication"]:
            parts.append(data["suite_authentication"][words[1]])
        elif words[0] == "RSA":
            parts.append("RSA")  # RSA key transport: the certificate's RSA key also authenticates
    specs = data["parts"]
    for part, entry in specs.items():
        words = entry.get("words")
        if words and words in ("SHA", "SHA256", "SHA384", "MD5"):
            continue
        if words and (body.startswith(f"{words}_") or body == words):
            parts.append(part)
            break
    last = body.rsplit("_", 1)[-1]
    parts += [p for p, e in specs.items() if e.get("words") == last and e.get("primitive") == "hash"]
    return tuple(_spec(p, specs[p]) for p in dict.fromkeys(parts) if p in specs)

"""Read-only access to the algorithm knowledge base (algorithms.toml)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from scanner.compat import tomllib


@dataclass(frozen=True, slots=True)
class KeyFacts:
    security_bits: int | None
    quantum_vulnerable: bool | None
    fips_approved: bool | None
    fips_note: str = ""


@dataclass(frozen=True, slots=True)
class PostQuantumAlgorithm:
    oid: str
    name: str
    family: str
    category: int
    bits: int


@cache
def _kb() -> dict[str, Any]:
    text = resources.files("scanner.inventory").joinpath("algorithms.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _curve_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, entry in _kb()["curves"].items():
        index[name.lower()] = name
        for alias in entry.get("aliases", []):
            index[alias.lower()] = name
    return index


def canonical_curve(name: str) -> str | None:
    """'P-256', 'prime256v1' and 'secp256r1' are one curve; None when the curve is unknown."""
    return _curve_index().get(name.strip().lower())


def modulus_strength(bits: int) -> int:
    """SP 800-57 Table 2 for RSA/DSA/DH; below 1024 bits the FIPS 140-3 IG D.F estimate."""
    for row in _kb()["modulus_strength"]:
        if bits >= int(row["min_bits"]):
            return int(row["bits"])
    if bits <= 1:
        return 0
    ln_n = bits * math.log(2)
    estimate: float = (1.923 * (ln_n * math.log(ln_n) ** 2) ** (1 / 3) - 4.69) / math.log(2)
    return max(0, math.floor(estimate))


def curve_strength(curve: str) -> int | None:
    canonical = canonical_curve(curve)
    if canonical is None:
        return None
    return int(_kb()["curves"][canonical]["bits"])


def hash_strength(name: str) -> int | None:
    """Collision-resistance strength of a hash used in a signature (SP 800-57 Table 3)."""
    normalized = name.lower().replace("_", "-")
    if normalized.startswith("sha-"):
        normalized = "sha" + normalized[4:]
    value = _kb()["hashes"].get(normalized)
    return None if value is None else int(value)


def symmetric_strength(algorithm: str, key_bits: int) -> int | None:
    value = _kb()["symmetric"].get(f"{algorithm}-{key_bits}")
    return None if value is None else int(value)


@cache
def _pq_by_oid() -> dict[str, PostQuantumAlgorithm]:
    return {
        oid: PostQuantumAlgorithm(oid, e["name"], e["family"], int(e["category"]), int(e["bits"]))
        for oid, e in _kb()["pq"].items()
    }


def post_quantum_by_oid(oid: str) -> PostQuantumAlgorithm | None:
    return _pq_by_oid().get(oid)


@cache
def _pq_by_name() -> dict[str, PostQuantumAlgorithm]:
    return {alg.name: alg for alg in _pq_by_oid().values()}


def post_quantum_by_name(name: str) -> PostQuantumAlgorithm | None:
    return _pq_by_name().get(name)


def key_facts(algorithm: str, key_size: int | None = None, curve: str | None = None) -> KeyFacts:
    """Security strength, quantum vulnerability and FIPS 140-3 approval of one key.

    ``algorithm`` uses keysweep's names: RSA, EC, DSA, DH, Ed25519, Ed448, X25519, X448, AES,
    3DES, DES, and the post-quantum parameter-set names (ML-DSA-65, ...).
    """
    kb = _kb()
    fixed = kb["fixed"].get(algorithm)
    if fixed is not None:
        return KeyFacts(fixed["bits"], fixed["quantum_vulnerable"], fixed["fips_approved"])

    pq = post_quantum_by_name(algorithm)
    if pq is not None:
        family = kb["families"][pq.family]
        return KeyFacts(pq.bits, family["quantum_vulnerable"], family["fips_approved"])

    family = kb["families"].get(algorithm)
    if family is None:
        return KeyFacts(None, None, None)
    bits: int | None = None
    approved: bool | None = family.get("fips_approved")
    note = family.get("fips_note", "")

    if algorithm in ("RSA", "DSA", "DH") and key_size:
        bits = modulus_strength(key_size)
    elif algorithm == "EC" and curve:
        bits = curve_strength(curve)
        canonical = canonical_curve(curve)
        approved = kb["curves"][canonical].get("fips_approved") if canonical else None
    elif algorithm in ("AES", "3DES", "DES") and key_size:
        bits = symmetric_strength(algorithm, key_size)

    minimum = family.get("fips_min_bits")
    if approved and minimum and key_size is not None and key_size < minimum:
        approved = False
        note = f"{algorithm} keys below {minimum} bits are not approved for generation (SP 800-131A)"
    return KeyFacts(bits, family["quantum_vulnerable"], approved, note)


# ---- TLS ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TlsGroup:
    """A TLS key-exchange group: code point, strength, FIPS 140-3 approval, the ML-KEM set it carries."""

    name: str  # the IANA name
    code: int
    kind: str  # ecdhe, ffdhe, hybrid, mlkem
    bits: int
    share_length: int | None
    fips_approved: bool | None = None
    ml_kem: str | None = None

    @property
    def post_quantum(self) -> bool:
        """Hybrid and pure ML-KEM groups resist a quantum computer; the classical ones do not."""
        return self.kind in ("hybrid", "mlkem")

    @property
    def quantum_vulnerable(self) -> bool:
        return not self.post_quantum

    @property
    def hybrid(self) -> bool:
        return self.kind == "hybrid"


@cache
def _tls_groups() -> dict[str, TlsGroup]:
    return {
        name: TlsGroup(
            name,
            int(e["code"]),
            e["kind"],
            int(e["bits"]),
            e.get("share_length"),
            fips_approved=e.get("fips_approved"),
            ml_kem=e.get("ml_kem"),
        )
        for name, e in _kb()["tls_groups"].items()
    }


@cache
def _tls_group_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, entry in _kb()["tls_groups"].items():
        index[name.lower()] = name
        for alias in entry.get("aliases", []):
            index[alias.lower()] = name
    return index


def tls_group(name: str) -> TlsGroup | None:
    """A TLS named group by its IANA name or an alias (prime256v1, X25519, ...)."""
    canonical = _tls_group_index().get(name.strip().lower())
    return None if canonical is None else _tls_groups()[canonical]


def tls_group_by_code(code: int) -> TlsGroup | None:
    return next((g for g in _tls_groups().values() if g.code == code), None)


def post_quantum_tls_groups() -> list[TlsGroup]:
    return [g for g in _tls_groups().values() if g.post_quantum]


@dataclass(frozen=True, slots=True)
class CipherSuiteFacts:
    name: str
    key_exchange: str  # "RSA", "ECDHE_RSA", ... ; "" for TLS 1.3 suites (the group is negotiated apart)
    forward_secrecy: bool
    key_transport: bool
    weaknesses: tuple[str, ...]  # tags of tls_suite_weaknesses: null, anonymous, export, rc4, des, 3des


def cipher_suite_facts(name: str) -> CipherSuiteFacts:
    """Facts about a cipher suite from the words of its IANA name (TLS_<kx>_WITH_<cipher>_<mac>)."""
    kb = _kb()
    words = set(name.split("_"))
    weaknesses = [tag for tag, entry in kb["tls_suite_weaknesses"].items() if words & set(entry["words"])]
    if "3des" in weaknesses and "des" in weaknesses:
        weaknesses.remove("des")  # SSL_CK_DES_192_EDE3_...: triple DES, not single DES
    if name == "TLS_NULL_WITH_NULL_NULL" and "null" not in weaknesses:
        weaknesses.append("null")
    if "_WITH_" not in name:
        # TLS 1.3 suites name only the AEAD and hash; key exchange is always ephemeral (EC)DHE or ML-KEM
        return CipherSuiteFacts(name, "", name.startswith("TLS_"), False, tuple(weaknesses))
    if name.startswith("SSL_CK_"):  # SSL 2.0 suites: RSA key transport, cipher named after CK_
        return CipherSuiteFacts(name, "RSA", False, True, tuple(weaknesses))
    prefix = name.split("_WITH_", 1)[0]
    key_exchange = prefix.split("_", 1)[1] if "_" in prefix else prefix
    first = key_exchange.split("_", 1)[0]
    facts = kb["tls_key_exchange"]
    anonymous = "anonymous" in weaknesses
    return CipherSuiteFacts(
        name,
        key_exchange,
        forward_secrecy=first in facts["forward_secrecy"] and not anonymous,
        key_transport=first in facts["key_transport"],
        weaknesses=tuple(weaknesses),
    )


def signature_fips_approved(signature_algorithm: str) -> bool | None:
    """May a FIPS 140-3 module generate this certificate signature; None when not known."""
    value = _kb()["signatures"].get(signature_algorithm)
    if value is not None:
        return bool(value)
    pq = post_quantum_by_name(signature_algorithm)
    if pq is not None:
        approved = _kb()["families"][pq.family].get("fips_approved")
        return None if approved is None else bool(approved)
    return None


# -- protocol-level facts (protocols.toml): TLS versions, weak TLS ciphers, SSH algorithms --------


@dataclass(frozen=True, slots=True)
class WeakCipher:
    name: str  # the weakness, e.g. "RC4", "3DES"
    reason: str


@dataclass(frozen=True, slots=True)
class SshAlgorithm:
    name: str
    weak: bool
    post_quantum: bool
    reason: str = ""


@cache
def _protocols_kb() -> dict[str, Any]:
    text = resources.files("scanner.inventory").joinpath("protocols.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _tls_protocol_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for name, entry in _protocols_kb()["tls_protocols"].items():
        for spelling in (name, *entry.get("aliases", [])):
            index[spelling.lower()] = (name, int(entry["rank"]))
    return index


def tls_protocol(name: str) -> tuple[str, int] | None:
    """The canonical name ("TLSv1.1") and rank of a protocol as a config spells it; None if unknown."""
    return _tls_protocol_index().get(name.strip().lower())


def tls_protocols_from(minimum: str) -> list[str]:
    """Every known protocol at or above ``minimum`` (what "MinProtocol = X" leaves enabled)."""
    found = tls_protocol(minimum)
    if found is None:
        return []
    return [n for n, e in _protocols_kb()["tls_protocols"].items() if int(e["rank"]) >= found[1]]


def all_tls_protocols() -> list[str]:
    return list(_protocols_kb()["tls_protocols"])


@cache
def _weak_cipher_patterns() -> list[tuple[WeakCipher, re.Pattern[str]]]:
    return [
        (WeakCipher(name, entry["reason"]), re.compile(entry["pattern"], re.IGNORECASE))
        for name, entry in _protocols_kb()["tls_weak_ciphers"].items()
    ]


def tls_cipher_weaknesses(element: str) -> list[WeakCipher]:
    """What is weak about one element of a TLS cipher list (a suite name or an OpenSSL keyword)."""
    return [weak for weak, pattern in _weak_cipher_patterns() if pattern.search(element.strip())]


def ssh_algorithm(category: str, name: str) -> SshAlgorithm:
    """Facts on an SSH algorithm; ``category`` is cipher, mac, kex or host_key."""
    table: dict[str, Any] = _protocols_kb()["ssh"].get(category, {})
    entry = table.get(name)
    if entry is None:
        # GSS-API KEX names end in a mechanism OID: the table lists their prefixes ending in "-"
        entry = next((e for prefix, e in table.items() if prefix.endswith("-") and name.startswith(prefix)), None)
    if entry is None:
        return SshAlgorithm(name, weak=False, post_quantum=False)
    return SshAlgorithm(name, bool(entry.get("weak")), bool(entry.get("pq")), entry.get("reason", ""))


# -- servers' built-in defaults (protocols.toml): what applies where a config writes nothing ------


@dataclass(frozen=True, slots=True)
class ServerDefault:
    since: str  # the first version with this default
    protocols: tuple[str, ...]
    source: str


def server_default_protocols(server: str) -> list[ServerDefault]:
    """A server's default TLS protocols by version, oldest first (e.g. nginx's ``ssl_protocols``)."""
    return [
        ServerDefault(str(e["since"]), tuple(e["protocols"]), str(e["source"]))
        for e in _protocols_kb().get("server_defaults", {}).get(server, [])
    ]


@dataclass(frozen=True, slots=True)
class SshDefaults:
    version: str  # the OpenSSH version these lists were recorded for
    source: str
    lists: Mapping[str, tuple[str, ...]]  # ssh context property ("kex", "ciphers", ...) -> names


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def ssh_defaults(version: str) -> SshDefaults | None:
    """sshd's compiled-in algorithm lists for an OpenSSH version: the recorded version at or below it.

    None when the version is older than every recorded one (its defaults are not known here).
    """
    table: dict[str, Any] = _protocols_kb().get("ssh_defaults", {})
    wanted = _version_key(version)
    known = sorted((v for v in table if _version_key(v) <= wanted), key=_version_key)
    if not known:
        return None
    entry = table[known[-1]]
    lists = {k: tuple(v) for k, v in entry.items() if isinstance(v, list)}
    return SshDefaults(known[-1], str(entry["source"]), lists)


@cache
def tls_cipher_suites() -> dict[int, str]:
    """Every cipher suite keysweep's enumeration offers: code point -> IANA name (tls_cipher_suites.csv)."""
    text = resources.files("scanner.inventory").joinpath("tls_cipher_suites.csv").read_text("utf-8")
    suites: dict[int, str] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "code,")):
            code, name = line.split(",", 1)
            suites[int(code, 16)] = name.strip()
    return suites


# -- server software (ssh_software.toml): versions with published weaknesses ---------------------


@dataclass(frozen=True, slots=True)
class SoftwareWeakness:
    id: str  # CVE id
    name: str
    affected_from: str
    fixed_in: str
    severity: str
    source: str  # the advisory's citation


@cache
def _ssh_software_kb() -> dict[str, Any]:
    text = resources.files("scanner.inventory").joinpath("ssh_software.toml").read_text("utf-8")
    return tomllib.loads(text)


def openssh_version_key(version: str) -> tuple[int, ...] | None:
    """ "9.2p1" -> (9, 2, 1); "8.8" -> (8, 8, 0); None when it is no OpenSSH version."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:p(\d+))?", version)
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def openssh_weaknesses(version: str) -> list[SoftwareWeakness]:
    """Published weaknesses of an upstream OpenSSH version (as its banner states it)."""
    key = openssh_version_key(version)
    if key is None:
        return []
    kb = _ssh_software_kb()
    found = []
    for entry in kb["openssh"]:
        low, high = openssh_version_key(entry["affected_from"]), openssh_version_key(entry["fixed_in"])
        if low is not None and high is not None and low <= key < high:
            found.append(
                SoftwareWeakness(
                    entry["id"],
                    entry["name"],
                    entry["affected_from"],
                    entry["fixed_in"],
                    entry["severity"],
                    kb["sources"][entry["source"]],
                )
            )
    return found

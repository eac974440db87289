"""Post-quantum priority per system: each quantum-vulnerable use, what it does, when it is due.

A *use* is one quantum-vulnerable thing an asset does: a TLS or SSH endpoint that establishes keys
without a post-quantum group, a classical public key that signs (a certificate's key) or that
establishes keys (DH, ECDH, X25519), or one whose function a scan cannot see ("other").

Deadlines: NIST IR 8547 ipd (Tables 2 and 4) deprecates quantum-vulnerable algorithms at 112 bits
after 2030 and disallows every quantum-vulnerable algorithm after 2035. Packs that set their own
dates (CNSA 2.0 where selected) contribute them through the findings on the asset.

Priority (Mosca): data that must stay confidential for X years, on a system that takes Y years to
migrate, is exposed to harvest-now-decrypt-later when X + Y exceeds the Z years until a
cryptographically relevant quantum computer (CRQC). Only key establishment (and uses of unknown
function) expose recorded data; signatures are due by their deadlines. Impact and the
high-value-asset flag raise the priority.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from scanner.inventory.model import Asset, AssetType, Finding, RelationType, ScanResult
from scanner.inventory.systems import UNASSIGNED, System, system_members

KEY_ESTABLISHMENT, SIGNATURE, OTHER = "key-establishment", "signature", "other"
FUNCTIONS = (KEY_ESTABLISHMENT, SIGNATURE, OTHER)
PRIORITIES = ("low", "medium", "high", "critical")

# Planning assumptions, stated in every export that uses them (docs/systems.md explains them).
CRQC_YEAR = 2035  # the planning horizon NIST IR 8547 ipd sets: every quantum-vulnerable use disallowed after 2035
DEFAULT_MIGRATION_YEARS = 5.0  # when a system does not say how long its migration takes

IR8547 = "NIST IR 8547 ipd"
# (date, what, applies to security strengths at or below, in bits; None: all)
IR8547_DEADLINES = (
    ("2030-12-31", f"{IR8547}: 112-bit quantum-vulnerable algorithms deprecated after 2030", 112),
    ("2035-12-31", f"{IR8547}: quantum-vulnerable algorithms disallowed after 2035", None),
)
_KEY_AGREEMENT = frozenset({"x25519", "x448", "dh", "ecdh", "ffdh", "dhx"})
_SIGNING_ALGORITHMS = frozenset({"ecdsa", "ed25519", "ed448", "dsa"})


@dataclass(frozen=True, slots=True)
class Use:
    asset_id: str
    function: str
    algorithm: str
    key_length: int | None
    security_bits: int | None
    implementation: Mapping[str, Any]  # type (software/hardware), vendor, product, version, where known
    deadlines: tuple[tuple[str, str], ...]  # (date, source)

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "function": self.function,
            "algorithm": self.algorithm,
            "key_length": self.key_length,
            "security_bits": self.security_bits,
            "implementation": dict(self.implementation),
            "deadlines": [{"date": d, "source": s} for d, s in self.deadlines],
        }


_ESTABLISHING_USAGE = {"decrypt", "encrypt", "unwrap", "wrap", "derive"}
_SIGNING_USAGE = {"sign", "verify", "sign_recover", "verify_recover"}


def _key_functions(asset: Asset, certified: set[str]) -> list[str]:
    """What the key does: its PKCS#11 usage where a token says, else what its algorithm and
    certificate tell; a key allowed to sign and to decrypt has both functions."""
    algorithm = str(asset.properties.get("algorithm") or "").lower()
    usage = set(asset.properties.get("usage") or ())
    found = []
    if usage & _ESTABLISHING_USAGE or algorithm.split("-", 1)[0] in _KEY_AGREEMENT:
        found.append(KEY_ESTABLISHMENT)
    if usage & _SIGNING_USAGE or asset.id in certified or algorithm in _SIGNING_ALGORITHMS:
        found.append(SIGNATURE)
    return found or [OTHER]


def _deadlines(bits: int | None, pack_dates: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    out = [(d, what) for d, what, below in IR8547_DEADLINES if below is None or (bits is not None and bits <= below)]
    out += [d for d in pack_dates if d not in out]
    return tuple(sorted(out))


def _tokens(result: ScanResult) -> dict[str, Asset]:
    return {a.id: a for a in result.assets if a.type == AssetType.HSM_TOKEN}


def _implementation(asset: Asset, tokens: Mapping[str, Asset], stored_in: Mapping[str, list[str]]) -> dict[str, Any]:
    """Hardware when the key lives on a token (its manufacturer, model, firmware), else software."""
    token_ids = [t for t in stored_in.get(asset.id, []) if t in tokens]
    token_ids += [loc.ref for loc in asset.locations if loc.kind == "pkcs11" and loc.ref in tokens]
    if token_ids:
        token = tokens[token_ids[0]].properties
        return {
            "type": "hardware",
            "vendor": token.get("manufacturer") or "",
            "product": token.get("model") or "",
            "version": token.get("firmware") or "",
        }
    props = asset.properties
    software = str(props.get("software") or props.get("server") or "")
    vendor, _, version = software.partition("_") if software else ("", "", "")
    return {"type": "software", "vendor": "", "product": vendor, "version": version}


def quantum_vulnerable_uses(result: ScanResult) -> list[Use]:
    """Every quantum-vulnerable use in the scan (open and waived alike: the inventory is complete)."""
    certified = {r.target for r in result.relations if r.type == RelationType.CERTIFIES}
    stored_in: dict[str, list[str]] = {}
    for r in result.relations:
        if r.type == RelationType.STORED_IN:
            stored_in.setdefault(r.source, []).append(r.target)
    tokens = _tokens(result)
    pack_dates: dict[str, list[tuple[str, str]]] = {}
    for f in result.findings:
        if f.category == "pqc" and f.deadline:
            pack_dates.setdefault(f.asset_id, []).append((f.deadline, f"{', '.join(f.policies)}: {f.title}"))
    uses: list[Use] = []
    for asset in result.assets:
        p = asset.properties
        dates = pack_dates.get(asset.id, [])
        if asset.type == AssetType.KEY and p.get("quantum_vulnerable"):
            bits = p.get("security_bits")
            size = p.get("key_size")
            algorithm = str(p.get("algorithm") or "unknown")
            if p.get("curve"):
                algorithm = f"{algorithm} {p['curve']}"
            uses += [
                Use(
                    asset_id=asset.id,
                    function=function,
                    algorithm=algorithm,
                    key_length=int(size) if isinstance(size, int) else None,
                    security_bits=int(bits) if isinstance(bits, int) else None,
                    implementation=_implementation(asset, tokens, stored_in),
                    deadlines=_deadlines(bits if isinstance(bits, int) else None, dates),
                )
                for function in _key_functions(asset, certified)
            ]
        elif asset.id.startswith(("tls:", "ssh:")) and p.get("pq_key_exchange") is False:
            groups = _in_use_first(
                [str(g) for g in (p.get("key_exchange_groups") or p.get("kex") or [])], p.get("ephemeral_keys")
            )
            uses.append(
                Use(
                    asset_id=asset.id,
                    function=KEY_ESTABLISHMENT,
                    algorithm=", ".join(groups[:4]) or ("ECDHE/DHE" if asset.id.startswith("tls:") else "classical"),
                    key_length=None,
                    security_bits=None,
                    implementation=_implementation(asset, tokens, stored_in),
                    deadlines=_deadlines(None, dates),
                )
            )
    return uses


def _in_use_first(groups: list[str], ephemeral_keys: Any) -> list[str]:
    """The groups the endpoint's handshakes negotiated first, then the rest in the listed order.

    The groups probe lists a server that follows the client's preference in the probe's own offer
    order (secp256r1 first); the group real handshakes used (x25519, say) is what the row is about.
    """
    keys = ephemeral_keys.values() if isinstance(ephemeral_keys, Mapping) else ()
    used = {str(k.get("group")) for k in keys if isinstance(k, Mapping) and k.get("group")}
    return [g for g in groups if g in used] + [g for g in groups if g not in used]


def _years_until(day: str, as_of: date) -> float:
    return (date.fromisoformat(day) - as_of).days / 365.25


def _assess(
    system: System | None, uses: Sequence[Use], as_of: date, crqc_year: int, open_pqc: Mapping[str, list[Finding]]
) -> dict[str, Any]:
    ttl = system.data_ttl_years if system else None
    migration = system.migration_years if system and system.migration_years is not None else DEFAULT_MIGRATION_YEARS
    to_crqc = max(0.0, _years_until(f"{crqc_year}-01-01", as_of))
    rank = 0
    reasons: list[str] = []
    establishing = [u for u in uses if u.function in (KEY_ESTABLISHMENT, OTHER)]
    hndl = bool(establishing) and ttl is not None and ttl + migration > to_crqc
    if hndl and ttl is not None:
        rank += 2
        reasons.append(
            f"harvest-now-decrypt-later: data kept confidential {ttl:g} y + migration {migration:g} y "
            f"exceeds the {to_crqc:.1f} y until a CRQC (assumed {crqc_year})"
        )
    elif establishing and ttl is None:
        reasons.append("data time-to-live not declared: harvest-now-decrypt-later exposure unknown")
    elif establishing and ttl is not None:
        reasons.append(
            f"no harvest-now-decrypt-later exposure: {ttl:g} y + migration {migration:g} y "
            f"within the {to_crqc:.1f} y until a CRQC (assumed {crqc_year})"
        )
    elif uses:
        reasons.append("signatures only: due by their deadlines, no harvest-now-decrypt-later exposure")
    if system is not None and system.impact == "high":
        rank += 1
        reasons.append("FIPS 199 impact high")
    elif system is not None and system.impact == "low":
        rank -= 1
        reasons.append("FIPS 199 impact low")
    if system is not None and system.high_value_asset:
        rank += 1
        reasons.append("high-value asset")
    earliest = min((d for u in uses for d, _ in u.deadlines), default=None)
    if earliest is not None:
        left = _years_until(earliest, as_of)
        if left < 0:
            rank += 2
            reasons.append(f"deadline {earliest} is overdue")
        elif left < migration:
            rank += 1
            reasons.append(f"deadline {earliest} falls within the {migration:g}-year migration")
    if not uses:
        level = "none"
        reasons = ["no quantum-vulnerable use found"]
    else:
        level = PRIORITIES[max(0, min(rank, len(PRIORITIES) - 1))]
    by_function = Counter(u.function for u in uses)
    return {
        "system": system.id if system else UNASSIGNED,
        "priority": level,
        "reasons": reasons,
        "harvest_now_decrypt_later": hndl,
        "uses": len(uses),
        "by_function": {f: by_function.get(f, 0) for f in FUNCTIONS},
        "open_pqc_findings": sum(len(open_pqc.get(u.asset_id, [])) for u in uses),
        "earliest_deadline": earliest,
        "deadlines": _deadline_counts(uses),
        "mosca": {
            "data_ttl_years": ttl,
            "migration_years": migration,
            "migration_years_source": "attested"
            if system is not None and system.migration_years is not None
            else "assumed",
            "years_to_crqc": round(to_crqc, 1),
            "crqc_year": crqc_year,
        },
    }


def _deadline_counts(uses: Sequence[Use]) -> list[dict[str, Any]]:
    """For the burndown: per deadline and function, how many uses fall due."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for u in uses:
        for day, source in u.deadlines:
            counts[(day, source, u.function)] += 1
    return [
        {"date": day, "source": source, "function": function, "uses": n}
        for (day, source, function), n in sorted(counts.items())
    ]


def pq_priority(result: ScanResult, crqc_year: int | None = None) -> list[dict[str, Any]]:
    """One entry per declared system (and ``unassigned``); empty without a systems file."""
    groups = system_members(result)
    if not groups or result.systems is None:
        return []
    year = crqc_year or result.systems.crqc_year or CRQC_YEAR
    uses = quantum_vulnerable_uses(result)
    by_asset: dict[str, list[Use]] = {}
    for u in uses:
        by_asset.setdefault(u.asset_id, []).append(u)
    open_pqc: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.waived is None and f.category == "pqc":
            open_pqc.setdefault(f.asset_id, []).append(f)
    declared = {s.id: s for s in result.systems.systems}
    as_of = result.metadata.as_of.date()
    out = []
    for system_id, assets in groups.items():
        system_uses = [u for a in assets for u in by_asset.get(a.id, [])]
        out.append(_assess(declared.get(system_id), system_uses, as_of, year, open_pqc))
    return out

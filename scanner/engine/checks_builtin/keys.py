"""Checks on keys and the files that hold them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from scanner.engine.checks import EvalContext, Hit, Run, accepts, fast_form, parse_day, scheduled_severity
from scanner.engine.checks_builtin.neighbours import certifying
from scanner.inventory import knowledge
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType, Severity
from scanner.inventory.trust import acts_as_ca
from scanner.plurals import plural


def _describe(props: Mapping[str, Any]) -> str:
    algorithm = props.get("algorithm") or "unknown"
    if props.get("curve"):
        return f"{algorithm} {props['curve']}"
    if props.get("key_size"):
        return f"{algorithm}-{props['key_size']}"
    return str(algorithm)


def _key_evidence(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props.get(k) for k in ("algorithm", "key_size", "curve", "security_bits") if props.get(k) is not None}


def _minimum_bits(params: Mapping[str, Any], context: EvalContext) -> int:
    """min_bits, raised by any `schedule` entry whose date has passed (e.g. 128 after 2030)."""
    minimum = int(params.get("min_bits", 112))
    for step in params.get("schedule", []):
        if context.as_of_date > parse_day(step["after"]):
            minimum = max(minimum, int(step["min_bits"]))
    return minimum


@accepts("min_bits", "critical_below", "schedule")
def key_strength(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """Security strength below the minimum (SP 800-57 Table 2; the handbook's Table 1 sizes)."""
    props = asset.properties
    bits = props.get("security_bits")
    if bits is None:
        return
    minimum = _minimum_bits(params, context)
    if bits >= minimum:
        return
    severity = Severity.CRITICAL if bits < int(params.get("critical_below", 0)) else None
    yield Hit(
        f"{_describe(props)} gives {bits} bits of security; the policy requires at least {minimum}",
        {**_key_evidence(props), "required_bits": minimum},
        severity=severity,
    )


@accepts()
def plaintext_private_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A private key stored unencrypted on disk (the handbook: never store keys in plaintext)."""
    props = asset.properties
    if not props.get("has_private_key") or props.get("encrypted_at_rest") is not False:
        return
    files = [
        str(f.properties.get("path"))
        for f in graph.successors(asset.id, RelationType.STORED_IN)
        if f.type is AssetType.FILE and f.properties.get("contains_plaintext_private_key")
    ]
    if not files:
        return
    yield Hit(
        f"private key {_describe(props)} is stored unencrypted in {', '.join(sorted(files))}",
        {"files": sorted(files), **_key_evidence(props)},
    )


def _key_access_group(props: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """Why a group-readable key is readable by design, or None.

    A dedicated key-access group (Debian's ``ssl-cert``, or a group with no members) under a
    directory others cannot enter: exactly the services put in that group read the key.
    """
    group = props.get("group")
    members = props.get("group_members")
    parent_mode = props.get("parent_mode")
    if not group or members is None or parent_mode is None or int(parent_mode, 8) & 0o007:
        return None
    if group not in set(params.get("key_access_groups", ["ssl-cert"])) and members:
        return None
    who = f"members: {', '.join(members)}" if members else "no members"
    return (
        f"readable by group {group} ({who}), a group that exists to grant key access, "
        f"in a directory others cannot enter (mode {parent_mode})"
    )


def _private_key_permissions_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    def run(asset: Asset) -> tuple[Hit, ...]:
        # called for every file of a sweep; few hold a plaintext private key
        props = asset.properties
        if not props.get("contains_plaintext_private_key") or props.get("mode") is None:
            return ()
        return tuple(private_key_permissions(asset, graph, params, context))

    return run


@fast_form(_private_key_permissions_fast)
@accepts("forbidden_mode_bits", "key_access_groups", "key_access_group_severity", "package_data_severity")
def private_key_permissions(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A file holding a plaintext private key that other users can read.

    Readable by a dedicated key-access group only (see ``_key_access_group``) is reported at
    ``key_access_group_severity`` (low by default), with the reason; a key in installed package
    data (a library's test fixture, an SDK's example) at ``package_data_severity`` (low).
    """
    props = asset.properties
    if not props.get("contains_plaintext_private_key") or props.get("mode") is None:
        return
    mode = int(props["mode"], 8)
    forbidden = int(str(params.get("forbidden_mode_bits", "0044")), 8)
    if not mode & forbidden:
        return
    evidence = {"path": props["path"], "mode": props["mode"], "owner": props.get("owner")}
    for name in ("group", "group_members", "parent_mode", "parent_group"):
        if props.get(name) is not None:
            evidence[name] = props[name]
    by_design = None if mode & 0o004 else _key_access_group(props, params)
    shipped = props.get("package_data_reason")
    if shipped:
        # a test or example key that a package installed: known, not a team's key
        who = "world" if mode & 0o004 else "group"
        reason = f"{who}-readable (mode {props['mode']}), in package data: {shipped}"
        yield Hit(
            f"{props['path']} holds a plaintext private key, {reason}",
            {**evidence, "reason": reason, "package_data_reason": shipped},
            severity=Severity(str(params.get("package_data_severity", "low"))),
        )
        return
    if by_design is not None:
        yield Hit(
            f"{props['path']} holds a plaintext private key {by_design}",
            {**evidence, "reason": by_design},
            severity=Severity(str(params.get("key_access_group_severity", "low"))),
        )
        return
    who = "world" if mode & 0o004 else "group"
    yield Hit(f"{props['path']} holds a plaintext private key and is {who}-readable (mode {props['mode']})", evidence)


@accepts()
def dsa_key(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """DSA: signature generation removed by FIPS 186-5; verification of old signatures only."""
    props = asset.properties
    if props.get("algorithm") == "DSA":
        yield Hit(f"{_describe(props)} key: DSA signature generation is no longer approved", _key_evidence(props))


@accepts("deprecated_after", "disallowed_after", "deprecated_below_bits")
def quantum_vulnerable_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """NIST IR 8547: 112-bit quantum-vulnerable keys deprecated after 2030, all disallowed after 2035."""
    props = asset.properties
    if not props.get("quantum_vulnerable"):
        return
    bits = props.get("security_bits") or 0
    deprecated_after = parse_day(params.get("deprecated_after", "2030-12-31"))
    disallowed_after = parse_day(params.get("disallowed_after", "2035-12-31"))
    deprecated_below = int(params.get("deprecated_below_bits", 128))
    today = context.as_of_date
    if today > disallowed_after:
        severity, status, deadline = Severity.HIGH, "disallowed", disallowed_after
    elif bits < deprecated_below and today > deprecated_after:
        severity, status, deadline = Severity.MEDIUM, "deprecated", disallowed_after
    else:
        severity, status = Severity.INFO, "acceptable until migration"
        deadline = deprecated_after if bits < deprecated_below else disallowed_after
    yield Hit(
        f"{_describe(props)} is vulnerable to a quantum computer; status on {today}: {status}; "
        f"migrate to ML-KEM / ML-DSA by {deadline}",
        {**_key_evidence(props), "status": status},
        severity=severity,
        deadline=deadline.isoformat(),
    )


def _family(algorithm: str) -> str:
    """ML-DSA-65 -> ML-DSA; other algorithms are their own family."""
    pq = knowledge.post_quantum_by_name(algorithm)
    return pq.family if pq is not None else algorithm


def _allowed_by(entry: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    algorithm = str(props.get("algorithm") or "")
    if entry["algorithm"] not in (algorithm, _family(algorithm)):
        return False
    if "curves" in entry:
        curve = knowledge.canonical_curve(str(props.get("curve") or ""))
        if curve is None or curve not in {knowledge.canonical_curve(c) for c in entry["curves"]}:
            return False
    size = props.get("key_size")
    return "min_size" not in entry or (size is not None and int(size) >= int(entry["min_size"]))


@accepts("allowed", "describe", "schedule")
def key_algorithm_allowed(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key whose algorithm, curve or size is not on the pack's list (e.g. the handbook's Table 1).

    ``allowed = [{algorithm = "RSA", min_size = 2048}, {algorithm = "EC", curves = ["P-256"]},
    {algorithm = "ML-DSA"}]``; an entry names an algorithm or a post-quantum family. The optional
    ``schedule`` raises the severity by date (see scheduled_severity).
    """
    props = asset.properties
    algorithm = props.get("algorithm")
    if not algorithm or str(algorithm).startswith("unknown"):
        return
    if any(_allowed_by(entry, props) for entry in params.get("allowed", [])):
        return
    severity, deadline = scheduled_severity(params, context)
    what = params.get("describe", "the policy's list of algorithms and minimum sizes")
    # the same family at another parameter set or size (ML-DSA-65 where ML-DSA-87 is required)
    family = _family(str(algorithm))
    below = any(_family(str(entry["algorithm"])) == family for entry in params.get("allowed", []))
    yield Hit(
        f"{_describe(props)} is {'below' if below else 'not among'} {what}",
        _key_evidence(props),
        severity=severity,
        deadline=deadline,
    )


@accepts()
def fips_approved_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key of an algorithm, curve or size that FIPS 140-3 does not approve (knowledge base)."""
    props = asset.properties
    if props.get("fips_approved") is not False:
        return
    note = props.get("fips_note")
    yield Hit(
        f"{_describe(props)} is not a FIPS 140-3 approved algorithm{f': {note}' if note else ''}",
        {**_key_evidence(props), "fips_approved": False, **({"fips_note": note} if note else {})},
    )


@accepts("disallowed_after")
def tdea_key(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    """DES and Triple-DES keys: 2TDEA and DES disallowed; 3TDEA encryption disallowed after 2023."""
    props = asset.properties
    algorithm = props.get("algorithm")
    if algorithm not in ("3DES", "DES"):
        return
    bits = props.get("security_bits")
    cutoff = parse_day(params.get("disallowed_after", "2023-12-31"))
    if algorithm == "DES" or (bits is not None and bits < 112):
        yield Hit(
            f"{_describe(props)} key: DES and two-key Triple-DES are disallowed",
            {**_key_evidence(props), "status": "disallowed"},
            severity=Severity.HIGH,
        )
    elif context.as_of_date > cutoff:
        yield Hit(
            f"{_describe(props)} key: three-key Triple-DES encryption is disallowed after {cutoff}; "
            "decryption of existing data is legacy use only",
            {**_key_evidence(props), "status": "disallowed"},
            severity=Severity.HIGH,
            deadline=cutoff.isoformat(),
        )
    else:
        yield Hit(
            f"{_describe(props)} key: three-key Triple-DES is deprecated and disallowed for encryption after {cutoff}",
            {**_key_evidence(props), "status": "deprecated"},
            severity=Severity.MEDIUM,
            deadline=cutoff.isoformat(),
        )


@accepts()
def private_key_outside_module(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A private key held in a file rather than only in a cryptographic module (HSM token)."""
    props = asset.properties
    if not props.get("has_private_key"):
        return
    files = sorted(
        str(f.properties.get("path"))
        for f in graph.successors(asset.id, RelationType.STORED_IN)
        if f.type is AssetType.FILE and f.properties.get("contains_private_key")
    )
    if files:
        yield Hit(
            f"private key {_describe(props)} is held in {', '.join(files)}, outside a cryptographic module",
            {"files": files, "encrypted_at_rest": props.get("encrypted_at_rest"), **_key_evidence(props)},
        )


_SIGNING_USAGES = frozenset({"digital_signature", "content_commitment", "key_cert_sign", "crl_sign", "sign"})


@accepts()
def escrowed_signature_key(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A signature key that the inventory marks as escrowed (``escrowed = true`` on the key).

    The signing purpose comes from the key's own ``usage`` list (e.g. a PKCS#11 CKA_SIGN key) or
    from the key usage of the certificates that bind it.
    """
    props = asset.properties
    if not props.get("escrowed"):
        return
    usages = set(props.get("usage") or ())
    for cert in certifying(graph, context, asset.id):
        usages.update(cert.properties.get("key_usage") or ())
    signing = sorted(usages & _SIGNING_USAGES)
    if signing:
        yield Hit(
            f"signature key {_describe(props)} is escrowed; signature keys must never be escrowed",
            {"escrowed": True, "signing_usage": signing, **_key_evidence(props)},
        )


@accepts("max_days", "include_ca")
def key_rotation_overdue(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key in use for longer than the rotation period (annual by default) on the as-of date.

    The key's first use is its ``created`` property when the source knows it (e.g. a PKCS#11
    start date), else the earliest not-before of the end-entity certificates that bind it.
    """
    props = asset.properties
    include_ca = bool(params.get("include_ca", False))
    starts = [str(props["created"])] if props.get("created") else []
    ends: list[str] = []
    for cert in certifying(graph, context, asset.id):  # thousands, for a key a fleet shares
        cert_props = cert.properties
        not_before = cert_props.get("not_before")
        if not_before and (include_ca or not acts_as_ca(cert_props)):
            starts.append(str(not_before))
            ends.append(str(cert_props.get("not_after") or ""))
    if not starts:
        return
    # every certificate binding it has expired: the expiry rule speaks for it, not this one
    if ends and all(end and parse_day(end[:10]) < context.as_of_date for end in ends):
        return
    # each distinct day parsed once, in order of first use (the same first bad one raises)
    first = min(parse_day(day) for day in dict.fromkeys(s[:10] for s in starts))
    max_days = int(params.get("max_days", 365))
    age = (context.as_of_date - first).days
    if age > max_days:
        yield Hit(
            f"{_describe(props)} has been in use since {first} ({plural(age, 'day')} on {context.as_of_date}); "
            f"rotation is due every {plural(max_days, 'day')}",
            {"in_use_since": first.isoformat(), "age_days": age, "max_days": max_days, **_key_evidence(props)},
            deadline=(first + timedelta(days=max_days)).isoformat(),
        )

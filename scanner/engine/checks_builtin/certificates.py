"""Checks on certificates: signature hash, validity window, lifetime, key reuse.

Validity is compared as exact instants, never in whole days: a certificate is valid from notBefore
through notAfter inclusive (RFC 5280 Section 4.1.2.5), so it is expired at any instant after its
notAfter; and a limit of N days is N x 86,400 seconds, any fraction more being another day
(CA/Browser Forum Baseline Requirements 6.3.2). A 398-day certificate plus one second is too long.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from scanner.engine.checks import EvalContext, Hit, Run, accepts, fast_form, scheduled_severity
from scanner.engine.checks_builtin.neighbours import certifying
from scanner.inventory import knowledge
from scanner.inventory.enrich import parse_time
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, FrozenProperties, Severity
from scanner.inventory.trust import acts_as_ca
from scanner.plurals import noun, plural

DAY = timedelta(seconds=86400)
# notAfter is the last instant of validity: a lifetime counts that second too
_INCLUSIVE = timedelta(seconds=1)


def _duration(delta: timedelta) -> str:
    """A duration as people read it, exact below a day: "3 days", "5 hours", "0.005 seconds"."""
    seconds = delta.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return plural(count, unit)
    return f"{seconds:g} {noun(seconds, 'second')}"


def lifetime(props: Mapping[str, Any]) -> timedelta | None:
    """notBefore through notAfter inclusive, exact to the second; None when either is unknown."""
    if not props.get("not_before") or not props.get("not_after"):
        return None
    return parse_time(props["not_after"]) - parse_time(props["not_before"]) + _INCLUSIVE


def _name(props: Mapping[str, Any]) -> str:
    return str(props.get("subject") or props.get("sha256_fingerprint", "?")[:16])


def _skipped_root(props: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """A self-signed root's own signature is never checked by relying parties (unless the rule asks).

    A root is a self-signed CA, or a self-signed certificate that a trust store holds (old v1 roots
    carry no basicConstraints, yet relying parties use them as anchors all the same).
    """
    return bool(params.get("ignore_self_signed", True) and props.get("self_signed") and acts_as_ca(props))


# -- fast forms (see scanner.engine.checks.fast_form) ------------------------------------------
# Each gives the same hits as the check below it; the engine calls it once per certificate. They
# return tuples (no generator per asset) and read the rule's parameters once.
_NONE: tuple[Hit, ...] = ()


class _Times(dict[str, datetime]):
    """parse_time, memoised for one evaluation: four rules read each certificate's two instants.

    A dict whose missing keys parse themselves: a hit costs one dict lookup, no Python call.
    """

    __slots__ = ()

    def __missing__(self, value: str) -> datetime:
        moment = self[value] = parse_time(value)
        return moment


def _times(context: EvalContext) -> _Times:
    return context.once("certificates.parsed-times", _Times)


def _weak_signature_hash_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    minimum = int(params.get("min_bits", 112))

    def run(asset: Asset) -> tuple[Hit, ...]:
        props = asset.properties
        # the strength first: nearly every certificate passes on it, before the root test (a
        # call) is needed; an odd value raises here and leaves the asset to the check, as before
        bits = props.get("signature_hash_bits")
        if bits is None or not bits < minimum or not props.get("signature_hash"):
            return _NONE
        if _skipped_root(props, params):
            return _NONE
        return tuple(weak_signature_hash(asset, graph, params, context))

    return run


@fast_form(_weak_signature_hash_fast)
@accepts("min_bits", "ignore_self_signed")
def weak_signature_hash(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A certificate signed with MD5, SHA-1 or another hash below the minimum strength."""
    props = asset.properties
    hash_name = props.get("signature_hash")
    if not hash_name:
        return
    if _skipped_root(props, params):
        return
    bits = props.get("signature_hash_bits")
    minimum = int(params.get("min_bits", 112))
    if bits is not None and bits < minimum:
        yield Hit(
            f"certificate {_name(props)} is signed with {props.get('signature_algorithm')} "
            f"({hash_name}: {bits} bits of collision resistance, at least {minimum} required)",
            {"signature_algorithm": props.get("signature_algorithm"), "signature_hash": hash_name},
        )


def _expired_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    as_of, times = context.as_of, _times(context)

    def run(asset: Asset) -> tuple[Hit, ...]:
        not_after = asset.properties.get("not_after")
        if not not_after or not as_of > times[not_after]:
            return _NONE
        return tuple(certificate_expired(asset, graph, params, context))

    return run


@fast_form(_expired_fast)
@accepts()
def certificate_expired(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    # computed from the as-of date itself, so that the answer never depends on enrichment's clock
    props = asset.properties
    if not props.get("not_after"):
        return
    not_after = parse_time(props["not_after"])
    if context.as_of > not_after:
        ago = _duration(context.as_of - not_after)
        message = (
            f"certificate {_name(props)} expired on {props['not_after']}, {ago} before {context.as_of.isoformat()}"
        )
        if props.get("trust_anchor"):
            # an expired anchor in a trust store builds no chain: stale hygiene to clear up, not a
            # certificate that something presents (reference stores like testssl.sh's keep many)
            yield Hit(
                f"{message}; it is a trust anchor in a trust store: remove it",
                {"not_after": props["not_after"], "trust_anchor": True},
                severity=Severity.LOW,
            )
            return
        yield Hit(message, {"not_after": props["not_after"]})


def _not_yet_valid_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    as_of, times = context.as_of, _times(context)

    def run(asset: Asset) -> tuple[Hit, ...]:
        not_before = asset.properties.get("not_before")
        if not not_before or not times[not_before] > as_of:
            return _NONE
        return tuple(certificate_not_yet_valid(asset, graph, params, context))

    return run


@fast_form(_not_yet_valid_fast)
@accepts()
def certificate_not_yet_valid(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    props = asset.properties
    if props.get("not_before") and parse_time(props["not_before"]) > context.as_of:
        yield Hit(
            f"certificate {_name(props)} is not valid before {props['not_before']}",
            {"not_before": props["not_before"]},
        )


def _expiring_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    as_of, times = context.as_of, _times(context)
    window = int(params.get("days", 30)) * DAY
    zero = timedelta(0)

    def run(asset: Asset) -> tuple[Hit, ...]:
        not_after = asset.properties.get("not_after")
        if not not_after or not zero <= times[not_after] - as_of < window:
            return _NONE
        return tuple(certificate_expiring(asset, graph, params, context))

    return run


@fast_form(_expiring_fast)
@accepts("days")
def certificate_expiring(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Valid on the as-of date, but expiring within ``days`` (30 by default)."""
    props = asset.properties
    if not props.get("not_after"):
        return
    remaining = parse_time(props["not_after"]) - context.as_of
    window = int(params.get("days", 30))
    if timedelta(0) <= remaining < window * DAY:
        yield Hit(
            f"certificate {_name(props)} expires on {props['not_after']}, in {_duration(remaining)}",
            {"not_after": props["not_after"], "days_remaining": remaining.days},
            deadline=str(props["not_after"])[:10],
        )


def _validity_too_long_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    # most certificates of a long-lived estate fail this rule: the whole hit is built here, with
    # the rule's half of the message built once
    include_ca = params.get("include_ca", False)
    maximum = int(params.get("max_days", 398))
    limit = maximum * DAY
    allows = (
        f"notBefore through notAfter inclusive); rotation policy allows at most {plural(maximum, 'day')} "
        f"({maximum * 86400} s)"
    )
    times = _times(context)
    # a fleet's certificates share a few thousand validity windows: each window's verdict, the
    # message's tail and the evidence are worked out once (None: not too long)
    windows: dict[tuple[str, str], tuple[str, FrozenProperties] | None] = {}

    def window(not_before: str, not_after: str) -> tuple[str, FrozenProperties] | None:
        length = times[not_after] - times[not_before] + _INCLUSIVE
        if not length > limit:
            return None
        days = -(-length // DAY)
        seconds = int(length.total_seconds())
        # read-only at once, so the engine keeps it instead of copying it; findings of one window
        # share it, as they may: nothing changes a finding's evidence
        evidence = FrozenProperties(
            validity_days=days, validity_seconds=seconds, not_before=not_before, not_after=not_after
        )
        return f"{plural(days, 'day')} ({seconds} s, {allows}", evidence

    def run(asset: Asset) -> tuple[Hit, ...]:
        props = asset.properties
        if not include_ca and acts_as_ca(props):
            return _NONE
        not_before, not_after = props.get("not_before"), props.get("not_after")
        if not not_before or not not_after:
            return _NONE
        key = (not_before, not_after)
        if key in windows:
            verdict = windows[key]
        else:
            verdict = windows[key] = window(not_before, not_after)
        if verdict is None:
            return _NONE
        return (Hit(f"certificate {_name(props)} is valid for {verdict[0]}", verdict[1]),)

    return run


@fast_form(_validity_too_long_fast)
@accepts("max_days", "include_ca")
def certificate_validity_too_long(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """An end-entity certificate whose lifetime exceeds the rotation policy (annual by default)."""
    props = asset.properties
    if not params.get("include_ca", False) and acts_as_ca(props):
        return
    length = lifetime(props)
    maximum = int(params.get("max_days", 398))
    if length is not None and length > maximum * DAY:
        # over by a fraction of a day still counts as a day more (BR 6.3.2)
        days = -(-length // DAY)
        yield Hit(
            f"certificate {_name(props)} is valid for {plural(days, 'day')} ({int(length.total_seconds())} s, "
            f"notBefore through notAfter inclusive); rotation policy allows at most {plural(maximum, 'day')} "
            f"({maximum * 86400} s)",
            {
                "validity_days": days,
                "validity_seconds": int(length.total_seconds()),
                "not_before": props.get("not_before"),
                "not_after": props.get("not_after"),
            },
        )


def _key_reused_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    certificate = AssetType.CERTIFICATE

    def run(asset: Asset) -> tuple[Hit, ...]:
        # a key's certificates mostly name one subject each: the check's grouping and sorting
        # are needed only once a subject repeats
        subjects = [
            str(cert.properties.get("subject"))
            for cert in certifying(graph, context, asset.id)
            if cert.type is certificate and not acts_as_ca(cert.properties)
        ]
        if len(set(subjects)) < len(subjects):
            return tuple(key_reused_across_renewal(asset, graph, params, context))
        return _NONE

    return run


@fast_form(_key_reused_fast)
@accepts()
def key_reused_across_renewal(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Two or more certificates for the same subject certify this key: renewal kept the old key."""
    by_subject: dict[str, list[Asset]] = {}
    certificate = AssetType.CERTIFICATE  # read once: an enum member lookup is slow in a long loop
    for cert in certifying(graph, context, asset.id):
        if cert.type is certificate and not acts_as_ca(cert.properties):
            by_subject.setdefault(str(cert.properties.get("subject")), []).append(cert)
    for subject, certs in sorted(by_subject.items()):
        if len(certs) > 1:
            certs.sort(key=lambda c: str(c.properties.get("not_before")))
            yield Hit(
                f"{len(certs)} certificates for {subject} reuse the same key; renewals should generate a new key",
                {
                    "subject": subject,
                    "certificates": [c.id for c in certs],
                    "not_before": [c.properties.get("not_before") for c in certs],
                },
                discriminator=subject,
            )


def _revocation_without_ocsp_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    def run(asset: Asset) -> tuple[Hit, ...]:
        props = asset.properties
        if props.get("self_signed") or not props.get("crl_urls") or props.get("ocsp_urls"):
            return _NONE
        return tuple(revocation_without_ocsp(asset, graph, params, context))

    return run


@fast_form(_revocation_without_ocsp_fast)
@accepts()
def revocation_without_ocsp(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A CA-issued certificate that points relying parties at a CRL but offers no OCSP responder."""
    props = asset.properties
    if props.get("self_signed") or not props.get("crl_urls") or props.get("ocsp_urls"):
        return
    yield Hit(
        f"certificate {_name(props)} can only be checked for revocation by CRL ({', '.join(props['crl_urls'])}); "
        "no OCSP responder in its Authority Information Access",
        {"crl_urls": list(props["crl_urls"]), "ocsp_urls": []},
    )


def _fips_signature_algorithm_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    refused: dict[str, bool] = {}  # the knowledge base's answer, per signature algorithm: a few in an estate

    def run(asset: Asset) -> tuple[Hit, ...]:
        props = asset.properties
        algorithm = props.get("signature_algorithm")
        if not algorithm:
            return _NONE
        if _skipped_root(props, params):
            return _NONE
        name = str(algorithm)
        if name not in refused:
            refused[name] = knowledge.signature_fips_approved(name) is False
        if refused[name]:
            return tuple(fips_signature_algorithm(asset, graph, params, context))
        return _NONE

    return run


@fast_form(_fips_signature_algorithm_fast)
@accepts("ignore_self_signed")
def fips_signature_algorithm(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A certificate signature that a FIPS 140-3 module may not generate (knowledge base)."""
    props = asset.properties
    algorithm = props.get("signature_algorithm")
    if not algorithm:
        return
    if _skipped_root(props, params):
        return
    if knowledge.signature_fips_approved(str(algorithm)) is False:
        yield Hit(
            f"certificate {_name(props)} is signed with {algorithm}, which is not FIPS 140-3 approved "
            "for signature generation",
            {"signature_algorithm": algorithm},
        )


def _signature_algorithm_allowed_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Run:
    # the schedule, the list and the description are the rule's: read once, not once per certificate
    allowed = set(params.get("allowed", []))
    severity, deadline = scheduled_severity(params, context)
    what = params.get("describe", "the policy's signature algorithms")
    permitted: dict[str, bool] = {}  # per signature algorithm (its name or post-quantum family allowed)

    def run(asset: Asset) -> tuple[Hit, ...]:
        props = asset.properties
        algorithm = props.get("signature_algorithm")
        if not algorithm:
            return _NONE
        name = str(algorithm)
        if name not in permitted:
            pq = knowledge.post_quantum_by_name(name)
            permitted[name] = bool(({name, pq.family} if pq is not None else {name}) & allowed)
        if permitted[name]:
            return _NONE
        return (
            Hit(
                f"certificate {_name(props)} is signed with {algorithm}, which is not among {what}",
                FrozenProperties(signature_algorithm=algorithm),
                severity=severity,
                deadline=deadline,
            ),
        )

    return run


@fast_form(_signature_algorithm_allowed_fast)
@accepts("allowed", "describe", "schedule")
def signature_algorithm_allowed(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A certificate signed with an algorithm not on the pack's list (names or post-quantum families).

    ``allowed = ["ML-DSA-87", "SLH-DSA"]``; the optional ``schedule`` raises the severity by date.
    """
    props = asset.properties
    algorithm = props.get("signature_algorithm")
    if not algorithm:
        return
    pq = knowledge.post_quantum_by_name(str(algorithm))
    names = {str(algorithm), pq.family} if pq is not None else {str(algorithm)}
    if names & set(params.get("allowed", [])):
        return
    severity, deadline = scheduled_severity(params, context)
    what = params.get("describe", "the policy's signature algorithms")
    yield Hit(
        f"certificate {_name(props)} is signed with {algorithm}, which is not among {what}",
        {"signature_algorithm": algorithm},
        severity=severity,
        deadline=deadline,
    )

"""Compliance of a TLS endpoint with Mozilla's Server Side TLS profiles (modern, intermediate, old).

The profile is read from the JSON sslyze ships (``sslyze/mozilla_tls_profile/<version>.json``, a
copy of ssl-config.mozilla.org/guidelines/<version>.json), never re-typed here: a newer sslyze
brings a newer profile. The file is found without importing sslyze, which is slow to load.
One hit per deviation, as sslyze's own checker reports them, with the profile's version.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from scanner.engine.checks import EvalContext, Hit, accepts
from scanner.engine.checks_builtin.tls import endpoint_name
from scanner.inventory import knowledge
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, RelationType
from scanner.plurals import plural


class ProfileError(RuntimeError):
    """sslyze's Mozilla profile data cannot be found or read."""


@cache
def load_profiles() -> Mapping[str, Any]:
    """The newest Mozilla profile file sslyze ships, as parsed JSON."""
    spec = importlib.util.find_spec("sslyze")
    if spec is None or not spec.submodule_search_locations:
        raise ProfileError("sslyze is not installed: its Mozilla TLS profile data is needed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "mozilla_tls_profile"
    files = sorted(folder.glob("*.json"), key=lambda p: [int(x) for x in p.stem.split(".") if x.isdigit()])
    if not files:
        raise ProfileError(f"no Mozilla TLS profile in {folder}")
    try:
        data = json.loads(files[-1].read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileError(f"cannot read {files[-1]}: {exc}") from None
    return dict(data)


def _group(name: str) -> str:
    group = knowledge.tls_group(name)
    return group.name if group is not None else name


def _deviations(asset: Asset, graph: InventoryGraph, profile: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(what, explanation, evidence value) for each way the endpoint departs from the profile."""
    props = asset.properties
    protocols = list(props.get("protocols", []))
    allowed_versions = list(profile["tls_versions"])
    extra = [p for p in protocols if p not in allowed_versions]
    if extra:
        yield "tls_versions", f"accepts {', '.join(extra)} (profile: {', '.join(allowed_versions)})", extra
    if "TLSv1.3" in allowed_versions and protocols and "TLSv1.3" not in protocols:
        yield "tls13", "does not accept TLS 1.3", protocols
    by_protocol = dict(props.get("cipher_suites_by_protocol", {}))
    legacy_allowed = set(profile["ciphers"]["iana"])
    tls13_allowed = set(profile["ciphersuites"])
    legacy = sorted({s for v, suites in by_protocol.items() if v != "TLSv1.3" for s in suites} - legacy_allowed)
    if legacy:
        yield "ciphers", f"accepts cipher suites the profile does not list: {', '.join(legacy)}", legacy
    tls13 = sorted(set(by_protocol.get("TLSv1.3", [])) - tls13_allowed)
    if tls13:
        yield "ciphersuites", f"accepts TLS 1.3 suites the profile does not list: {', '.join(tls13)}", tls13
    curves = {_group(c) for c in profile["tls_curves"]}
    groups = [g for g in props.get("key_exchange_groups", []) if not (knowledge.tls_group(g) or _NOT_PQ).post_quantum]
    extra_groups = [g for g in groups if _group(g) not in curves]
    if extra_groups:
        yield (
            "tls_curves",
            f"accepts key-exchange groups the profile does not list: {', '.join(extra_groups)}",
            extra_groups,
        )
    dh_minimum = profile.get("dh_param_size")
    dh = [int(b) for b in props.get("dh_key_sizes", [])]
    if dh and dh_minimum and min(dh) < int(dh_minimum):
        yield "dh_param_size", f"uses {min(dh)}-bit DH parameters (profile: {dh_minimum})", dh
    yield from _certificate_deviations(asset, graph, profile)
    hsts_minimum = profile.get("hsts_min_age")
    hsts = props.get("hsts")
    if props.get("speaks_http") and hsts_minimum:
        age = (hsts or {}).get("max_age") or 0
        if age < int(hsts_minimum):
            yield "hsts_min_age", f"sends HSTS max-age {age if hsts else 'none'} (profile: {hsts_minimum})", age
    if profile.get("ocsp_staple") and props.get("ocsp_stapling") is False:
        yield "ocsp_staple", "does not staple OCSP responses", False
    # the further checks sslyze's Mozilla checker makes
    for name, bad, text in _FLAGS:
        if name in props and props[name] == bad:
            yield name, text, bad
    robot = str(props.get("robot") or "")
    if robot.startswith("VULNERABLE"):
        yield "robot", "is vulnerable to ROBOT", robot


_FLAGS = (
    ("compression", True, "accepts TLS compression"),
    ("heartbleed", True, "is vulnerable to Heartbleed"),
    ("secure_renegotiation", False, "does not support secure renegotiation"),
    ("client_renegotiation_dos", True, "accepts client-initiated renegotiation"),
    ("fallback_scsv", False, "does not support TLS_FALLBACK_SCSV"),
    ("extended_master_secret", False, "does not support the extended master secret extension"),
)
_NOT_PQ = knowledge.TlsGroup("unknown", 0, "ecdhe", 0, None)


def _certificate_deviations(
    asset: Asset, graph: InventoryGraph, profile: Mapping[str, Any]
) -> Iterator[tuple[str, str, Any]]:
    for leaf_id in asset.properties.get("leaf_certificates", []):
        if leaf_id not in graph:
            continue
        leaf = graph.asset(leaf_id).properties
        keys = graph.successors(leaf_id, RelationType.CERTIFIES)
        key = keys[0].properties if keys else {}
        algorithm = str(key.get("algorithm") or "")
        kind = {"RSA": "rsa", "EC": "ecdsa"}.get(algorithm, algorithm.lower())
        if kind and kind not in profile["certificate_types"]:
            yield (
                "certificate_types",
                f"presents a {algorithm} certificate (profile: {', '.join(profile['certificate_types'])})",
                kind,
            )
        curves = {_group(c) for c in profile["certificate_curves"]}
        if kind == "ecdsa" and key.get("curve") and _group(str(key["curve"])) not in curves:
            yield "certificate_curves", f"presents a certificate on {key['curve']}", key["curve"]
        rsa_minimum = profile.get("rsa_key_size")
        if kind == "rsa" and rsa_minimum and int(key.get("key_size") or 0) < int(rsa_minimum):
            yield (
                "rsa_key_size",
                f"presents a {key.get('key_size')}-bit RSA key (profile: {rsa_minimum})",
                key.get("key_size"),
            )
        signature = leaf.get("signature_algorithm")
        if signature and signature not in profile["certificate_signatures"]:
            yield "certificate_signatures", f"presents a certificate signed with {signature}", signature
        lifespan = profile.get("maximum_certificate_lifespan")
        days = leaf.get("validity_days")
        if lifespan and days is not None and int(days) > int(lifespan):
            yield (
                "maximum_certificate_lifespan",
                f"presents a certificate valid for {plural(days, 'day')} (profile: at most {lifespan})",
                days,
            )


@accepts("profile")
def mozilla_profile(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Deviations from one Mozilla profile (``profile`` = "modern", "intermediate" or "old")."""
    if not asset.properties.get("protocols"):
        return  # the suite scans failed: nothing to judge
    data = load_profiles()
    name = str(params.get("profile", "intermediate"))
    profile = data["configurations"][name]
    version = data.get("version")
    for key, text, value in _deviations(asset, graph, profile):
        yield Hit(
            f"{endpoint_name(asset.properties)} {text}: not Mozilla {name} (Server Side TLS {version})",
            {"profile": name, "profile_version": version, "requirement": key, "value": value},
            discriminator=key,
        )

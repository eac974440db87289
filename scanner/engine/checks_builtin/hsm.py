"""Checks on keys held in HSMs and on PKCS#11 tokens: storage, single purpose, cryptoperiods,
key-wrapping strength and the mechanisms a module still offers.

Purposes and cryptoperiods are parameters from the pack (rules/nist-sp800-57.toml), not code.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from scanner.engine.checks import EvalContext, Hit
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset
from scanner.plurals import plural

# SP 800-57 Pt1 5.2: one key, one function. Usage flags grouped by the function they serve.
_DEFAULT_FUNCTIONS: Mapping[str, Sequence[str]] = {
    "signature": ("sign", "verify", "sign_recover", "verify_recover"),
    "encryption": ("encrypt", "decrypt"),
    "key-wrapping": ("wrap", "unwrap"),
    "key-derivation": ("derive",),
}


def _name(props: Mapping[str, Any]) -> str:
    algorithm = props.get("algorithm") or "key"
    size = props.get("curve") or props.get("key_size")
    label = props.get("label")
    text = f"{algorithm}-{size}" if size and not props.get("curve") else f"{algorithm} {size or ''}".strip()
    return f"{text} '{label}'" if label else text


def _place(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in ("label", "pkcs11_id", "token", "token_label") if props.get(k) is not None}


def _holds_secret(props: Mapping[str, Any]) -> bool:
    return bool(props.get("symmetric") or props.get("has_private_key"))


def functions_of(props: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The distinct functions (signature, encryption, ...) a key's usage flags allow."""
    groups: Mapping[str, Sequence[str]] = params.get("functions", _DEFAULT_FUNCTIONS)
    usage = set(props.get("usage") or ())
    return sorted(name for name, flags in groups.items() if usage & set(flags))


def hsm_key_exposed(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A secret or private key in an HSM that may leave it in plaintext, or be read out at all."""
    props = asset.properties
    if not props.get("in_hsm") or not _holds_secret(props):
        return
    problems = []
    if props.get("extractable") is True:
        problems.append("extractable (CKA_EXTRACTABLE true: it can be exported from the token)")
    if props.get("sensitive") is False:
        problems.append("not sensitive (CKA_SENSITIVE false: its value can be read in plaintext)")
    if not problems:
        return
    evidence = {
        **_place(props),
        **{k: props.get(k) for k in ("sensitive", "extractable", "always_sensitive", "never_extractable")},
    }
    yield Hit(f"{_name(props)} in the HSM is {' and '.join(problems)}", evidence)


def key_multiple_functions(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key allowed more than one function (e.g. sign and decrypt, or wrap and encrypt)."""
    props = asset.properties
    functions = functions_of(props, params)
    if len(functions) < 2:
        return
    yield Hit(
        f"{_name(props)} may be used for {', '.join(functions)}; a key should serve one function",
        {**_place(props), "usage": list(props.get("usage") or ()), "functions": functions},
    )


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None  # "unreadable" or junk: never guessed


def key_past_end_date(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key still present after its CKA_END_DATE."""
    props = asset.properties
    end = _day(props.get("end_date"))
    if end is None or end >= context.as_of_date:
        return
    yield Hit(
        f"{_name(props)} passed its end date {end} ({plural((context.as_of_date - end).days, 'day')} before "
        f"{context.as_of_date}) and is still on the token",
        {**_place(props), "end_date": props.get("end_date")},
    )


def cryptoperiod_kind(props: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """SP 800-57 5.3.6 key types of a key, from its functions and whether it is symmetric."""
    functions = functions_of(props, params)
    prefix = "symmetric" if props.get("symmetric") else "private"
    if prefix == "private" and not props.get("has_private_key"):
        return []  # a public key's cryptoperiod follows its private key's
    return [f"{prefix}-{function}" for function in functions]


def key_cryptoperiod_exceeded(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """A key older (by CKA_START_DATE) than the cryptoperiod of its type."""
    props = asset.properties
    start = _day(props.get("start_date"))
    if start is None:
        return
    periods: Mapping[str, int] = params.get("cryptoperiod_days", {})
    applicable = {kind: int(periods[kind]) for kind in cryptoperiod_kind(props, params) if kind in periods}
    if not applicable:
        return
    kind, days = min(applicable.items(), key=lambda item: item[1])
    age = (context.as_of_date - start).days
    if age <= days:
        return
    yield Hit(
        f"{_name(props)} was started on {start}, {plural(age, 'day')} before {context.as_of_date}; "
        f"the cryptoperiod for a {kind.replace('-', ' ')} key is {plural(days, 'day')}",
        {
            **_place(props),
            "start_date": props.get("start_date"),
            "age_days": age,
            "key_type": kind,
            "cryptoperiod_days": days,
            "rotate_by": (start + timedelta(days=days)).isoformat(),
        },
    )


def weak_mechanisms(
    asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext
) -> Iterator[Hit]:
    """Weak mechanisms a PKCS#11 module still offers, one hit per group (DES, MD5, ...)."""
    props = asset.properties
    offered: list[str] = list(props.get("mechanisms") or ())
    functions: Mapping[str, Sequence[str]] = props.get("mechanism_functions") or {}
    for group in params.get("groups", ()):
        patterns = group["mechanisms"]
        only = set(group.get("functions", ()))
        found = [
            name
            for name in offered
            if any(fnmatch.fnmatchcase(name, p) for p in patterns)
            # e.g. CKM_RSA_PKCS counts as v1.5 *encryption* only where it may encrypt or wrap
            and (not only or only & set(functions.get(name, ())))
        ]
        if found:
            yield Hit(
                f"token {props.get('label')!r} offers {group['name']}: {', '.join(found)}",
                {"group": group["name"], "mechanisms": found, "token_serial": props.get("serial")},
                discriminator=str(group["name"]),
            )

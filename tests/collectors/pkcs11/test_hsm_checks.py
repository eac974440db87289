"""The HSM checks with the parameters of rules/nist-sp800-57.toml: pass_ and fail_ samples each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest

from scanner.compat import UTC
from scanner.engine.checks import EvalContext, Hit
from scanner.engine.checks_builtin import hsm
from scanner.engine.rules import discover_packs
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, freeze

AS_OF = EvalContext(as_of=dt.datetime(2026, 11, 1, tzinfo=UTC))


def params(rule_id: str) -> Mapping[str, Any]:
    pack = discover_packs()["nist-sp800-57"]
    return next(rule.params for rule in pack.rules if rule.id == rule_id)


def key(asset_id: str = "key:pkcs11:01:aa", **props: Any) -> Asset:
    return Asset(asset_id, AssetType.KEY, freeze({"in_hsm": True, **props}))


def run(check: Any, asset: Asset, rule_id: str, graph: InventoryGraph | None = None) -> list[Hit]:
    return list(check(asset, graph or InventoryGraph(), params(rule_id), AS_OF))


EXPOSED = "sp800-57.hsm.key-exportable"


@pytest.mark.parametrize(
    "props",
    [
        {"symmetric": True, "sensitive": False, "extractable": False},
        {"symmetric": True, "sensitive": True, "extractable": True},
        {"has_private_key": True, "sensitive": True, "extractable": True},
    ],
)
def test_fail_exposed_hsm_key(props: dict[str, Any]) -> None:
    assert len(run(hsm.hsm_key_exposed, key(**props), EXPOSED)) == 1


@pytest.mark.parametrize(
    "props",
    [
        {"symmetric": True, "sensitive": True, "extractable": False},
        # a public key alone holds nothing secret
        {"has_private_key": False, "sensitive": None, "extractable": None},
        # unknown (refused) flags are not guessed
        {"has_private_key": True, "sensitive": None, "extractable": None},
    ],
)
def test_pass_protected_hsm_key(props: dict[str, Any]) -> None:
    assert run(hsm.hsm_key_exposed, key(**props), EXPOSED) == []


USAGE = "sp800-57.key.single-purpose"


@pytest.mark.parametrize("usage", [["sign", "decrypt"], ["wrap", "encrypt"], ["derive", "sign", "verify"]])
def test_fail_multi_purpose(usage: list[str]) -> None:
    hits = run(hsm.key_multiple_functions, key(usage=usage), USAGE)
    assert len(hits) == 1 and len(hits[0].evidence["functions"]) >= 2


@pytest.mark.parametrize("usage", [["sign", "verify", "sign_recover"], ["wrap", "unwrap"], [], ["encrypt"]])
def test_pass_single_purpose(usage: list[str]) -> None:
    assert run(hsm.key_multiple_functions, key(usage=usage), USAGE) == []


END = "sp800-57.key.past-end-date"


def test_fail_past_end_date() -> None:
    assert len(run(hsm.key_past_end_date, key(end_date="2026-10-31"), END)) == 1


@pytest.mark.parametrize("end", ["2026-11-01", "2030-01-01", "unreadable", None])
def test_pass_end_date(end: str | None) -> None:
    assert run(hsm.key_past_end_date, key(end_date=end), END) == []


PERIOD = "sp800-57.key.cryptoperiod-exceeded"


@pytest.mark.parametrize(
    ("props", "kind", "days"),
    [
        ({"has_private_key": True, "usage": ["sign"], "start_date": "2023-01-01"}, "private-signature", 1095),
        ({"symmetric": True, "usage": ["encrypt", "decrypt"], "start_date": "2024-10-01"}, "symmetric-encryption", 730),
        # several functions: the shortest cryptoperiod applies (master key: about a year)
        ({"symmetric": True, "usage": ["derive", "wrap"], "start_date": "2025-10-01"}, "symmetric-key-derivation", 365),
    ],
)
def test_fail_cryptoperiod(props: dict[str, Any], kind: str, days: int) -> None:
    hits = run(hsm.key_cryptoperiod_exceeded, key(**props), PERIOD)
    assert [(h.evidence["key_type"], h.evidence["cryptoperiod_days"]) for h in hits] == [(kind, days)]


@pytest.mark.parametrize(
    "props",
    [
        {"has_private_key": True, "usage": ["sign"], "start_date": "2024-01-01"},
        {"symmetric": True, "usage": ["encrypt"], "start_date": "unreadable"},
        {"symmetric": True, "usage": ["encrypt"], "start_date": None},
        # a public key's cryptoperiod follows its private key, which this token does not hold
        {"has_private_key": False, "usage": ["verify"], "start_date": "2001-01-01"},
    ],
)
def test_pass_cryptoperiod(props: dict[str, Any]) -> None:
    assert run(hsm.key_cryptoperiod_exceeded, key(**props), PERIOD) == []


MECH = "sp800-57.hsm.weak-mechanisms"


def _token(mechanisms: dict[str, list[str]]) -> Asset:
    return Asset(
        "pkcs11:abc",
        AssetType.HSM_TOKEN,
        freeze({"label": "t", "serial": "abc", "mechanisms": list(mechanisms), "mechanism_functions": mechanisms}),
    )


def test_fail_weak_mechanisms() -> None:
    token = _token(
        {
            "CKM_DES_CBC": ["encrypt", "decrypt"],
            "CKM_DES3_CBC": ["encrypt", "decrypt"],
            "CKM_MD5": ["digest"],
            "CKM_SHA1_RSA_PKCS": ["sign", "verify"],
            "CKM_RSA_PKCS": ["encrypt", "decrypt", "sign", "verify", "wrap", "unwrap"],
            "CKM_AES_GCM": ["encrypt", "decrypt"],
        }
    )
    groups = {h.evidence["group"]: h.evidence["mechanisms"] for h in run(hsm.weak_mechanisms, token, MECH)}
    assert groups == {
        "single DES": ["CKM_DES_CBC"],
        "3DES (TDEA)": ["CKM_DES3_CBC"],
        "MD5": ["CKM_MD5"],
        "SHA-1 signatures": ["CKM_SHA1_RSA_PKCS"],
        "RSA PKCS#1 v1.5 encryption": ["CKM_RSA_PKCS"],
    }


def test_pass_strong_mechanisms_only() -> None:
    token = _token(
        {
            "CKM_AES_GCM": ["encrypt", "decrypt"],
            "CKM_SHA256_RSA_PKCS_PSS": ["sign", "verify"],
            # PKCS#1 v1.5 for signatures only is not v1.5 encryption
            "CKM_RSA_PKCS": ["sign", "verify"],
            "CKM_SHA_1": ["digest"],
        }
    )
    assert run(hsm.weak_mechanisms, token, MECH) == []

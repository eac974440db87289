"""Waivers: accepted risks, marked on findings rather than dropped from the report.

A waivers file (``--waivers FILE``) is TOML::

    [[waivers]]
    rule = "cms.key.quantum-vulnerable"       # a rule id, or "*" for every rule
    asset = "key:spki-sha256:3f1a*"           # an asset id, or a glob over asset ids
    reason = "Legacy HSM, replacement ordered (CHG-1234)"
    owner = "pki-team@example.gov"
    expires = 2027-06-30
    [waivers.where]                           # and/or: asset properties (globs for strings)
    location = "/srv/legacy/*"                # special: any place the asset was seen

A waiver applies to a finding of its rule on a matching asset until (and including) its expiry
date, counted on the scan's as-of date. An expired waiver no longer applies: the finding stays
open and its evidence says which waiver expired. Expired waivers and waivers that match no
finding are returned as notices, for the report.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from scanner import tomlfile
from scanner.engine.checks import parse_day
from scanner.engine.toml_lines import TomlLines
from scanner.inventory.model import Asset, Finding, Waiver, freeze
from scanner.plurals import noun, plural

_FIELDS = {"rule", "asset", "where", "reason", "owner", "expires"}
_REQUIRED = {"rule", "reason", "owner", "expires"}

Matcher = Callable[[Any], bool]


class WaiverError(ValueError):
    """A waivers file that cannot be used; the message names the file and the line."""


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def _matcher(expected: Any) -> Matcher:
    """A string is a glob (compiled once, here); other values compare equal. Lists match any item."""
    if isinstance(expected, str):
        regex = _glob(expected)

        def one(value: Any) -> bool:
            return value is not None and not isinstance(value, bool) and regex.fullmatch(str(value)) is not None

    else:

        def one(value: Any) -> bool:
            return bool(value == expected)

    def match(value: Any) -> bool:
        if isinstance(value, list | tuple | set | frozenset):
            return any(one(v) for v in value)
        return one(value)

    return match


@dataclass(frozen=True, slots=True)
class WaiverRule:
    """One entry of a waivers file, with its patterns compiled."""

    rule: str
    reason: str
    owner: str
    expires: date
    source: str  # "file:line", for notices
    asset: re.Pattern[str] | None = None
    where: tuple[tuple[str, Matcher], ...] = ()

    def waiver(self) -> Waiver:
        return Waiver(rule_id=self.rule, reason=self.reason, owner=self.owner, expires=self.expires.isoformat())

    def active(self, on: date) -> bool:
        return on <= self.expires

    def matches(self, finding: Finding, asset: Asset | None) -> bool:
        if self.rule not in ("*", finding.rule_id):
            return False
        if self.asset is not None and self.asset.fullmatch(finding.asset_id) is None:
            return False
        if not self.where:
            return True
        if asset is None:
            return False
        for key, match in self.where:
            value = [loc.ref for loc in asset.locations] if key == "location" else asset.properties.get(key)
            if not match(value):
                return False
        return True


def load_waivers(path: Path) -> tuple[WaiverRule, ...]:
    text, data = tomlfile.read(path, "waivers file", WaiverError)
    lines = TomlLines(text)

    def fail(message: str, *where: Any) -> WaiverError:
        return WaiverError(f"{path}:{lines.line(*where)}: {message}")

    for key in data:
        if key != "waivers":
            raise fail(f"unknown top-level key {key!r} (expected [[waivers]] tables)", key)
    entries = data.get("waivers", [])
    if not isinstance(entries, list):
        raise fail("'waivers' must be an array of tables ([[waivers]])", "waivers")
    waivers: list[WaiverRule] = []
    for i, raw in enumerate(entries):
        at = ("waivers", i)
        unknown = sorted(set(raw) - _FIELDS)
        if unknown:
            raise fail(f"waiver {i + 1}: unknown field {unknown[0]!r}", *at, unknown[0])
        missing = sorted(_REQUIRED - set(raw))
        if missing:
            raise fail(f"waiver {i + 1}: missing {', '.join(missing)}", *at)
        for key in ("rule", "reason", "owner"):
            if not isinstance(raw[key], str) or not raw[key].strip():
                raise fail(f"waiver {i + 1}: {key!r} must be a non-empty string", *at, key)
        if "asset" not in raw and "where" not in raw:
            raise fail(f"waiver {i + 1}: needs 'asset' (an id or glob) or a 'where' table of properties", *at)
        try:
            expires = parse_day(raw["expires"])
        except ValueError:
            raise fail(f"waiver {i + 1}: expires must be a date (YYYY-MM-DD)", *at, "expires") from None
        where = raw.get("where", {})
        if not isinstance(where, dict) or (not where and "asset" not in raw):
            raise fail(f"waiver {i + 1}: 'where' must be a table of property = pattern", *at, "where")
        asset = raw.get("asset")
        if asset is not None and not isinstance(asset, str):
            raise fail(f"waiver {i + 1}: 'asset' must be a string", *at, "asset")
        waivers.append(
            WaiverRule(
                rule=raw["rule"],
                reason=raw["reason"],
                owner=raw["owner"],
                expires=expires,
                source=f"{path}:{lines.line(*at)}",
                asset=None if asset is None else _glob(asset),
                where=tuple((key, _matcher(value)) for key, value in sorted(where.items())),
            )
        )
    return tuple(waivers)


@dataclass(frozen=True, slots=True)
class WaiverOutcome:
    findings: tuple[Finding, ...]
    # for the report: expired waivers and waivers that matched nothing, each naming its file:line
    notices: tuple[tuple[str, str], ...]


def apply_waivers(
    findings: Sequence[Finding],
    assets: Mapping[str, Asset] | Callable[[str], Asset | None],
    waivers: Sequence[WaiverRule],
    as_of: date,
) -> WaiverOutcome:
    if not waivers:
        return WaiverOutcome(tuple(findings), ())
    lookup = assets if callable(assets) else assets.get
    by_rule: dict[str, list[int]] = {}
    for index, waiver in enumerate(waivers):
        by_rule.setdefault(waiver.rule, []).append(index)
    matched = [0] * len(waivers)
    out: list[Finding] = []
    for finding in findings:
        candidates = sorted(by_rule.get(finding.rule_id, []) + by_rule.get("*", []))
        if not candidates:
            out.append(finding)
            continue
        asset = lookup(finding.asset_id)
        applied: WaiverRule | None = None
        expired: list[WaiverRule] = []
        for index in candidates:
            waiver = waivers[index]
            if not waiver.matches(finding, asset):
                continue
            matched[index] += 1
            if waiver.active(as_of):
                applied = applied or waiver
            else:
                expired.append(waiver)
        if applied is not None:
            finding = dataclasses.replace(finding, waived=applied.waiver())
        elif expired:
            first = expired[0]
            note = f"waiver at {first.source} ({first.owner}: {first.reason}) expired on {first.expires}"
            finding = dataclasses.replace(finding, evidence=freeze({**finding.evidence, "waiver_expired": note}))
        out.append(finding)
    notices: list[tuple[str, str]] = []
    for index, waiver in enumerate(waivers):
        if not waiver.active(as_of):
            notices.append(
                (
                    waiver.source,
                    f"waiver for {waiver.rule} (owner {waiver.owner}) expired on {waiver.expires} and no longer "
                    f"applies; {plural(matched[index], 'finding')} it covered {noun(matched[index], 'is', 'are')} open",
                )
            )
        elif matched[index] == 0:
            notices.append((waiver.source, f"waiver for {waiver.rule} (owner {waiver.owner}) matches no finding"))
    return WaiverOutcome(tuple(out), tuple(notices))

"""Policy packs: TOML files of rules. A pack validates on load; anything unknown fails loudly."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import resources
from scanner.engine.checks import known_checks
from scanner.inventory.model import CATEGORIES, AssetType, RuleInfo, Severity

_PACK_FIELDS = {"name", "version", "title", "description", "default", "documents"}
_RULE_FIELDS = {
    "id",
    "title",
    "category",
    "severity",
    "applies_to",
    "check",
    "params",
    "rationale",
    "remediation",
    "references",
    "deadline",
}
_REQUIRED_RULE_FIELDS = {
    "id",
    "title",
    "category",
    "severity",
    "applies_to",
    "check",
    "remediation",
    "references",
}
_ASSET_TYPES = {t.value for t in AssetType}


class PackError(ValueError):
    """A pack that cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    category: str
    severity: Severity
    applies_to: tuple[AssetType, ...]
    check: str
    pack: str
    remediation: str
    references: tuple[str, ...]
    rationale: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    deadline: str | None = None

    def info(self) -> RuleInfo:
        return RuleInfo(
            id=self.id,
            title=self.title,
            category=self.category,
            severity=self.severity,
            pack=self.pack,
            rationale=self.rationale,
            remediation=self.remediation,
            references=self.references,
        )


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    version: str
    title: str
    default: bool
    documents: tuple[str, ...]
    rules: tuple[Rule, ...]
    path: Path


def _line_of(text: str, needle: str) -> int:
    match = re.search(re.escape(needle), text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def load_pack(path: Path, checks: Iterable[str] | None = None) -> Pack:
    text = path.read_text("utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{path}: not valid TOML: {exc}") from None
    known = set(known_checks() if checks is None else checks)

    def fail(message: str, near: str) -> PackError:
        return PackError(f"{path}:{_line_of(text, near)}: {message}")

    meta = data.get("pack")
    if not isinstance(meta, dict):
        raise fail("missing [pack] table", "[pack]")
    for key in meta:
        if key not in _PACK_FIELDS:
            raise fail(f"unknown pack field {key!r}", key)
    for key in ("name", "version", "title"):
        if not isinstance(meta.get(key), str):
            raise fail(f"[pack] needs a string {key!r}", "[pack]")
    for key in data:
        if key not in ("pack", "rules"):
            raise fail(f"unknown top-level table {key!r}", key)

    name = meta["name"]
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in data.get("rules", []):
        rule_id = raw.get("id", "?")
        near = f'id = "{rule_id}"'
        for key in raw:
            if key not in _RULE_FIELDS:
                raise fail(f"rule {rule_id}: unknown field {key!r}", near)
        missing = _REQUIRED_RULE_FIELDS - raw.keys()
        if missing:
            raise fail(f"rule {rule_id}: missing {', '.join(sorted(missing))}", near)
        if rule_id in seen:
            raise fail(f"rule {rule_id} is defined twice", near)
        seen.add(rule_id)
        if raw["category"] not in CATEGORIES:
            raise fail(f"rule {rule_id}: unknown category {raw['category']!r}", near)
        try:
            severity = Severity(raw["severity"])
        except ValueError:
            raise fail(f"rule {rule_id}: unknown severity {raw['severity']!r}", near) from None
        applies = raw["applies_to"]
        if isinstance(applies, str):
            applies = [applies]
        bad = [t for t in applies if t not in _ASSET_TYPES]
        if bad:
            raise fail(f"rule {rule_id}: unknown asset type(s) {', '.join(bad)}", near)
        if raw["check"] not in known:
            raise fail(f"rule {rule_id}: unknown check {raw['check']!r}", near)
        deadline = raw.get("deadline")
        rules.append(
            Rule(
                id=rule_id,
                title=raw["title"],
                category=raw["category"],
                severity=severity,
                applies_to=tuple(AssetType(t) for t in applies),
                check=raw["check"],
                pack=name,
                remediation=raw["remediation"],
                references=tuple(raw["references"]),
                rationale=raw.get("rationale", ""),
                params=dict(raw.get("params", {})),
                deadline=None if deadline is None else str(deadline),
            )
        )
    return Pack(
        name=name,
        version=meta["version"],
        title=meta["title"],
        default=bool(meta.get("default", False)),
        documents=tuple(meta.get("documents", ())),
        rules=tuple(rules),
        path=path,
    )


def discover_packs(extra_dirs: Sequence[Path] = ()) -> dict[str, Pack]:
    """Built-in packs, then the user's (--rules DIR); a user's pack may replace a built-in one."""
    packs: dict[str, Pack] = {}
    for directory in (resources.rules_dir(), *extra_dirs):
        if not directory.is_dir():
            raise PackError(f"{directory}: rules directory does not exist")
        for path in sorted(directory.glob("*.toml")):
            pack = load_pack(path)
            packs[pack.name] = pack
    return packs


def select_packs(packs: Mapping[str, Pack], names: Sequence[str]) -> list[Pack]:
    if not names:
        return [pack for pack in packs.values() if pack.default]
    unknown = [n for n in names if n not in packs]
    if unknown:
        raise PackError(f"unknown policy {', '.join(unknown)} (known: {', '.join(sorted(packs))})")
    return [packs[n] for n in names]

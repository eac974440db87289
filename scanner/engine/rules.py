"""Policy packs: TOML files of rules and of the requirements they serve.

A pack validates on load, and anything unknown (field, check, check parameter, category,
severity, asset type, a rule id in a requirement mapping) fails with the file and the line.
Mappings are checked across every loaded pack, so a pack may point a requirement at a rule that
another pack defines (a rule id belongs to exactly one pack).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import plugins, resources, tomlfile
from scanner.engine.checks import check_params, known_checks, load_check
from scanner.engine.toml_lines import TomlLines
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
_REQUIRED_RULE_FIELDS = {"id", "title", "category", "severity", "applies_to", "check", "remediation", "references"}
_REQUIREMENT_FIELDS = {"id", "title", "section", "description", "rules"}
_REQUIRED_REQUIREMENT_FIELDS = {"id", "title", "rules"}
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
            applies_to=tuple(t.value for t in self.applies_to),
        )


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement of a pack's documents, and the rules (of any pack) that check it."""

    id: str
    title: str
    rules: tuple[str, ...]
    section: str = ""
    description: str = ""

    def qualified(self, pack: str) -> str:
        return f"{pack}:{self.id}"


@dataclass(frozen=True, slots=True)
class Pack:
    name: str
    version: str
    title: str
    default: bool
    documents: tuple[str, ...]
    rules: tuple[Rule, ...]
    path: Path
    description: str = ""
    requirements: tuple[Requirement, ...] = ()
    # rules of other packs that this pack's requirements name (filled by resolve_mappings)
    mapped_rules: tuple[Rule, ...] = ()

    def all_rules(self) -> tuple[Rule, ...]:
        return self.rules + self.mapped_rules


# -- loading ------------------------------------------------------------------------------------
class _Loader:
    def __init__(self, path: Path, text: str, checks: Iterable[str] | None) -> None:
        self.path = path
        self.source = text
        self.known_checks = set(known_checks() if checks is None else checks)

    @functools.cached_property
    def index(self) -> TomlLines:
        # line numbers only name a problem: found on the first one, not for every pack of every scan
        return TomlLines(self.source)

    def fail(self, message: str, *where: Any) -> PackError:
        return PackError(f"{self.path}:{self.index.line(*where)}: {message}")

    def strings(self, value: Any, what: str, *where: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{what} must be a string or a list of strings", *where)
        return tuple(value)

    def text(self, raw: Mapping[str, Any], key: str, what: str, *where: Any, default: str | None = None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str):
            raise self.fail(f"{what}: {key!r} must be a string", *where, key)
        return value

    def pack(self, data: Mapping[str, Any]) -> Pack:
        for key in data:
            if key not in ("pack", "rules", "requirements"):
                raise self.fail(f"unknown top-level table {key!r}", key)
        meta = data.get("pack")
        if not isinstance(meta, dict):
            raise self.fail("missing [pack] table", "pack")
        for key in meta:
            if key not in _PACK_FIELDS:
                raise self.fail(f"unknown pack field {key!r}", "pack", key)
        for key in ("name", "version", "title"):
            if not isinstance(meta.get(key), str):
                raise self.fail(f"[pack] needs a string {key!r}", "pack", key)
        name: str = meta["name"]
        if not isinstance(data.get("rules", []), list):
            raise self.fail("'rules' must be an array of tables ([[rules]])", "rules")
        rules: list[Rule] = []
        seen: set[str] = set()
        for i, raw in enumerate(data.get("rules", [])):
            rule = self.rule(raw, i, name)
            if rule.id in seen:
                raise self.fail(f"rule {rule.id} is defined twice", "rules", i, "id")
            seen.add(rule.id)
            rules.append(rule)
        requirements: list[Requirement] = []
        req_ids: set[str] = set()
        for i, raw in enumerate(data.get("requirements", [])):
            requirement = self.requirement(raw, i)
            if requirement.id in req_ids:
                raise self.fail(f"requirement {requirement.id} is defined twice", "requirements", i, "id")
            req_ids.add(requirement.id)
            requirements.append(requirement)
        return Pack(
            name=name,
            version=meta["version"],
            title=meta["title"],
            default=bool(meta.get("default", False)),
            documents=self.strings(meta.get("documents", []), "documents", "pack", "documents"),
            rules=tuple(rules),
            path=self.path,
            description=self.text(meta, "description", "[pack]", "pack", default=""),
            requirements=tuple(requirements),
        )

    def rule(self, raw: Any, i: int, pack: str) -> Rule:
        at = ("rules", i)
        if not isinstance(raw, dict):
            raise self.fail("a rule must be a table", *at)
        rule_id = raw.get("id", f"#{i + 1}")
        for key in raw:
            if key not in _RULE_FIELDS:
                raise self.fail(f"rule {rule_id}: unknown field {key!r}", *at, key)
        missing = _REQUIRED_RULE_FIELDS - raw.keys()
        if missing:
            raise self.fail(f"rule {rule_id}: missing {', '.join(sorted(missing))}", *at)
        for key in ("id", "title", "category", "severity", "check", "remediation"):
            self.text(raw, key, f"rule {rule_id}", *at)
        if raw["category"] not in CATEGORIES:
            raise self.fail(f"rule {rule_id}: unknown category {raw['category']!r}", *at, "category")
        try:
            severity = Severity(raw["severity"])
        except ValueError:
            raise self.fail(f"rule {rule_id}: unknown severity {raw['severity']!r}", *at, "severity") from None
        applies = self.strings(raw["applies_to"], f"rule {rule_id}: applies_to", *at, "applies_to")
        bad = [t for t in applies if t not in _ASSET_TYPES]
        if bad:
            raise self.fail(f"rule {rule_id}: unknown asset type(s) {', '.join(bad)}", *at, "applies_to")
        check = raw["check"]
        if check not in self.known_checks:
            raise self.fail(f"rule {rule_id}: unknown check {check!r}", *at, "check")
        params = raw.get("params", {})
        if not isinstance(params, dict):
            raise self.fail(f"rule {rule_id}: params must be a table", *at, "params")
        accepted = self.accepted_params(check)
        if accepted is not None:
            for key in params:
                if key not in accepted:
                    raise self.fail(
                        f"rule {rule_id}: check {check!r} has no parameter {key!r} "
                        f"(it takes: {', '.join(sorted(accepted)) or 'none'})",
                        *at,
                        "params",
                        key,
                    )
        deadline = raw.get("deadline")
        return Rule(
            id=rule_id,
            title=raw["title"],
            category=raw["category"],
            severity=severity,
            applies_to=tuple(AssetType(t) for t in applies),
            check=check,
            pack=pack,
            remediation=raw["remediation"],
            references=self.strings(raw["references"], f"rule {rule_id}: references", *at, "references"),
            rationale=self.text(raw, "rationale", f"rule {rule_id}", *at, default=""),
            params=dict(params),
            deadline=None if deadline is None else str(deadline),
        )

    def accepted_params(self, check: str) -> frozenset[str] | None:
        try:
            return check_params(load_check(check))
        except plugins.PluginError:
            return None  # a check named in `checks=` for a test, or a broken plugin (reported at scan)

    def requirement(self, raw: Any, i: int) -> Requirement:
        at = ("requirements", i)
        if not isinstance(raw, dict):
            raise self.fail("a requirement must be a table", *at)
        req_id = raw.get("id", f"#{i + 1}")
        for key in raw:
            if key not in _REQUIREMENT_FIELDS:
                raise self.fail(f"requirement {req_id}: unknown field {key!r}", *at, key)
        missing = _REQUIRED_REQUIREMENT_FIELDS - raw.keys()
        if missing:
            raise self.fail(f"requirement {req_id}: missing {', '.join(sorted(missing))}", *at)
        return Requirement(
            id=self.text(raw, "id", "requirement", *at),
            title=self.text(raw, "title", f"requirement {req_id}", *at),
            rules=self.strings(raw["rules"], f"requirement {req_id}: rules", *at, "rules"),
            section=self.text(raw, "section", f"requirement {req_id}", *at, default=""),
            description=self.text(raw, "description", f"requirement {req_id}", *at, default=""),
        )


def load_pack(path: Path, checks: Iterable[str] | None = None) -> Pack:
    """One pack file, validated on its own (mappings to other packs are checked by resolve_mappings)."""
    text, data = tomlfile.read(path, "policy pack", PackError)
    return _Loader(path, text, checks).pack(data)


def resolve_mappings(packs: Mapping[str, Pack]) -> dict[str, Pack]:
    """Check that rule ids are unique across packs and that every mapped rule exists.

    Returns the packs with ``mapped_rules`` filled in: the rules of other packs that each pack's
    requirements name, so that selecting a pack runs every rule it maps.
    """
    owner: dict[str, Pack] = {}
    for pack in packs.values():
        for rule in pack.rules:
            other = owner.get(rule.id)
            if other is not None:
                line = TomlLines(pack.path.read_text("utf-8")).line_of_text(f'"{rule.id}"')
                raise PackError(
                    f"{pack.path}:{line}: rule {rule.id} is already defined by pack {other.name} ({other.path}); "
                    "a rule belongs to one pack: map it from a requirement instead"
                )
            owner[rule.id] = pack
    resolved: dict[str, Pack] = {}
    for name, pack in packs.items():
        own = {rule.id for rule in pack.rules}
        mapped: dict[str, Rule] = {}
        index: TomlLines | None = None
        for i, requirement in enumerate(pack.requirements):
            for rule_id in requirement.rules:
                if rule_id in own:
                    continue
                source = owner.get(rule_id)
                if source is None:
                    index = index or TomlLines(pack.path.read_text("utf-8"))
                    line = index.line_of_text(f'"{rule_id}"', "requirements", i)
                    raise PackError(f"{pack.path}:{line}: requirement {requirement.id} maps unknown rule {rule_id!r}")
                mapped.setdefault(rule_id, next(r for r in source.rules if r.id == rule_id))
        resolved[name] = dataclasses.replace(pack, mapped_rules=tuple(mapped.values()))
    return resolved


def discover_packs(extra_dirs: Sequence[Path] = ()) -> dict[str, Pack]:
    """Built-in packs, then the user's (--rules DIR); a user's pack may replace a built-in one."""
    packs: dict[str, Pack] = {}
    for directory in (resources.rules_dir(), *extra_dirs):
        if not directory.is_dir():
            raise PackError(f"{directory}: rules directory does not exist")
        for path in sorted(directory.glob("*.toml")):
            pack = load_pack(path)
            packs[pack.name] = pack
    return resolve_mappings(packs)


def select_packs(packs: Mapping[str, Pack], names: Sequence[str]) -> list[Pack]:
    if not names:
        return [pack for pack in packs.values() if pack.default]
    unknown = [n for n in names if n not in packs]
    if unknown:
        close = [m for n in unknown for m in difflib.get_close_matches(n, list(packs), n=1)]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PackError(f"unknown policy {', '.join(unknown)}{hint} (known: {', '.join(sorted(packs))})")
    return [packs[n] for n in dict.fromkeys(names)]

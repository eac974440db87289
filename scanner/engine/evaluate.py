"""The rule engine: every rule's check on every asset it applies to, against an as-of date.

The selected packs decide which rules run: each pack's own rules, and the rules of other packs
that its requirements map. Every finding names the selected packs that define or map its rule
(``policies``) and the requirements it fails (``requirements``, as ``pack:requirement-id``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from scanner.engine.checks import Check, EvalContext, Hit, Run, fast_prepare, load_check
from scanner.engine.rules import Pack, Rule
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Finding,
    FrozenProperties,
    RequirementInfo,
    Severity,
)
from scanner.plugins import PluginError


@dataclass(frozen=True, slots=True)
class Evaluation:
    findings: tuple[Finding, ...]
    # a check that crashed on an asset: reported, never fatal for the other rules
    errors: tuple[CollectionError, ...]


class RuleEngine:
    def __init__(self, packs: Sequence[Pack], *, fast: bool = True) -> None:
        # fast=False calls every check itself on every asset (no fast forms): the same findings,
        # slower; for benchmarks and for telling a fast form's fault from a check's
        self._fast = fast
        # a rule shared by several selected packs runs once and names every pack
        self._rules: dict[str, Rule] = {}
        self._policies: dict[str, list[str]] = {}
        self._requirements: dict[str, list[str]] = {}
        self._requirement_infos: list[RequirementInfo] = []
        for pack in packs:
            own = {rule.id for rule in pack.rules}
            for rule in pack.all_rules():
                self._rules.setdefault(rule.id, rule)
                _append(self._policies, rule.id, pack.name)
            for requirement in pack.requirements:
                checked = [r for r in requirement.rules if r in own or r in self._rules]
                for rule_id in checked:
                    _append(self._requirements, rule_id, requirement.qualified(pack.name))
                self._requirement_infos.append(
                    RequirementInfo(
                        id=requirement.qualified(pack.name),
                        pack=pack.name,
                        title=requirement.title,
                        section=requirement.section,
                        rules=tuple(checked),
                    )
                )

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    @property
    def requirements(self) -> tuple[RequirementInfo, ...]:
        """Every requirement of the selected packs, with the evaluated rules that check it."""
        return tuple(self._requirement_infos)

    def requirements_of(self, rule_id: str) -> tuple[str, ...]:
        return tuple(self._requirements.get(rule_id, ()))

    def evaluate(self, graph: InventoryGraph, context: EvalContext) -> Evaluation:
        findings: list[Finding] = []
        errors: list[CollectionError] = []
        # each asset type's assets listed once (in graph order), when a rule first needs them
        by_type: dict[AssetType, list[Asset]] = {}
        # severity ranks read once: Severity.rank is an enum property, slow in a loop of 20,000 findings
        rank = {severity: severity.rank for severity in Severity}
        for rule in self._rules.values():
            try:
                check: Check = load_check(rule.check)
            except PluginError as exc:
                errors.append(CollectionError(rule.id, "engine", f"rule {rule.id} not evaluated: {exc}"))
                continue
            assets: list[Asset] = []
            for asset_type in rule.applies_to:
                if asset_type not in by_type:
                    by_type[asset_type] = list(graph.assets(asset_type))
                assets += by_type[asset_type]
            if not assets:
                continue
            run = _fast_run(check, graph, rule, context) if self._fast else None
            emit = _emitter(rule, tuple(self._policies[rule.id]), self.requirements_of(rule.id), rank)
            if run is None:
                for asset in assets:
                    for hit in _checked(check, asset, graph, rule, context, errors):
                        findings.append(emit(hit, asset))
                continue
            for asset in assets:
                try:
                    hits = run(asset)
                    # a fast form's tuple is used as it is; anything else is read to the end here,
                    # so that a failure half-way reports the asset and keeps none of its hits
                    if type(hits) is not tuple:
                        hits = tuple(hits)
                except Exception:
                    # the reference check decides, and words any error as it always has
                    hits = _checked(check, asset, graph, rule, context, errors)
                if hits:
                    for hit in hits:
                        findings.append(emit(hit, asset))
        return Evaluation(_in_report_order(findings, rank), tuple(errors))


def _checked(
    check: Check, asset: Asset, graph: InventoryGraph, rule: Rule, context: EvalContext, errors: list[CollectionError]
) -> Sequence[Hit]:
    """The check's own hits on the asset; a check that raises is reported and gives none."""
    try:
        return list(check(asset, graph, rule.params, context))
    except Exception as exc:
        errors.append(CollectionError(asset.id, "engine", f"rule {rule.id} failed: {type(exc).__name__}: {exc}"))
        return ()


def _in_report_order(findings: list[Finding], rank: dict[Severity, int]) -> tuple[Finding, ...]:
    """Most severe first, then by rule, asset and id; equal keys keep the order they were found in.

    The same order as one sort on (-rank, rule, asset, id), in two cheaper steps: a sort whose key
    is built in C (attrgetter), then a stable split by severity.
    """
    findings.sort(key=attrgetter("rule_id", "asset_id", "id"))
    by_rank: dict[int, list[Finding]] = {}
    for finding in findings:
        by_rank.setdefault(rank[finding.severity], []).append(finding)
    return tuple(finding for level in sorted(by_rank, reverse=True) for finding in by_rank[level])


def _fast_run(check: Check, graph: InventoryGraph, rule: Rule, context: EvalContext) -> Run | None:
    """The check's fast form for this rule and evaluation, or None to call the check itself.

    A fast form that cannot be prepared (say, a malformed parameter) leaves every asset to the
    reference check, so that errors are reported per asset and worded exactly as before.
    """
    prepare = fast_prepare(check)
    if prepare is None:
        return None
    try:
        return prepare(graph, rule.params, context)
    except Exception:
        return None


def _emitter(
    rule: Rule, policies: tuple[str, ...], requirements: tuple[str, ...], rank: dict[Severity, int]
) -> Callable[[Hit, Asset], Finding]:
    """Turns one rule's hits into findings; what is the same for every finding of the rule is read once
    (a closure: its constants are local cells, cheaper to read than attributes, 20,000 times a scan)."""
    rule_id, title, category, references = rule.id, rule.title, rule.category, rule.references
    remediation, rule_severity, rule_deadline = rule.remediation, rule.severity, rule.deadline
    low, make_id, frozen = rank[Severity.LOW], Finding.make_id, FrozenProperties

    def emit(hit: Hit, asset: Asset) -> Finding:
        severity = hit.severity or rule_severity
        if rank[severity] > low:
            why = asset.properties.get("reference_copy")
            if why:
                hit, severity = _lowered(hit, "reference_copy", why, severity), Severity.LOW
            elif inactive := hit.evidence.get("inactive"):
                why = inactive if isinstance(inactive, str) else _INACTIVE
                hit, severity = _lowered(hit, "not_in_effect", why, severity), Severity.LOW
        asset_id, evidence = asset.id, hit.evidence
        # freeze() inlined; the fields positional, in Finding's order (keywords cost ~25% more)
        return Finding(
            make_id(rule_id, asset_id, hit.discriminator),
            rule_id,
            title,
            severity,
            category,
            asset_id,
            hit.message,
            evidence if type(evidence) is frozen else frozen(evidence),
            references,
            policies,
            remediation,
            None,  # waived: decided after the rules
            hit.deadline or rule_deadline,
            requirements,
        )

    return emit


# a setting in a site or module the server does not include (Debian's mods-available/ssl.conf)
_INACTIVE = "in a file the server does not include (a site or module not enabled): in effect once enabled"


def _lowered(hit: Hit, key: str, why: Any, severity: Severity) -> Hit:
    """A finding on what does not act on this host is low, with the reason and the rule's severity.

    A reference copy of CA roots (see scanner.inventory.trust: testssl.sh's Microsoft store, an
    example key in /usr/share/doc) secures nothing here, and a module not enabled runs nothing;
    the same root in a real trust store, or the same setting in an enabled site, stays high.
    """
    return replace(
        hit,
        message=f"{hit.message} [{why}]",
        evidence={**hit.evidence, key: why, "rule_severity": severity.value},
        severity=Severity.LOW,
    )


def _append(index: dict[str, list[str]], key: str, value: str) -> None:
    values = index.setdefault(key, [])
    if value not in values:
        values.append(value)

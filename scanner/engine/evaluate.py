"""The rule engine: every rule's check on every asset it applies to, against an as-of date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scanner.engine.checks import Check, EvalContext, load_check
from scanner.engine.rules import Pack, Rule
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import CollectionError, Finding, freeze


@dataclass(frozen=True, slots=True)
class Evaluation:
    findings: tuple[Finding, ...]
    # a check that crashed on an asset: reported, never fatal for the other rules
    errors: tuple[CollectionError, ...]


class RuleEngine:
    def __init__(self, packs: Sequence[Pack]) -> None:
        # a rule shared by several selected packs runs once and names every pack
        self._rules: dict[str, Rule] = {}
        self._policies: dict[str, list[str]] = {}
        for pack in packs:
            for rule in pack.rules:
                self._rules.setdefault(rule.id, rule)
                self._policies.setdefault(rule.id, []).append(pack.name)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    def evaluate(self, graph: InventoryGraph, context: EvalContext) -> Evaluation:
        findings: list[Finding] = []
        errors: list[CollectionError] = []
        for rule in self._rules.values():
            check: Check = load_check(rule.check)
            policies = tuple(self._policies[rule.id])
            for asset_type in rule.applies_to:
                for asset in graph.assets(asset_type):
                    try:
                        hits = list(check(asset, graph, rule.params, context))
                    except Exception as exc:
                        errors.append(
                            CollectionError(asset.id, "engine", f"rule {rule.id} failed: {type(exc).__name__}: {exc}")
                        )
                        continue
                    for hit in hits:
                        findings.append(
                            Finding(
                                id=Finding.make_id(rule.id, asset.id, hit.discriminator),
                                rule_id=rule.id,
                                title=rule.title,
                                severity=hit.severity or rule.severity,
                                category=rule.category,
                                asset_id=asset.id,
                                message=hit.message,
                                evidence=freeze(hit.evidence),
                                references=rule.references,
                                policies=policies,
                                remediation=rule.remediation,
                                deadline=hit.deadline or rule.deadline,
                            )
                        )
        findings.sort(key=lambda f: (-f.severity.rank, f.rule_id, f.asset_id))
        return Evaluation(tuple(findings), tuple(errors))

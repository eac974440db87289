"""The check extension point: small typed functions that rules name.

A check is ``check(asset, graph, params, context) -> Iterable[Hit]``. It sees one asset (and the
whole graph, for graph rules), the rule's parameters from its pack, and the as-of date. It
returns a Hit per problem; the engine turns hits into findings with the rule's metadata.
Checks are registered in the entry-point group ``keysweep.checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from scanner import plugins
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, Severity


@dataclass(frozen=True, slots=True)
class EvalContext:
    as_of: datetime  # timezone-aware UTC

    @property
    def as_of_date(self) -> date:
        return self.as_of.date()


@dataclass(frozen=True, slots=True)
class Hit:
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    # a check may raise or lower the rule's severity (e.g. by the as-of date) and set a deadline
    severity: Severity | None = None
    deadline: str | None = None
    # tells apart several hits of one rule on one asset (e.g. the cipher suite), for stable ids
    discriminator: str = ""


Check = Callable[[Asset, InventoryGraph, Mapping[str, Any], EvalContext], Iterable[Hit]]


def load_check(name: str) -> Check:
    check: Check = plugins.load(plugins.CHECKS, name)
    return check


def known_checks() -> list[str]:
    return plugins.names(plugins.CHECKS)


def parse_day(value: Any) -> date:
    """Pack dates are TOML dates or ISO strings."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))

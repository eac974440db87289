"""The check extension point: small typed functions that rules name.

A check is ``check(asset, graph, params, context) -> Iterable[Hit]``. It sees one asset (and the
whole graph, for graph rules), the rule's parameters from its pack, and the as-of date. It
returns a Hit per problem; the engine turns hits into findings with the rule's metadata.
Checks are registered in the entry-point group ``keysweep.checks``.

A check run on tens of thousands of assets may also carry a fast form (``@fast_form``): a factory
called once per rule and evaluation that returns a function of the asset alone, with what does
not depend on the asset (parsed parameters, the as-of instant, graph-wide facts) computed once.
The check itself stays the reference: the engine falls back to it wherever the fast form raises,
and tests hold the fast form to the same hits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from scanner import plugins
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, Severity


@dataclass(frozen=True, slots=True)
class EvalContext:
    as_of: datetime  # timezone-aware UTC
    # per-evaluation memo for graph checks: a fact about the whole graph (e.g. the set of trusted
    # anchors) is computed once, not once per asset; a new EvalContext starts empty
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def as_of_date(self) -> date:
        return self.as_of.date()

    def once(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self.memo:
            self.memo[key] = compute()
        result: T = self.memo[key]
        return result


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
# a check's fast form: prepare(graph, params, context) -> run(asset), see fast_form
Run = Callable[[Asset], Iterable[Hit]]
Prepare = Callable[[InventoryGraph, Mapping[str, Any], EvalContext], Run]
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_PARAMS_ATTRIBUTE = "keysweep_params"
_FAST_ATTRIBUTE = "keysweep_fast"


def accepts(*names: str) -> Callable[[F], F]:
    """Declare the parameters a check takes, so that a pack naming another one fails on load."""

    def mark(check: F) -> F:
        setattr(check, _PARAMS_ATTRIBUTE, frozenset(names))
        return check

    return mark


def check_params(check: Check) -> frozenset[str] | None:
    """The parameters a check declared with @accepts, or None if it did not declare them."""
    declared = getattr(check, _PARAMS_ATTRIBUTE, None)
    return declared if isinstance(declared, frozenset) else None


def fast_form(prepare: Prepare) -> Callable[[F], F]:
    """Attach a fast form to a check: ``prepare(graph, params, context)`` returns ``run(asset)``,
    which must give the same hits as ``check(asset, graph, params, context)`` for every asset.

    It exists for speed alone (a night's scan calls a certificate check once per certificate,
    tens of thousands of times): parameters parsed and messages' fixed parts built once per rule,
    and ``run`` may return a tuple instead of creating a generator per asset.
    """

    def mark(check: F) -> F:
        setattr(check, _FAST_ATTRIBUTE, prepare)
        return check

    return mark


def fast_prepare(check: Check) -> Prepare | None:
    """The fast form a check declared with @fast_form, or None."""
    prepare = getattr(check, _FAST_ATTRIBUTE, None)
    return prepare if callable(prepare) else None


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


def scheduled_severity(params: Mapping[str, Any], context: EvalContext) -> tuple[Severity | None, str | None]:
    """The severity a dated rule has on the as-of date, and its next deadline.

    ``schedule = [{after = 2026-12-31, severity = "medium"}, {after = 2031-12-31, severity = "high"}]``:
    each step applies once the as-of date is past its ``after`` date; before the first step the
    rule's own severity applies. The deadline is the first step not yet reached (or the last one).
    """
    severity: Severity | None = None
    deadline: str | None = None
    for step in sorted(params.get("schedule", []), key=lambda s: parse_day(s["after"])):
        after = parse_day(step["after"])
        if context.as_of_date > after:
            severity = Severity(step["severity"])
            deadline = after.isoformat()
        else:
            return severity, after.isoformat()
    return severity, deadline

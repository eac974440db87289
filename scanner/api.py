"""The public Python API: a scan in one call, its result, and reading reports back.

Stable names (also importable as ``import keysweep``): :func:`scan`, :class:`ScanResult`,
:func:`load_report`, :class:`KeysweepError`. Everything else in the ``scanner`` package is internal
and may change between releases. See docs/api.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.rules import PackError, discover_packs, select_packs
from scanner.engine.waivers import WaiverError, load_waivers
from scanner.inventory.model import Asset, CollectionError, Finding, Relation, ScanMetadata
from scanner.inventory.model import ScanResult as _Result
from scanner.reporting.base import ReporterError, load_reporter, write_report
from scanner.reporting.json_report import report_dict
from scanner.secrets import Secret
from scanner.targets import TargetError, expand

__all__ = ["KeysweepError", "ScanResult", "load_report", "scan"]


class KeysweepError(ValueError):
    """Unusable input to the API (an unknown policy, a bad target, an unreadable report)."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one scan found. ``findings``, ``assets``, ``relations`` and ``errors`` are the same
    frozen values the reporters see; ``to_dict``/``to_json`` give the JSON report (schema "1")."""

    result: _Result

    @property
    def metadata(self) -> ScanMetadata:
        return self.result.metadata

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.result.findings

    @property
    def assets(self) -> tuple[Asset, ...]:
        return self.result.assets

    @property
    def relations(self) -> tuple[Relation, ...]:
        return self.result.relations

    @property
    def errors(self) -> tuple[CollectionError, ...]:
        return self.result.errors

    def to_dict(self) -> dict[str, Any]:
        dumped: dict[str, Any] = json.loads(self.to_json())
        return dumped

    def to_json(self) -> str:
        return json.dumps(report_dict(self.result), ensure_ascii=False, default=str)

    def render(self, format: str) -> bytes:
        """The report in any installed format (``json``, ``html``, ``cbom``, ``sarif``, ``csv``, ``jsonl``,
        ``table``, or a plugin's)."""
        try:
            return load_reporter(format).render(self.result)
        except ReporterError as exc:
            raise KeysweepError(str(exc)) from None

    def write(self, path: str | os.PathLike[str], format: str = "json") -> None:
        """Write the report as the CLI does (atomically; devices, pipes and symlinks written through)."""
        try:
            reporter = load_reporter(format)
        except ReporterError as exc:
            raise KeysweepError(str(exc)) from None
        write_report(reporter, self.result, os.fspath(path))


def scan(
    paths: Iterable[str | os.PathLike[str]] = (),
    tls: Iterable[str] = (),
    pkcs11: Iterable[str | os.PathLike[str]] = (),
    *,
    policies: Sequence[str] = (),
    rules_dirs: Iterable[str | os.PathLike[str]] = (),
    waivers: str | os.PathLike[str] | None = None,
    as_of: date | datetime | None = None,
    timeout: float = 10.0,
    concurrency: int = 10,
    passwords: Iterable[str | bytes] = (),
    pkcs11_pin: str | bytes | None = None,
    pkcs11_token: str | None = None,
) -> ScanResult:
    """Scan files and directories, TLS endpoints (``host[:port]``, CIDR allowed) and PKCS#11
    modules, apply the policy packs (default: the default packs) as on ``as_of`` (default: now).

    Per-target problems are in ``ScanResult.errors``, as in the CLI; unusable arguments raise
    :class:`KeysweepError`.
    """
    from scanner.scan import ScanRequest, run_scan

    targets = [Target("path", str(Path(p).absolute())) for p in paths]
    try:
        targets += [Target("tls", endpoint) for endpoint in expand(list(tls))]
        packs = select_packs(discover_packs([Path(d) for d in rules_dirs]), policies)
        waiver_rules = load_waivers(Path(waivers)) if waivers is not None else ()
    except (TargetError, PackError, WaiverError) as exc:
        raise KeysweepError(str(exc)) from None
    targets += [Target("pkcs11", str(Path(m).absolute())) for m in pkcs11]
    if not targets:
        raise KeysweepError("nothing to scan: give paths, tls or pkcs11")
    options: dict[str, Any] = {"concurrency": concurrency}
    if any(t.kind == "pkcs11" for t in targets):
        options.update(
            pkcs11_pin=_secret(pkcs11_pin) if pkcs11_pin is not None else None,
            pkcs11_pin_source="the pkcs11_pin argument",
            pkcs11_token=pkcs11_token,
        )
    request = ScanRequest(
        targets=tuple(targets),
        packs=tuple(packs),
        as_of=_moment(as_of),
        timeout=timeout,
        passwords=tuple(_secret(p) for p in passwords),
        options=options,
        waivers=waiver_rules,
    )
    return ScanResult(run_scan(request))


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A keysweep JSON report file, parsed (the ``schema_version`` "1" layout of docs/reports.md)."""
    try:
        report = json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise KeysweepError(f"cannot read report {path}: {exc}") from None
    if not isinstance(report, dict) or "findings" not in report or "assets" not in report:
        raise KeysweepError(f"{path} is not a keysweep JSON report")
    return report


def _secret(value: str | bytes) -> Secret:
    return Secret(value.encode() if isinstance(value, str) else value)


def _moment(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

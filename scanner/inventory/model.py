"""The values that flow between stages: collectors -> graph -> engine -> reporters.

Names and fields follow DESIGN.md; they are a public contract (JSON report, CBOM, SARIF).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scanner.compat import UTC, StrEnum

if TYPE_CHECKING:  # systems.py builds on this module; the types are only named here
    from scanner.inventory.systems import Assignment, SystemsConfig


class AssetType(StrEnum):
    CERTIFICATE = "certificate"
    KEY = "key"
    TLS_ENDPOINT = "tls-endpoint"
    SSH_ENDPOINT = "ssh-endpoint"
    HSM_TOKEN = "hsm-token"
    FILE = "file"
    CONFIG = "config"
    TRUST_STORE = "trust-store"
    SECRET = "secret"


class RelationType(StrEnum):
    PRESENTS = "presents"  # endpoint -> certificate (TLS) or host key (SSH)
    CERTIFIES = "certifies"  # certificate -> the key it binds
    ISSUED_BY = "issued-by"  # certificate -> issuer certificate
    STORED_IN = "stored-in"  # key / certificate / secret -> file, token or trust store
    REFERENCES = "references"  # config -> file
    CONFIGURES = "configures"  # config -> endpoint
    TRUSTS = "trusts"  # trust store -> certificate
    WRAPS = "wraps"  # key -> key


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}

CATEGORIES = frozenset(
    {
        "key-size",
        "algorithm",
        "protocol",
        "certificate-validity",
        "rotation",
        "pqc",
        "fips",
        "key-storage",
        "key-usage",
        "trust",
        "revocation",
        "secret-exposure",
        "configuration",
    }
)


def iso_time(moment: datetime) -> str:
    """Report timestamps: UTC, whole seconds, 'Z' (isoformat is several times faster than strftime)."""
    text = moment.isoformat()
    if len(text) == 25 and text.endswith("+00:00"):
        return text[:19] + "Z"  # UTC with whole seconds already (cryptography's validity bounds)
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


class FrozenProperties(dict[str, Any]):
    """A read-only dict: frozen dataclasses holding it stay frozen in practice, and unlike a
    MappingProxyType it pickles and serialises to JSON as it is."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("asset properties are read-only; build a new Asset instead")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenProperties, (dict(self),))


def freeze(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    if type(properties) is FrozenProperties:
        return properties
    return FrozenProperties(properties)


@dataclass(frozen=True, slots=True)
class Location:
    """Where an asset was seen: a file (with block/alias detail), a token, an endpoint."""

    kind: str  # "file", "pkcs11", "tls", "trust-store", "config", "keystore"
    ref: str  # absolute path, token id or endpoint id
    detail: str = ""  # e.g. "PEM block 2", "alias 'server'", "line 14"
    # the scope (host or zone) whose scan saw it; set where scans of several scopes merge (fleet view)
    scope: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "ref": self.ref}
        if self.detail:
            out["detail"] = self.detail
        if self.scope:
            out["scope"] = self.scope
        return out


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    type: AssetType
    properties: Mapping[str, Any] = field(default_factory=lambda: freeze({}))
    locations: tuple[Location, ...] = ()


@dataclass(frozen=True, slots=True)
class Relation:
    source: str
    target: str
    type: RelationType


@dataclass(frozen=True, slots=True)
class CollectionError:
    """A per-target failure, kept as a value: the scan goes on and the report lists it."""

    target: str
    collector: str
    message: str


@dataclass(frozen=True, slots=True)
class SweepCounts:
    """What a file sweep did with the files it met: examined = recognised + skipped + failed.

    recognised: the file is an asset location (maybe with errors beside); skipped: not
    cryptographic (no handler knows it, or a handler found nothing in it); failed: only errors.
    """

    examined: int = 0
    recognised: int = 0
    skipped: int = 0
    failed: int = 0

    def __add__(self, other: SweepCounts) -> SweepCounts:
        return SweepCounts(
            self.examined + other.examined,
            self.recognised + other.recognised,
            self.skipped + other.skipped,
            self.failed + other.failed,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "examined": self.examined,
            "recognised": self.recognised,
            "skipped": self.skipped,
            "failed": self.failed,
        }


Observation = Asset | Relation | CollectionError | SweepCounts


@dataclass(frozen=True, slots=True)
class Waiver:
    rule_id: str
    reason: str
    owner: str
    expires: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule_id: str
    title: str
    severity: Severity
    category: str
    asset_id: str
    message: str
    evidence: Mapping[str, Any]
    references: tuple[str, ...]
    policies: tuple[str, ...]
    remediation: str
    waived: Waiver | None = None
    deadline: str | None = None
    requirements: tuple[str, ...] = ()

    @staticmethod
    def make_id(rule_id: str, asset_id: str, discriminator: str = "") -> str:
        # stable across scans so that history and diff can match findings
        text = f"{rule_id}\x00{asset_id}\x00{discriminator}" if discriminator else f"{rule_id}\x00{asset_id}"
        # surrogatepass: an asset id may hold a non-UTF-8 file name (surrogate escapes, PEP 383);
        # ids of valid text are unchanged
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ScanMetadata:
    id: str
    started_at: datetime
    finished_at: datetime
    as_of: datetime
    operator: str
    host: str
    policies: tuple[str, ...]
    targets: tuple[str, ...]
    # evaluated as of another day than the scan's: a projection, never a real state of the estate
    projection: bool = False
    # what the scan is the state of: the host name by default, or a zone or system (--scope)
    scope: str = ""


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a reporter needs to know of a rule (SARIF rule list, HTML help)."""

    id: str
    title: str
    category: str
    severity: Severity
    pack: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    applies_to: tuple[str, ...] = ()  # asset types the rule evaluates


@dataclass(frozen=True, slots=True)
class RequirementInfo:
    """One requirement of a selected pack, for the per-requirement compliance view."""

    id: str  # qualified: "pack:requirement-id"
    pack: str
    title: str
    section: str
    rules: tuple[str, ...]  # the evaluated rules that check it


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One earlier scan of the same targets, as the history store remembers it (for trend charts)."""

    scan_id: str
    finished_at: datetime
    readiness: int | None  # None: that scan was not assessed
    assets: int
    open_findings: int
    by_severity: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    """A scope's current state in a fleet view: its latest scan (left out of the graph when stale)."""

    scope: str
    scan_id: str
    host: str
    finished_at: str
    assets: int
    findings: int
    open_findings: int
    readiness: int | None  # None: that scan was not assessed
    stale: bool


@dataclass(frozen=True, slots=True)
class ScanResult:
    metadata: ScanMetadata
    assets: tuple[Asset, ...]
    relations: tuple[Relation, ...]
    findings: tuple[Finding, ...]
    errors: tuple[CollectionError, ...]
    rules: tuple[RuleInfo, ...] = ()
    # earlier scans of the same targets, oldest first; filled from the history store after the
    # scan (dataclasses.replace), empty when there is no store. Not part of the JSON report.
    history: tuple[TrendPoint, ...] = ()
    # what the file sweep examined, recognised, skipped and failed (all zero without --path)
    sweep: SweepCounts = field(default_factory=SweepCounts)
    requirements: tuple[RequirementInfo, ...] = ()
    # the systems file in force (None: no systems declared) and each asset's systems and attested facts
    systems: SystemsConfig | None = None
    membership: Assignment | None = None
    # a fleet report's scopes (`keysweep fleet report`); empty for the scan of one scope
    scopes: tuple[ScopeSummary, ...] = ()

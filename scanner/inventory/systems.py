"""Systems as data: ``systems.toml`` declares what an organisation owns and reports on.

A system has an owner, a FIPS 199 impact, a high-value-asset flag, how long its data must stay
confidential, and selectors that assign assets to it (host name globs, path globs, endpoints as
host or CIDR plus port, token serials or labels, scan targets). An asset may belong to several
systems; assets that no system selects are "unassigned". Facts that no scan can see (a vendor
appliance that cannot migrate, firmware that verifies signatures, data categories) are *attested*:
written in the file for a system or for individual assets, and exported marked as such.

Unknown tables or keys and wrong types fail loudly, naming the file and the entry.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner import tomlfile
from scanner.inventory.model import Asset, AssetType, Relation, RelationType, ScanResult, freeze

IMPACTS = ("low", "moderate", "high")
UNASSIGNED = "unassigned"


class SystemsError(ValueError):
    """A systems file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Selectors:
    hosts: tuple[str, ...] = ()  # host name globs (endpoints, and assets seen on them)
    paths: tuple[str, ...] = ()  # path globs; '*' also matches '/' ("/srv/app/*" is the whole tree)
    endpoints: tuple[str, ...] = ()  # "host:port", "10.0.0.0/8:443", "host:*"
    tokens: tuple[str, ...] = ()  # PKCS#11 token serials or labels
    targets: tuple[str, ...] = ()  # scan targets as the report lists them ("tls:host:443", "path:/etc/ssl")

    def empty(self) -> bool:
        return not (self.hosts or self.paths or self.endpoints or self.tokens or self.targets)


@dataclass(frozen=True, slots=True)
class System:
    id: str
    name: str
    owner_name: str = ""
    owner_email: str = ""
    fisma_id: str = ""
    impact: str = "moderate"  # FIPS 199: low, moderate, high
    high_value_asset: bool = False
    data_ttl_years: float | None = None  # how long the data must stay confidential
    migration_years: float | None = None  # how long moving to PQC is expected to take
    migration_notes: str = ""
    selectors: Selectors = field(default_factory=Selectors)
    facts: Mapping[str, Any] = field(default_factory=lambda: freeze({}))  # attested, free-form

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": {"name": self.owner_name, "email": self.owner_email},
            "fisma_id": self.fisma_id,
            "impact": self.impact,
            "high_value_asset": self.high_value_asset,
            "data_ttl_years": self.data_ttl_years,
            "migration_years": self.migration_years,
            "migration_notes": self.migration_notes,
            "facts": dict(self.facts),
            # everything above comes from the systems file, none of it from a scan
            "source": "attested",
        }


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """Attested facts about individual assets: by asset id, or by selectors."""

    facts: Mapping[str, Any]
    ids: tuple[str, ...] = ()
    selectors: Selectors = field(default_factory=Selectors)


@dataclass(frozen=True, slots=True)
class SystemsConfig:
    systems: tuple[System, ...]
    asset_facts: tuple[AssetFacts, ...] = ()
    path: str = ""
    crqc_year: int | None = None  # the year a CRQC is assumed to arrive, for the Mosca priority


# -- loading ------------------------------------------------------------------------------------
_SYSTEM_KEYS = {
    "id",
    "name",
    "owner",
    "fisma_id",
    "impact",
    "high_value_asset",
    "data_ttl_years",
    "migration_years",
    "migration_notes",
    "match",
    "facts",
}
_SELECTOR_KEYS = {"hosts", "paths", "endpoints", "tokens", "targets"}


def load_systems(path: Path) -> SystemsConfig:
    _, data = tomlfile.read(path, "systems file", SystemsError)
    return parse_systems(data, str(path))


def parse_systems(data: Mapping[str, Any], where: str) -> SystemsConfig:
    unknown = set(data) - {"system", "asset", "crqc_year"}
    if unknown:
        raise SystemsError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: crqc_year, [[system]], [[asset]])"
        )
    crqc_year = data.get("crqc_year")
    if crqc_year is not None and (isinstance(crqc_year, bool) or not isinstance(crqc_year, int) or crqc_year < 2000):
        raise SystemsError(f"{where}: crqc_year must be a year such as 2035")
    raw_systems = data.get("system", [])
    if not isinstance(raw_systems, list) or not raw_systems:
        raise SystemsError(f"{where}: expected at least one [[system]] table")
    systems = [_system(raw, f"{where}: [[system]] #{i + 1}") for i, raw in enumerate(raw_systems)]
    seen: set[str] = set()
    for system in systems:
        if system.id in seen:
            raise SystemsError(f"{where}: system id {system.id!r} is declared twice")
        if system.id == UNASSIGNED:
            raise SystemsError(f"{where}: {UNASSIGNED!r} is reserved for assets no system selects")
        seen.add(system.id)
    raw_assets = data.get("asset", [])
    if not isinstance(raw_assets, list):
        raise SystemsError(f"{where}: [[asset]] must be an array of tables")
    facts = tuple(_asset_facts(raw, f"{where}: [[asset]] #{i + 1}") for i, raw in enumerate(raw_assets))
    return SystemsConfig(tuple(systems), facts, where, crqc_year)


def _table(raw: Any, known: set[str], where: str) -> dict[str, Any]:
    """A TOML table with only known keys, or an error naming the entry and the stray keys."""
    if not isinstance(raw, dict):
        raise SystemsError(f"{where}: must be a table")
    unknown = set(raw) - known
    if unknown:
        raise SystemsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    return raw


def _system(raw: Any, where: str) -> System:
    raw = _table(raw, _SYSTEM_KEYS, where)
    system_id = _text(raw, "id", where, required=True)
    where = f"{where} ({system_id})"
    owner = raw.get("owner", {})
    if isinstance(owner, str):
        owner = {"name": owner}
    if not isinstance(owner, dict) or set(owner) - {"name", "email"}:
        raise SystemsError(f"{where}: owner must be a table with name and email")
    impact = _text(raw, "impact", where) or "moderate"
    if impact not in IMPACTS:
        raise SystemsError(f"{where}: impact must be one of {', '.join(IMPACTS)}, not {impact!r}")
    hva = raw.get("high_value_asset", False)
    if not isinstance(hva, bool):
        raise SystemsError(f"{where}: high_value_asset must be true or false")
    facts = raw.get("facts", {})
    if not isinstance(facts, dict):
        raise SystemsError(f"{where}: facts must be a table")
    return System(
        id=system_id,
        name=_text(raw, "name", where) or system_id,
        owner_name=_text(owner, "name", where),
        owner_email=_text(owner, "email", where),
        fisma_id=_text(raw, "fisma_id", where),
        impact=impact,
        high_value_asset=hva,
        data_ttl_years=_years(raw, "data_ttl_years", where),
        migration_years=_years(raw, "migration_years", where),
        migration_notes=_text(raw, "migration_notes", where),
        selectors=_selectors(raw.get("match", {}), f"{where}: match"),
        facts=freeze(facts),
    )


def _asset_facts(raw: Any, where: str) -> AssetFacts:
    raw = _table(raw, {"id", "ids", "match", "facts"}, where)
    ids = _strings(raw.get("ids", []), f"{where}: ids") + _strings(raw.get("id", []), f"{where}: id")
    selectors = _selectors(raw.get("match", {}), f"{where}: match")
    if not ids and selectors.empty():
        raise SystemsError(f"{where}: name the assets with id, ids or match")
    facts = raw.get("facts")
    if not isinstance(facts, dict) or not facts:
        raise SystemsError(f"{where}: facts must be a non-empty table")
    return AssetFacts(freeze(facts), ids, selectors)


def _selectors(raw: Any, where: str) -> Selectors:
    raw = _table(raw, _SELECTOR_KEYS, where)
    values = {key: _strings(raw.get(key, []), f"{where}.{key}") for key in _SELECTOR_KEYS}
    for endpoint in values["endpoints"]:
        _parse_endpoint(endpoint, f"{where}.endpoints")
    return Selectors(**values)


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise SystemsError(f"{where}: missing {key}")
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise SystemsError(f"{where}: {key} must be a {'non-empty ' if required else ''}string")
    return value


def _years(raw: Mapping[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SystemsError(f"{where}: {key} must be a number of years (0 or more)")
    return float(value)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SystemsError(f"{where}: expected a string or a list of strings")


def _parse_endpoint(text: str, where: str) -> tuple[str, str]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not (port == "*" or port.isdigit()):
        raise SystemsError(f"{where}: {text!r} is not HOST:PORT or CIDR:PORT (port may be '*')")
    return host.strip("[]"), port


# -- assignment ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Seen:
    """Where an asset was seen, in the terms selectors speak."""

    hosts: frozenset[str]
    endpoints: frozenset[tuple[str, int]]
    paths: frozenset[str]
    tokens: frozenset[str]


def _endpoint_of(ref: str) -> tuple[str, int] | None:
    text = ref.removeprefix("tls:").removeprefix("ssh:")
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _seen(asset: Asset, token_labels: Mapping[str, str]) -> _Seen:
    hosts: set[str] = set()
    endpoints: set[tuple[str, int]] = set()
    paths: set[str] = set()
    tokens: set[str] = set()
    props = asset.properties
    if asset.type == AssetType.TLS_ENDPOINT or asset.id.startswith("ssh:"):
        endpoint = _endpoint_of(asset.id)
        if endpoint:
            endpoints.add(endpoint)
            hosts.add(str(props.get("host") or endpoint[0]))
    elif asset.type == AssetType.HSM_TOKEN:
        tokens.add(asset.id.removeprefix("pkcs11:"))
        if props.get("label"):
            tokens.add(str(props["label"]))
    elif asset.type in (AssetType.FILE, AssetType.CONFIG, AssetType.TRUST_STORE) and props.get("path"):
        paths.add(str(props["path"]))
    for loc in asset.locations:
        if loc.kind in ("tls", "endpoint", "ssh"):
            endpoint = _endpoint_of(loc.ref)
            if endpoint:
                endpoints.add(endpoint)
                hosts.add(endpoint[0])
        elif loc.kind in ("pkcs11", "token"):
            tokens.add(loc.ref.removeprefix("pkcs11:"))
            if loc.ref in token_labels:
                tokens.add(token_labels[loc.ref])
        elif loc.kind == "remote-file" and loc.ref.startswith("ssh://"):
            host, _, path = loc.ref.removeprefix("ssh://").partition("/")
            hosts.add(host.rsplit("@", 1)[-1].split(":", 1)[0])
            paths.add("/" + path)
        elif loc.ref.startswith("/"):
            paths.add(loc.ref)
    return _Seen(frozenset(hosts), frozenset(endpoints), frozenset(paths), frozenset(tokens))


def _host_matches(host: str, pattern: str) -> bool:
    if "/" in pattern:  # a CIDR
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    return fnmatch.fnmatchcase(host.lower(), pattern.lower())


def _path_matches(path: str, pattern: str) -> bool:
    # a pattern names files or directories, and a directory its whole tree; '*' also crosses '/'
    root = pattern.rstrip("/") or "/"
    if not any(ch in pattern for ch in "*?["):
        return path == root or path.startswith(root.rstrip("/") + "/")
    return fnmatch.fnmatchcase(path, root) or fnmatch.fnmatchcase(path, root.rstrip("/") + "/*")


def _target_covers(target: str, seen: _Seen) -> bool:
    kind, _, value = target.partition(":")
    if kind == "path":
        return any(_path_matches(p, value) for p in seen.paths)
    if kind in ("tls", "ssh"):
        endpoint = _endpoint_of(value)
        return endpoint is not None and endpoint in seen.endpoints
    return False


def selects(selectors: Selectors, seen: _Seen) -> bool:
    if any(_host_matches(h, p) for p in selectors.hosts for h in seen.hosts):
        return True
    if any(_path_matches(path, p) for p in selectors.paths for path in seen.paths):
        return True
    for text in selectors.endpoints:
        host_pattern, port = _parse_endpoint(text, "endpoint")
        if any(_host_matches(h, host_pattern) and (port == "*" or int(port) == p) for h, p in seen.endpoints):
            return True
    if any(t in seen.tokens for t in selectors.tokens):
        return True
    return any(_target_covers(t, seen) for t in selectors.targets)


# the relations along which membership flows: what an endpoint presents, what a certificate certifies
_INHERITED = (RelationType.PRESENTS, RelationType.CERTIFIES)


@dataclass(frozen=True, slots=True)
class Assignment:
    systems: Mapping[str, tuple[str, ...]]  # asset id -> system ids (empty: unassigned)
    facts: Mapping[str, Mapping[str, Any]]  # asset id -> attested facts


def assign(config: SystemsConfig | None, assets: Sequence[Asset], relations: Iterable[Relation]) -> Assignment:
    """Each asset's systems (selected directly, or through the endpoint or certificate that
    presents or certifies it) and the attested facts that name it."""
    if config is None:
        return Assignment(freeze({}), freeze({}))
    labels = {
        a.id: str(a.properties["label"]) for a in assets if a.type == AssetType.HSM_TOKEN and a.properties.get("label")
    }
    seen = {a.id: _seen(a, labels) for a in assets}
    members: dict[str, list[str]] = {a.id: [] for a in assets}
    for system in config.systems:
        for asset in assets:
            if selects(system.selectors, seen[asset.id]):
                members[asset.id].append(system.id)
    inherit = [(r.source, r.target) for r in relations if r.type in _INHERITED]
    # presents then certifies: endpoint -> certificate -> key; two passes reach the key
    for _ in range(2):
        for source, target in inherit:
            if source in members and target in members:
                for system_id in members[source]:
                    if system_id not in members[target]:
                        members[target].append(system_id)
    order = {s.id: i for i, s in enumerate(config.systems)}
    systems = {asset_id: tuple(sorted(ids, key=order.__getitem__)) for asset_id, ids in members.items()}
    facts: dict[str, Mapping[str, Any]] = {}
    for asset in assets:
        merged: dict[str, Any] = {}
        for entry in config.asset_facts:
            if asset.id in entry.ids or (not entry.selectors.empty() and selects(entry.selectors, seen[asset.id])):
                merged.update(entry.facts)
        if merged:
            facts[asset.id] = freeze(merged)
    return Assignment(freeze(systems), freeze(facts))


def error_systems(config: SystemsConfig | None, target: str) -> tuple[str, ...]:
    """The systems a failed target belongs to (a path, an endpoint or a target string)."""
    if config is None:
        return ()
    text = target.split(", ", 1)[0]
    endpoint = _endpoint_of(text) if not text.startswith("/") else None
    seen = _Seen(
        hosts=frozenset({endpoint[0]}) if endpoint else frozenset(),
        endpoints=frozenset({endpoint}) if endpoint else frozenset(),
        paths=frozenset({text}) if text.startswith("/") else frozenset(),
        tokens=frozenset(),
    )
    return tuple(s.id for s in config.systems if selects(s.selectors, seen) or text in s.selectors.targets)


def system_members(result: ScanResult) -> dict[str, list[Asset]]:
    """The assets of each declared system, and of ``unassigned``; empty without a systems file."""
    if result.systems is None or result.membership is None:
        return {}
    groups: dict[str, list[Asset]] = {s.id: [] for s in result.systems.systems}
    groups[UNASSIGNED] = []
    for asset in result.assets:
        for system_id in result.membership.systems.get(asset.id) or (UNASSIGNED,):
            groups[system_id].append(asset)
    return groups

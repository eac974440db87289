"""The blast radius of a compromised key or certificate: everything that depends on it.

The handbook asks, when a key is compromised, to "identify affected systems, data, and
dependencies". Starting from a key or certificate, this walks the inventory graph along the
relations that carry trust or use: certificates binding the key, certificates it signed (down
the chain), endpoints presenting those certificates, keys it wraps, trust stores holding the
certificates, and the configurations that reference the files holding any of them or that
configure those endpoints. Each asset is visited once, so the walk is linear in what it finds.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, freeze
from scanner.printable import printable


class ImpactError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Dependent:
    asset: Asset
    how: str  # e.g. "presents certificate", "issued by"
    via: str  # the asset id it depends on
    depth: int


@dataclass(frozen=True, slots=True)
class Impact:
    root: Asset
    dependents: tuple[Dependent, ...]
    # where the compromised material itself sits: files, tokens, keystores
    held_in: tuple[Asset, ...]

    def by_type(self, type: AssetType) -> list[Dependent]:
        return [d for d in self.dependents if d.asset.type is type]

    def as_dict(self) -> dict[str, Any]:
        return {
            "asset": {"id": self.root.id, "type": self.root.type.value},
            "held_in": [{"id": a.id, "type": a.type.value} for a in self.held_in],
            "dependents": [
                {"id": d.asset.id, "type": d.asset.type.value, "how": d.how, "via": d.via, "depth": d.depth}
                for d in self.dependents
            ],
        }


def _dependents(graph: InventoryGraph, asset: Asset) -> Iterator[tuple[Asset, str]]:
    """The assets that depend directly on ``asset`` once it is compromised."""
    if asset.type is AssetType.KEY:
        for cert in graph.predecessors(asset.id, RelationType.CERTIFIES):
            yield cert, "certificate binding the key"
        for wrapped in graph.successors(asset.id, RelationType.WRAPS):
            yield wrapped, "key wrapped by it"
    elif asset.type is AssetType.CERTIFICATE:
        for child in graph.predecessors(asset.id, RelationType.ISSUED_BY):
            yield child, "certificate issued (signed) by it"
        for endpoint in graph.predecessors(asset.id, RelationType.PRESENTS):
            yield endpoint, "endpoint presenting the certificate"
        for store in graph.predecessors(asset.id, RelationType.TRUSTS):
            yield store, "trust store holding it as an anchor"
    elif asset.type is AssetType.TLS_ENDPOINT:
        for config in graph.predecessors(asset.id, RelationType.CONFIGURES):
            yield config, "configuration of the endpoint"
    if asset.type in (AssetType.KEY, AssetType.CERTIFICATE):
        for holder in graph.successors(asset.id, RelationType.STORED_IN):
            for config in graph.predecessors(holder.id, RelationType.REFERENCES):
                yield config, f"configuration referencing {holder.properties.get('path') or holder.id}"


def blast_radius(graph: InventoryGraph, asset_id: str) -> Impact:
    if asset_id not in graph:
        raise ImpactError(f"no asset {asset_id} in the inventory")
    root = graph.asset(asset_id)
    if root.type not in (AssetType.KEY, AssetType.CERTIFICATE):
        raise ImpactError(f"{asset_id} is a {root.type.value}; impact starts from a key or a certificate")
    seen = {root.id}
    found: list[Dependent] = []
    queue: deque[tuple[Asset, int]] = deque([(root, 0)])
    if root.type is AssetType.CERTIFICATE:
        # a compromised certificate means its private key is: whatever else binds that key follows.
        # (Further down, certificates a compromised CA signed are untrustworthy; their keys are not.)
        for key in graph.successors(root.id, RelationType.CERTIFIES):
            seen.add(key.id)
            found.append(Dependent(key, "key of the certificate", root.id, 1))
            queue.append((key, 1))
    while queue:
        current, depth = queue.popleft()
        for dependent, how in _dependents(graph, current):
            if dependent.id in seen:
                continue
            seen.add(dependent.id)
            found.append(Dependent(dependent, how, current.id, depth + 1))
            queue.append((dependent, depth + 1))
    held_in = tuple(graph.successors(root.id, RelationType.STORED_IN))
    return Impact(root, tuple(found), held_in)


def resolve_asset(graph: InventoryGraph, query: str) -> str:
    """An asset id from what a user types: the id, a unique part of it (a fingerprint), or a file path.

    A file path resolves to the key or certificate found in that file when there is exactly one
    private key, or exactly one certificate.
    """
    if query in graph:
        return query
    ids = [i for i in graph.asset_ids() if graph.asset(i).type in (AssetType.KEY, AssetType.CERTIFICATE)]
    partial = [i for i in ids if query.lower() in i.lower()]
    if len(partial) == 1:
        return partial[0]
    if len(partial) > 1:
        raise ImpactError(f"{query!r} matches {len(partial)} assets: {', '.join(sorted(partial)[:10])}")
    # a certificate's subject or a name in its SAN (e.g. "CN=shop.example" or "shop.example")
    named = [i for i in ids if _names_match(graph.asset(i), query)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise ImpactError(f"{query!r} names {len(named)} certificates: {', '.join(sorted(named)[:10])}")
    path = str(Path(query).absolute())
    in_file = [i for i in ids if any(loc.ref == path for loc in graph.locations_of(i))]
    keys = [i for i in in_file if graph.asset(i).properties.get("has_private_key")]
    certs = [i for i in in_file if graph.asset(i).type is AssetType.CERTIFICATE]
    for group in (keys, certs):
        if len(group) == 1:
            return group[0]
    if in_file:
        raise ImpactError(f"{path} holds {len(in_file)} keys and certificates; name one: {', '.join(sorted(in_file))}")
    raise ImpactError(f"no key or certificate matches {query!r}")


def _names_match(asset: Asset, query: str) -> bool:
    if asset.type is not AssetType.CERTIFICATE:
        return False
    wanted = query.lower()
    subject = str(asset.properties.get("subject") or "").lower()
    names = [str(n).lower() for n in asset.properties.get("san") or ()]
    return wanted == subject or wanted in names or f"cn={wanted}" in subject.split(",")


def graph_from_report(path: Path) -> InventoryGraph:
    """The inventory graph of a keysweep JSON report file (its assets and relations)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ImpactError(f"{path}: not a keysweep JSON report: {type(exc).__name__}: {exc}") from None
    return graph_from_report_data(data, str(path))


def graph_from_report_data(data: Any, source: str) -> InventoryGraph:
    """The inventory graph of a parsed JSON report (a file's, or a scan's in the history store)."""
    try:
        graph = InventoryGraph()
        for raw in data["assets"]:
            graph.add_asset(
                Asset(
                    id=raw["id"],
                    type=AssetType(raw["type"]),
                    properties=freeze(raw.get("properties", {})),
                    locations=tuple(
                        Location(loc["kind"], loc["ref"], loc.get("detail", "")) for loc in raw.get("locations", [])
                    ),
                )
            )
        for raw in data["relations"]:
            graph.add_relation(Relation(raw["source"], raw["target"], RelationType(raw["type"])))
    except (ValueError, KeyError, TypeError) as exc:
        raise ImpactError(f"{source}: not a keysweep JSON report: {type(exc).__name__}: {exc}") from None
    return graph


def render_text(impact: Impact) -> str:
    def name(asset: Asset) -> str:
        props = asset.properties
        label = props.get("subject") or props.get("path") or props.get("host") or props.get("algorithm") or ""
        return printable(f"{asset.id}" + (f"  ({label})" if label else ""))

    count = len(impact.dependents)
    noun = "asset" if count == 1 else "assets"
    lines = [f"blast radius of {printable(asset_label(impact.root))}: {count} dependent {noun}"]
    if impact.held_in:
        lines.append("held in:")
        lines += [f"  {name(a)}" for a in impact.held_in]
    for type in AssetType:
        group = impact.by_type(type)
        if group:
            lines.append(f"{type.value} ({len(group)}):")
            lines += [f"  {'  ' * (d.depth - 1)}{name(d.asset)}  <- {printable(d.how)}" for d in group]
    return "\n".join(lines)


def asset_label(asset: Asset) -> str:
    props = asset.properties
    if asset.type is AssetType.KEY:
        detail = props.get("curve") or props.get("key_size") or ""
        return f"{asset.id} ({props.get('algorithm')} {detail})".replace(" )", ")")
    return f"{asset.id} ({props.get('subject') or asset.type.value})"

"""The crypto inventory graph: one node per asset, whatever number of places it was seen in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    FrozenProperties,
    Location,
    Observation,
    Relation,
    RelationType,
    SharedValues,
    SweepCounts,
    freeze,
)


def _any(old: Any, new: Any) -> Any:
    return bool(old) or bool(new)


def _all(old: Any, new: Any) -> Any:
    if old is None:
        return new
    if new is None:
        return old
    return bool(old) and bool(new)


def _first_known(old: Any, new: Any) -> Any:
    return new if old is None else old


# How a property combines when the same asset is seen again elsewhere.
# A key is "encrypted at rest" only if every copy of it is; it "has a private key" if any copy does.
_MERGE: Mapping[str, Callable[[Any, Any], Any]] = {
    "has_private_key": _any,
    "encrypted_at_rest": _all,
}


class _Entry:
    """One asset's merge state: the frozen value as last read, and what later sightings added."""

    __slots__ = ("frozen", "locations", "owned", "properties", "seen_locations", "type")

    def __init__(self, asset: Asset) -> None:
        self.type = asset.type
        self.frozen: Asset | None = asset
        # shared with the collector's frozen asset until a merge writes to it (copy on write)
        self.properties: Mapping[str, Any] = asset.properties
        # the properties are this entry's own copy, in no Asset handed out yet: writable in place
        self.owned = False
        # the asset's own tuple until a sighting adds one; a set to find them once there are many
        # (most assets have one location: a list and a set each cost ~40 MB at 100,000 files)
        self.locations: tuple[Location, ...] | list[Location] = asset.locations
        self.seen_locations: set[Location] | None = None

    def add_location(self, location: Location) -> None:
        seen = self.seen_locations
        if location in (self.locations if seen is None else seen):
            return
        if isinstance(self.locations, tuple):
            self.locations = list(self.locations)
        self.locations.append(location)
        if seen is not None:
            seen.add(location)
        elif len(self.locations) > 16:
            self.seen_locations = set(self.locations)
        self.frozen = None

    def update(self, changes: Mapping[str, Any]) -> None:
        """Changes written into the entry's own read-only mapping: one copy per asset handed out,
        not two (a dict, then a frozen copy of it: about 47 MB per 20,000 enriched files)."""
        if not self.owned:
            self.properties = FrozenProperties(self.properties)
            self.owned = True
        dict.update(self.properties, changes)  # our own copy, in no Asset handed out yet
        self.frozen = None


# the graph's sharing of equal values (kept under its old name for callers and tests)
_SharedValues = SharedValues


class InventoryGraph:
    """Assets by id, and their relations as typed edges (a networkx MultiDiGraph on request: ``nx``).

    A sighting of a known asset merges into its entry; the frozen Asset is rebuilt only when read
    after a change, so a key seen in thousands of certificates costs one merge each, not a copy.
    """

    def __init__(self) -> None:
        self._assets: dict[str, _Entry] = {}
        self._relations: dict[tuple[str, str, RelationType], Relation] = {}
        # neighbours by relation type: a CA stored on a thousand hosts has a thousand stored-in
        # edges, and walking its issuers must not step over them (the fleet view's graphs)
        self._out: dict[tuple[str, RelationType], list[str]] = {}
        self._in: dict[tuple[str, RelationType], list[str]] = {}
        self._errors: list[CollectionError] = []
        self.sweep = SweepCounts()
        # insertion-ordered ids per type, so rules for one type do not walk every node
        self._by_type: dict[AssetType, dict[str, None]] = {}
        self._shared = _SharedValues()

    # -- building -------------------------------------------------------------------------------
    def add(self, observation: Observation) -> None:
        if isinstance(observation, Asset):
            self.add_asset(observation)
        elif isinstance(observation, Relation):
            self.add_relation(observation)
        elif isinstance(observation, SweepCounts):
            self.sweep = self.sweep + observation
        else:
            self._errors.append(observation)

    def add_all(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self.add(observation)

    def add_asset(self, asset: Asset) -> None:
        entry = self._assets.get(asset.id)
        if entry is None:
            self._shared.share(asset.properties)
            self._assets[asset.id] = _Entry(asset)
            self._by_type.setdefault(asset.type, {})[asset.id] = None
            return
        current = entry.properties
        changes = {}
        for name, value in asset.properties.items():
            merged = _MERGE.get(name, _first_known)(current.get(name), value)
            if merged != current.get(name) or name not in current:
                changes[name] = merged
        if changes:
            entry.update(changes)
        for location in asset.locations:
            entry.add_location(location)

    def add_relation(self, relation: Relation) -> None:
        key = (relation.source, relation.target, relation.type)
        if key in self._relations:
            return
        self._relations[key] = relation
        self._out.setdefault((relation.source, relation.type), []).append(relation.target)
        self._in.setdefault((relation.target, relation.type), []).append(relation.source)

    def update_properties(self, asset_id: str, updates: Mapping[str, Any]) -> None:
        """Enrichment adds derived facts; collectors' facts are never overwritten with None."""
        changes = {name: value for name, value in updates.items() if value is not None}
        if changes:
            self._assets[asset_id].update(changes)

    def add_error(self, error: CollectionError) -> None:
        self._errors.append(error)

    # -- reading --------------------------------------------------------------------------------
    def __contains__(self, asset_id: object) -> bool:
        return asset_id in self._assets

    def __len__(self) -> int:
        return len(self._assets)

    def asset_ids(self, type: AssetType | None = None) -> Iterator[str]:
        if type is not None:
            yield from self._by_type.get(type, {})
            return
        for ids in self._by_type.values():
            yield from ids

    def asset(self, asset_id: str) -> Asset:
        entry = self._assets[asset_id]
        if entry.frozen is None:
            # the entry's own FrozenProperties goes out as it is (freeze does not copy it); a later
            # write copies it first, so an Asset once handed out never changes
            entry.frozen = Asset(asset_id, entry.type, freeze(entry.properties), tuple(entry.locations))
            entry.owned = False
        return entry.frozen

    def assets(self, type: AssetType | None = None) -> Iterator[Asset]:
        for asset_id in self.asset_ids(type):
            yield self.asset(asset_id)

    def relations(self) -> Iterator[Relation]:
        """Relations whose both ends are known assets (an edge to an unseen issuer is dropped)."""
        for (source, target, _), relation in self._relations.items():
            if source in self and target in self:
                yield relation

    def successors(self, asset_id: str, type: RelationType) -> list[Asset]:
        """Assets this one points to by `type` (e.g. the key a certificate certifies)."""
        return [self.asset(t) for t in self._out.get((asset_id, type), ()) if t in self._assets]

    def predecessors(self, asset_id: str, type: RelationType) -> list[Asset]:
        """Assets that point to this one by `type` (e.g. the certificates certifying a key)."""
        return [self.asset(s) for s in self._in.get((asset_id, type), ()) if s in self._assets]

    def locations_of(self, asset_id: str) -> tuple[Location, ...]:
        return tuple(self._assets[asset_id].locations)

    @property
    def errors(self) -> tuple[CollectionError, ...]:
        return tuple(self._errors)

    @property
    def nx(self) -> Any:
        """The inventory as a networkx MultiDiGraph (edge key: the relation type), for graph algorithms.

        Built when asked, not kept beside the assets: at 100,000 files a second copy of every node
        and edge in networkx's nested dicts cost ~12% of the graph's memory, and importing networkx
        0.14 s of every scan, for a view no scan step reads.
        """
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from(self._assets)
        graph.add_edges_from((r.source, r.target, r.type) for r in self._relations.values())
        return graph

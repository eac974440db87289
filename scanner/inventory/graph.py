"""The crypto inventory graph: one node per asset, whatever number of places it was seen in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import networkx as nx

from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Observation,
    Relation,
    RelationType,
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


class InventoryGraph:
    """Wraps a networkx MultiDiGraph; node attributes hold properties and locations."""

    def __init__(self) -> None:
        self._g: Any = nx.MultiDiGraph()
        self._relations: dict[tuple[str, str, RelationType], Relation] = {}
        self._errors: list[CollectionError] = []
        self._frozen: dict[str, Asset] = {}
        # insertion-ordered ids per type, so rules for one type do not walk every node
        self._by_type: dict[AssetType, dict[str, None]] = {}
        self._type_of: dict[str, AssetType] = {}

    # -- building -------------------------------------------------------------------------------
    def add(self, observation: Observation) -> None:
        if isinstance(observation, Asset):
            self.add_asset(observation)
        elif isinstance(observation, Relation):
            self.add_relation(observation)
        else:
            self._errors.append(observation)

    def add_all(self, observations: Iterable[Observation]) -> None:
        for observation in observations:
            self.add(observation)

    def add_asset(self, asset: Asset) -> None:
        self._frozen.pop(asset.id, None)
        node = self._g.nodes.get(asset.id)
        if node is None or "type" not in node:
            self._by_type.setdefault(asset.type, {})[asset.id] = None
            self._type_of[asset.id] = asset.type
            self._g.add_node(
                asset.id,
                type=asset.type,
                properties=dict(asset.properties),
                locations=dict.fromkeys(asset.locations),
            )
            return
        props: dict[str, Any] = node["properties"]
        for name, value in asset.properties.items():
            merge = _MERGE.get(name, _first_known)
            props[name] = merge(props.get(name), value)
        node["locations"].update(dict.fromkeys(asset.locations))

    def add_relation(self, relation: Relation) -> None:
        key = (relation.source, relation.target, relation.type)
        if key in self._relations:
            return
        self._relations[key] = relation
        self._g.add_edge(relation.source, relation.target, key=relation.type)

    def update_properties(self, asset_id: str, updates: Mapping[str, Any]) -> None:
        """Enrichment adds derived facts; collectors' facts are never overwritten with None."""
        self._frozen.pop(asset_id, None)
        props = self._g.nodes[asset_id]["properties"]
        for name, value in updates.items():
            if value is not None:
                props[name] = value

    def add_error(self, error: CollectionError) -> None:
        self._errors.append(error)

    # -- reading --------------------------------------------------------------------------------
    def __contains__(self, asset_id: object) -> bool:
        return asset_id in self._type_of

    def __len__(self) -> int:
        return len(self._type_of)

    def asset_ids(self, type: AssetType | None = None) -> Iterator[str]:
        if type is not None:
            yield from self._by_type.get(type, {})
            return
        for ids in self._by_type.values():
            yield from ids

    def asset(self, asset_id: str) -> Asset:
        cached = self._frozen.get(asset_id)
        if cached is not None:
            return cached
        data = self._g.nodes[asset_id]
        asset = Asset(
            id=asset_id,
            type=data["type"],
            properties=freeze(data["properties"]),
            locations=tuple(data["locations"]),
        )
        self._frozen[asset_id] = asset
        return asset

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
        if asset_id not in self._g:
            return []
        found = []
        for _, target, key in self._g.out_edges(asset_id, keys=True):
            if key == type and target in self:
                found.append(self.asset(target))
        return found

    def predecessors(self, asset_id: str, type: RelationType) -> list[Asset]:
        """Assets that point to this one by `type` (e.g. the certificates certifying a key)."""
        if asset_id not in self._g:
            return []
        found = []
        for source, _, key in self._g.in_edges(asset_id, keys=True):
            if key == type and source in self:
                found.append(self.asset(source))
        return found

    def locations_of(self, asset_id: str) -> tuple[Location, ...]:
        return tuple(self._g.nodes[asset_id]["locations"])

    @property
    def errors(self) -> tuple[CollectionError, ...]:
        return tuple(self._errors)

    @property
    def nx(self) -> Any:
        """The underlying networkx graph, for graph algorithms (read it, do not mutate it)."""
        return self._g

"""The crypto inventory graph: one node per asset, whatever number of places it was seen in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import chain
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


_MISSING: Any = object()


# How a property combines when the same asset is seen again elsewhere; any other keeps its first
# known (not None) value.
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


class _SharedValues:
    """One object for equal small property values across assets.

    An issuer, an algorithm name or a key-usage list repeats in thousands of certificates, and a
    parallel sweep (or a re-scan from the file cache) decodes every copy anew: about 1.2 KB per
    certificate file (some 120 MB at 100,000 files). Only equal values are shared, so no asset says
    anything else; property values are never changed in place (assets are frozen), so one object can
    stand for all of them.
    """

    __slots__ = ("_seen",)
    # distinct values remembered; past it, unique values (serials, fingerprints) stop adding
    LIMIT = 16384
    MAX_TEXT = 96  # longer strings are names and paths: seldom equal
    MAX_ITEMS = 8  # longer lists are SANs: seldom equal

    def __init__(self) -> None:
        self._seen: dict[str | tuple[str, ...], Any] = {}

    @classmethod
    def key(cls, value: Any) -> str | tuple[str, ...] | None:
        """How ``value`` is found among the shared ones; None for a value never shared."""
        kind = type(value)
        if kind is str:
            return value if len(value) <= cls.MAX_TEXT else None
        if kind is list and len(value) <= cls.MAX_ITEMS and all(type(item) is str for item in value):
            return tuple(value)
        return None

    def keep(self, values: Iterable[Any]) -> None:
        """Values shared already (a restored graph's) as the ones later assets share."""
        for value in values:
            if len(self._seen) >= self.LIMIT:
                return
            key = self.key(value)
            if key is not None:
                self._seen.setdefault(key, value)

    def share(self, properties: Mapping[str, Any]) -> None:
        """Equal values shared in a collector's fresh FrozenProperties (written in place, not resized)."""
        if type(properties) is not FrozenProperties:
            return
        seen = self._seen
        get, setitem = seen.get, dict.__setitem__
        full = len(seen) >= self.LIMIT
        max_text, max_items = self.MAX_TEXT, self.MAX_ITEMS
        for name, value in properties.items():
            kind = type(value)
            if kind is str:
                if len(value) > max_text:
                    continue
                shared = get(value)
                if shared is None:
                    if not full:
                        seen[value] = value
                elif shared is not value:  # a str key holds a str
                    setitem(properties, name, shared)  # an equal value, the mapping not resized
            elif kind is list:
                if len(value) > max_items:
                    continue
                key = tuple(value)
                try:
                    shared = get(key)
                except TypeError:  # a list of dicts (a CRL's entries): never shared
                    continue
                if shared is None:
                    # only lists of str are kept: [1] and [True] are equal, but do not say the same
                    if not full and all(type(item) is str for item in value):
                        seen[key] = value
                elif shared is not value:
                    # equal to a kept list of str: its items are str too (or a str subclass equal to
                    # one, a StrEnum, which every report writes as that str); no type test per item
                    setitem(properties, name, shared)


def _location(fields: tuple[Any, ...]) -> Location:
    kind, ref, detail, scope = fields
    if type(kind) is not str or type(ref) is not str or type(detail) is not str or type(scope) is not str:
        raise TypeError("a location's fields")
    return Location(kind, ref, detail, scope)


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
        # shaped for speed: a sweep adds ~5 observations per file, most of them new assets
        add_asset, add_relation, add = self.add_asset, self.add_relation, self.add
        for observation in observations:
            kind = type(observation)
            if kind is Asset:
                add_asset(observation)  # type: ignore[arg-type]  # tested just above
            elif kind is Relation:
                add_relation(observation)  # type: ignore[arg-type]
            else:
                add(observation)

    def add_asset(self, asset: Asset) -> None:
        asset_id = asset.id
        entry = self._assets.get(asset_id)
        if entry is None:
            self._shared.share(asset.properties)
            self._assets[asset_id] = _Entry(asset)
            ids = self._by_type.get(asset.type)
            if ids is None:
                ids = self._by_type[asset.type] = {}
            ids[asset_id] = None
            return
        current = entry.properties
        properties = asset.properties
        changes = {}
        if properties == current:
            # the same facts again (an issuing CA in every chain file of a sweep): one comparison in C
            # instead of a step per property; a property kept as first known stays, so only the merged
            # ones can change (has_private_key: None becomes False)
            for name, combine in _MERGE.items():
                if name in properties:
                    known = current[name]
                    merged = combine(known, properties[name])
                    if merged != known:
                        changes[name] = merged
            if changes:
                entry.update(changes)
            for location in asset.locations:
                entry.add_location(location)
            return
        for name, value in properties.items():
            old = current.get(name, _MISSING)
            merge = _MERGE.get(name)
            if merge is None:  # the first known value: no call per property (most properties, most merges)
                if old is _MISSING or (old is None and value is not None):
                    changes[name] = value
                continue
            known = None if old is _MISSING else old
            merged = merge(known, value)
            if merged != known or old is _MISSING:
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

    # -- the whole graph as plain values (an unchanged file sweep kept in one piece) ------------------
    def is_empty(self) -> bool:
        return not self._assets and not self._relations and not self._errors and self.sweep == SweepCounts()

    def state(self, size: int = 2000) -> Iterator[list[Any]]:
        """Everything added so far as a sequence of JSON values (parts of ``size`` assets, or of
        twice as many relations), in the order added; ``restore`` takes them back.

        Not the observations as they came (a key seen in 2,000 certificates came 2,000 times), but
        what they merged into: restoring it costs one step per asset, not one merge per sighting.
        In parts, so that a large graph is never one value, written or read back: at 100,000 files
        one value cost ~300 MB at its peak beside the graph itself. Shaped for restoring: an asset's
        property names are written once per distinct list of names (its shape: assets of a kind
        have a few), so its properties come back as one dict(zip()) in C; the values assets share
        (see _SharedValues) are written once, in a table, and each asset names them by position and
        index, so they come back shared without a share() each. A part says the shapes and values
        it adds to those of the parts before it.
        """
        shapes: dict[tuple[str, ...], int] = {}
        table: dict[str | tuple[str, ...], int] = {}
        new_shapes: list[tuple[str, ...]] = []
        new_values: list[Any] = []
        assets: list[list[Any]] = []
        for asset_id, entry in self._assets.items():
            properties = entry.properties
            names = tuple(properties)
            shape = shapes.get(names)
            if shape is None:
                shape = shapes[names] = len(shapes)
                new_shapes.append(names)
            row = list(properties.values())
            refs: list[int] = []
            for position, value in enumerate(row):
                key = _SharedValues.key(value)
                if key is None:
                    continue
                index = table.get(key)
                if index is None:
                    index = table[key] = len(table)
                    new_values.append(value)
                row[position] = None
                refs += (position, index)
            places = [[p.kind, p.ref, p.detail, p.scope] for p in entry.locations]
            assets.append([asset_id, entry.type.value, shape, row, refs, places])
            if len(assets) >= size:
                yield ["assets", new_shapes, new_values, assets]
                new_shapes, new_values, assets = [], [], []
        if assets:
            yield ["assets", new_shapes, new_values, assets]
        relations = list(self._relations.values())
        for start in range(0, len(relations), 2 * size):
            yield ["relations", [[r.source, r.target, r.type.value] for r in relations[start : start + 2 * size]]]
        yield ["errors", [[e.target, e.collector, e.message] for e in self._errors]]
        yield ["counts", list(self.sweep.as_dict().values())]

    def restore(self, parts: Iterable[Any]) -> None:
        """What ``state`` wrote, into this empty graph; ValueError when it is not such a value (a
        damaged store), leaving the graph as it was (it is changed only once every part is read)."""
        if not self.is_empty():
            raise ValueError("a graph's state is restored only into an empty graph")
        asset_types = {t.value: t for t in AssetType}
        relation_types = {t.value: t for t in RelationType}
        places: dict[tuple[str, ...], Location] = {}  # one object for equal locations
        entries: dict[str, _Entry] = {}
        by_type: dict[AssetType, dict[str, None]] = {}
        shapes: list[tuple[str, ...]] = []
        values: list[Any] = []
        links: dict[tuple[str, str, RelationType], Relation] = {}
        failures: list[CollectionError] = []
        sweep: SweepCounts | None = None
        try:
            for part in parts:
                if sweep is not None:
                    raise ValueError("a part after the counts")
                tag = part[0]
                if tag == "assets":
                    _, new_shapes, new_values, assets = part
                    if not all(type(name) is str for names in new_shapes for name in names):
                        raise TypeError("a property's name")
                    shapes += new_shapes
                    values += new_values
                    self._restore_assets(assets, shapes, values, asset_types, places, entries, by_type)
                elif tag == "relations":
                    for source, target, kind in part[1]:
                        if type(source) is not str or type(target) is not str:
                            raise TypeError("a relation's ends")
                        relation_type = relation_types[kind]
                        links[source, target, relation_type] = Relation(source, target, relation_type)
                elif tag == "errors":
                    for target, collector, message in part[1]:
                        if type(target) is not str or type(collector) is not str or type(message) is not str:
                            raise TypeError("an error's fields")
                        failures.append(CollectionError(target, collector, message))
                elif tag == "counts":
                    counts = part[1]
                    if len(counts) != 4 or not all(type(n) is int for n in counts):
                        raise TypeError("the sweep's counts")
                    sweep = SweepCounts(*counts)
                else:
                    raise ValueError(f"a part tagged {tag!r}")
            if sweep is None:
                raise ValueError("no counts: the parts end early")
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValueError(f"not a graph's state: {type(exc).__name__}: {exc}") from None
        self._assets, self._by_type = entries, by_type
        self._shared.keep(values)
        self._relations = links
        out, into = self._out, self._in
        for source, target, relation_type in links:
            out.setdefault((source, relation_type), []).append(target)
            into.setdefault((target, relation_type), []).append(source)
        self._errors = failures
        self.sweep = sweep

    @staticmethod
    def _restore_assets(
        assets: Iterable[Any],
        shapes: list[tuple[str, ...]],
        values: list[Any],
        asset_types: Mapping[str, AssetType],
        places: dict[tuple[str, ...], Location],
        entries: dict[str, _Entry],
        by_type: dict[AssetType, dict[str, None]],
    ) -> None:
        """One part's assets into ``entries`` and ``by_type`` (see ``state``)."""
        for asset_id, kind, shape, row, refs, locations in assets:
            found = []
            for location in locations:
                key = tuple(location)
                place = places.get(key)
                if place is None:
                    place = places[key] = _location(key)
                found.append(place)
            if type(asset_id) is not str:
                raise TypeError("an asset's id")
            for n in range(0, len(refs), 2):
                row[refs[n]] = values[refs[n + 1]]
            asset_type = asset_types[kind]
            # strict: a row that does not fit its names is a damaged state (ValueError)
            properties = FrozenProperties(zip(shapes[shape], row, strict=True))
            entries[asset_id] = _Entry(Asset(asset_id, asset_type, properties, tuple(found)))
            ids = by_type.get(asset_type)
            if ids is None:
                ids = by_type[asset_type] = {}
            ids[asset_id] = None

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
        # shaped for speed (a scan lists ~200,000 assets at 100,000 files): an asset read before is
        # its entry's frozen value, without a call per asset; the order is asset_ids'
        entries, rebuild = self._assets, self.asset
        ids = self._by_type.get(type, {}) if type is not None else chain.from_iterable(self._by_type.values())
        for asset_id in ids:
            frozen = entries[asset_id].frozen
            yield rebuild(asset_id) if frozen is None else frozen

    def relations(self) -> list[Relation]:
        """Relations whose both ends are known assets (an edge to an unseen issuer is dropped), in
        the order added: one list, built in a comprehension (~250,000 relations at 100,000 files)."""
        known = self._assets  # looked up here, not through __contains__
        return [
            relation for (source, target, _), relation in self._relations.items() if source in known and target in known
        ]

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

"""Observations as plain JSON values, for transport between processes and hosts (scan workers).

JSON, not pickle: a worker's answer is data the coordinator parses, never code it runs. Property
values are JSON already (the report writes them as they are); tuples come back as lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class CodecError(ValueError):
    """A value that is not an encoded observation; the message says which field is wrong."""


def encode(observation: Observation) -> dict[str, Any]:
    if isinstance(observation, Asset):
        return {
            "asset": observation.id,
            "type": str(observation.type),
            "properties": dict(observation.properties),
            "locations": [loc.as_dict() for loc in observation.locations],
        }
    if isinstance(observation, Relation):
        return {"relation": [observation.source, observation.target, str(observation.type)]}
    if isinstance(observation, SweepCounts):
        return {"sweep": {name: getattr(observation, name) for name in observation.__dataclass_fields__}}
    return {"error": [observation.target, observation.collector, observation.message]}


def decode(value: Mapping[str, Any]) -> Observation:
    try:
        if "asset" in value:
            return Asset(
                id=str(value["asset"]),
                type=AssetType(value["type"]),
                properties=freeze(dict(value["properties"])),
                locations=tuple(
                    Location(str(loc["kind"]), str(loc["ref"]), str(loc.get("detail", "")))
                    for loc in value["locations"]
                ),
            )
        if "relation" in value:
            source, target, kind = value["relation"]
            return Relation(str(source), str(target), RelationType(kind))
        if "sweep" in value:
            return SweepCounts(**{k: int(v) for k, v in dict(value["sweep"]).items()})
        if "error" in value:
            target, collector, message = value["error"]
            return CollectionError(str(target), str(collector), str(message))
    except (KeyError, TypeError, ValueError) as exc:
        raise CodecError(f"malformed observation: {type(exc).__name__}: {exc}") from None
    raise CodecError(f"not an observation: keys {sorted(value)[:5]}")


# -- the compact form: one file's observations as JSON arrays (the file cache, the sweep's workers) --
#
# Decoding is the re-scan's and the parallel sweep parent's per-file work, so the form is shaped for
# it: arrays instead of dicts, an asset's or relation's own file path written once (null stands for
# it), and a relation's end that is an asset of the same list written as that asset's index (one
# string object for both).
#   asset:    [0, id, type, properties, [[kind, ref | null, detail, scope?], ...]]
#   relation: [1, source, target, type]     (source/target: an id, an index into the list, or null)
#   error:    [2, target, collector, message]
_ASSET, _RELATION, _ERROR = 0, 1, 2
_ASSET_TYPES: dict[str, AssetType] = {t.value: t for t in AssetType}
_RELATION_TYPES: dict[str, RelationType] = {t.value: t for t in RelationType}


def pack(observations: Sequence[Asset | Relation | CollectionError], path: str | None = None) -> list[list[Any]]:
    """Observations (of one file read at ``path``) in the compact form; see ``unpack``."""
    file_id = None if path is None else f"file:{path}"
    index: dict[str, int] = {}
    out: list[list[Any]] = []
    for n, item in enumerate(observations):
        if isinstance(item, Asset):
            index.setdefault(item.id, n)
            locations = []
            for loc in item.locations:
                packed = [loc.kind, None if path is not None and loc.ref == path else loc.ref, loc.detail]
                if loc.scope:
                    packed.append(loc.scope)
                locations.append(packed)
            properties = item.properties
            if type(properties) is not FrozenProperties:  # a FrozenProperties is a dict: JSON writes it as one
                properties = dict(properties)
            out.append([_ASSET, item.id, str(item.type), properties, locations])
        elif isinstance(item, Relation):
            ends = [None if end == file_id else index.get(end, end) for end in (item.source, item.target)]
            out.append([_RELATION, *ends, str(item.type)])
        elif isinstance(item, CollectionError):
            out.append([_ERROR, item.target, item.collector, item.message])
        else:
            raise TypeError(f"not a file's observation: {type(item).__name__}")
    return out


def unpack(packed: Sequence[Any], path: str | None = None) -> tuple[Asset | Relation | CollectionError, ...]:
    """What ``pack`` wrote, for the file at ``path``; CodecError for anything else (a damaged cache)."""
    # shaped for speed: this is a re-scan's work for every unchanged file
    asset_types, relation_types = _ASSET_TYPES, _RELATION_TYPES
    file_id = None if path is None else f"file:{path}"
    out: list[Asset | Relation | CollectionError] = []
    append = out.append
    # one Location object for equal ones (a certificate and its key are at the same place)
    places: dict[tuple[Any, ...], Location] = {}
    # the id of each asset by its index in ``out``: a relation's end written as an index
    ids: dict[int, str] = {}
    try:
        for item in packed:
            tag = item[0]
            if tag == _ASSET:
                _, asset_id, kind, properties, locations = item
                if type(asset_id) is not str or type(properties) is not dict:
                    raise TypeError("an asset's id or properties")
                if len(locations) == 1:  # most assets: one place, no list built for it
                    key = tuple(locations[0])
                    place = places.get(key)
                    if place is None:
                        place = places[key] = _location(key, path)
                    found: tuple[Location, ...] = (place,)
                else:
                    several = []
                    for loc in locations:
                        key = tuple(loc)
                        place = places.get(key)
                        if place is None:
                            place = places[key] = _location(key, path)
                        several.append(place)
                    found = tuple(several)
                ids[len(out)] = asset_id
                append(Asset(asset_id, asset_types[kind], FrozenProperties(properties), found))
            elif tag == _RELATION:
                _, source, target, kind = item
                # the common ends inline (the file: null, an asset: its index); _end judges the rest
                if type(source) is not str:
                    end = ids.get(source) if type(source) is int else file_id if source is None else None
                    source = _end(source, file_id, out) if end is None else end
                if type(target) is not str:
                    end = ids.get(target) if type(target) is int else file_id if target is None else None
                    target = _end(target, file_id, out) if end is None else end
                append(Relation(source, target, relation_types[kind]))
            elif tag == _ERROR:
                _, target, collector, message = item
                if type(target) is not str or type(collector) is not str or type(message) is not str:
                    raise TypeError("an error's fields")
                append(CollectionError(target, collector, message))
            else:
                raise ValueError(f"tag {tag!r}")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CodecError(f"malformed observation: {type(exc).__name__}: {exc}") from None
    return tuple(out)


def _location(packed: tuple[Any, ...], path: str | None) -> Location:
    kind, ref, *rest = packed
    if ref is None:
        if path is None:
            raise ValueError("a location at the file's path, but no path")
        ref = path
    place = Location(kind, ref, *rest)
    if type(kind) is not str or type(ref) is not str or type(place.detail) is not str or type(place.scope) is not str:
        raise TypeError("a location's fields")
    return place


def _end(end: Any, file_id: str | None, out: Sequence[Observation]) -> str:
    """A relation's end written as null (the file itself) or an index (an asset of the same list)."""
    if end is None:
        if file_id is None:
            raise ValueError("a relation to the file, but no path")
        return file_id
    if type(end) is int and 0 <= end < len(out):
        asset = out[end]
        if isinstance(asset, Asset):
            return asset.id
    raise ValueError(f"a relation's end {end!r}")

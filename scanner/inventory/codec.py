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
    SharedValues,
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
# it), a relation's end that is an asset of the same list written as that asset's index (one string
# object for both), and property values shared as they are decoded (SharedValues).
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
            out.append([_ASSET, item.id, str(item.type), dict(item.properties), locations])
        elif isinstance(item, Relation):
            ends = [None if end == file_id else index.get(end, end) for end in (item.source, item.target)]
            out.append([_RELATION, *ends, str(item.type)])
        elif isinstance(item, CollectionError):
            out.append([_ERROR, item.target, item.collector, item.message])
        else:
            raise TypeError(f"not a file's observation: {type(item).__name__}")
    return out


def unpack(
    packed: Sequence[Any], path: str | None = None, values: SharedValues | None = None
) -> tuple[Asset | Relation | CollectionError, ...]:
    """What ``pack`` wrote, for the file at ``path``; CodecError for anything else (a damaged cache).

    Property values come out shared through ``values`` when given (the graph then skips them).
    """
    shared = values.frozen if values is not None else FrozenProperties
    file_id = None if path is None else f"file:{path}"
    out: list[Asset | Relation | CollectionError] = []
    try:
        for item in packed:
            tag = item[0]
            if tag == _ASSET:
                _, asset_id, kind, properties, locations = item
                if type(asset_id) is not str or type(properties) is not dict:
                    raise TypeError("an asset's id or properties")
                places = []
                for loc in locations:
                    ref = loc[1]
                    if ref is None:
                        if path is None:
                            raise ValueError("a location at the file's path, but no path")
                        ref = path
                    elif type(ref) is not str:
                        raise TypeError("a location's ref")
                    place = Location(loc[0], ref, *loc[2:])
                    if type(place.kind) is not str or type(place.detail) is not str or type(place.scope) is not str:
                        raise TypeError("a location's fields")
                    places.append(place)
                out.append(Asset(asset_id, _ASSET_TYPES[kind], shared(properties), tuple(places)))
            elif tag == _RELATION:
                _, source, target, kind = item
                ends = []
                for end in (source, target):
                    if end is None:
                        if file_id is None:
                            raise ValueError("a relation to the file, but no path")
                        end = file_id
                    elif type(end) is int:
                        asset = out[end] if end >= 0 else None
                        if not isinstance(asset, Asset):
                            raise ValueError("a relation's end indexes no asset")
                        end = asset.id
                    elif type(end) is not str:
                        raise TypeError("a relation's end")
                    ends.append(end)
                out.append(Relation(ends[0], ends[1], _RELATION_TYPES[kind]))
            elif tag == _ERROR:
                _, target, collector, message = item
                if type(target) is not str or type(collector) is not str or type(message) is not str:
                    raise TypeError("an error's fields")
                out.append(CollectionError(target, collector, message))
            else:
                raise ValueError(f"tag {tag!r}")
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CodecError(f"malformed observation: {type(exc).__name__}: {exc}") from None
    return tuple(out)

"""Observations as plain JSON values, for transport between processes and hosts (scan workers).

JSON, not pickle: a worker's answer is data the coordinator parses, never code it runs. Property
values are JSON already (the report writes them as they are); tuples come back as lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
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

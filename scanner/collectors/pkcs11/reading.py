"""What the worker read from a module, as plain data: the contract between worker and collector.

The worker (a child process that loads the module) writes this as JSON; the collector reads it
back and turns it into assets. Attribute values are JSON-friendly: bytes as hex, dates as ISO
strings, enums by name. Nothing secret is ever read: no CKA_VALUE of a key or data object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# how an attribute that could not be read is marked, instead of a value
UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class ObjectReading:
    object_class: str  # "private-key", "public-key", "secret-key", "certificate", "data"
    # attribute name (CKA_ without prefix, lower case) -> value; absent when the object has none
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # attribute -> why the token would not show it ("sensitive", "general error", ...)
    refused: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectReading:
        return cls(str(data["object_class"]), dict(data.get("attributes", {})), dict(data.get("refused", {})))


@dataclass(frozen=True, slots=True)
class MechanismReading:
    name: str  # "CKM_AES_CBC", or hex for vendor-defined ones
    functions: tuple[str, ...] = ()  # "encrypt", "sign", "wrap", ...
    min_key_size: int | None = None
    max_key_size: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MechanismReading:
        return cls(
            str(data["name"]), tuple(data.get("functions", ())), data.get("min_key_size"), data.get("max_key_size")
        )


@dataclass(frozen=True, slots=True)
class TokenReading:
    slot_id: int
    slot_description: str
    label: str
    serial: str
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    flags: tuple[str, ...]
    logged_in: bool
    mechanisms: tuple[MechanismReading, ...] = ()
    objects: tuple[ObjectReading, ...] = ()
    # objects whose class the token would not show: counted, never guessed
    refused_objects: int = 0
    # problems that did not stop the token's scan (e.g. mechanism list unreadable)
    problems: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TokenReading:
        return cls(
            slot_id=int(data["slot_id"]),
            slot_description=str(data.get("slot_description", "")),
            label=str(data.get("label", "")),
            serial=str(data.get("serial", "")),
            manufacturer=str(data.get("manufacturer", "")),
            model=str(data.get("model", "")),
            hardware_version=str(data.get("hardware_version", "")),
            firmware_version=str(data.get("firmware_version", "")),
            flags=tuple(data.get("flags", ())),
            logged_in=bool(data.get("logged_in", False)),
            mechanisms=tuple(MechanismReading.from_json(m) for m in data.get("mechanisms", ())),
            objects=tuple(ObjectReading.from_json(o) for o in data.get("objects", ())),
            refused_objects=int(data.get("refused_objects", 0)),
            problems=tuple(data.get("problems", ())),
        )


@dataclass(frozen=True, slots=True)
class ModuleReading:
    tokens: tuple[TokenReading, ...] = ()
    # per-token or whole-module failures, as messages naming the token (never the PIN)
    errors: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleReading:
        return cls(
            tokens=tuple(TokenReading.from_json(t) for t in data.get("tokens", ())),
            errors=tuple(str(e) for e in data.get("errors", ())),
        )

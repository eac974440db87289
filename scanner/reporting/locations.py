"""Where a finding is, for the formats that point at places (SARIF, CSV)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.inventory.model import Asset, AssetType, Location

_LINE = re.compile(r"\bline (\d+)\b")
_FILE_KINDS = frozenset({"file", "config", "keystore", "trust-store"})


@dataclass(frozen=True, slots=True)
class Place:
    """A file (with a line where known) or a logical place (an endpoint, a token)."""

    path: str | None = None
    line: int | None = None
    logical: str | None = None
    kind: str = ""
    detail: str = ""

    def __str__(self) -> str:
        if self.path:
            return f"{self.path}:{self.line}" if self.line else self.path
        return self.logical or ""


def places(asset: Asset | None, asset_id: str) -> list[Place]:
    """Every place the asset was seen; an asset seen nowhere is placed at its own id."""
    if asset is None:
        return [Place(logical=asset_id, kind="asset")]
    found = [_place(loc) for loc in asset.locations] or [_unseen(asset)]
    return list(dict.fromkeys(found))


def first_place(asset: Asset | None, asset_id: str) -> Place:
    """``places(asset, asset_id)[0]`` without building the others: a key shared by thousands of
    files has thousands of locations, and the terminal table names each asset by its first."""
    if asset is None:
        return Place(logical=asset_id, kind="asset")
    return _place(asset.locations[0]) if asset.locations else _unseen(asset)


def _place(loc: Location) -> Place:
    if loc.kind in _FILE_KINDS or loc.ref.startswith("/"):
        match = _LINE.search(loc.detail)
        return Place(path=loc.ref, line=int(match.group(1)) if match else None, detail=loc.detail)
    return Place(logical=loc.ref, kind=loc.kind, detail=loc.detail)


def _unseen(asset: Asset) -> Place:
    path = asset.properties.get("path")
    if asset.type in (AssetType.FILE, AssetType.CONFIG, AssetType.TRUST_STORE) and isinstance(path, str):
        return Place(path=path)
    return Place(logical=asset.id, kind=asset.type.value)

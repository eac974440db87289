"""Where a finding is, for the formats that point at places (SARIF, CSV)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.inventory.model import Asset, AssetType

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
    found: list[Place] = []
    for loc in asset.locations:
        if loc.kind in _FILE_KINDS or loc.ref.startswith("/"):
            match = _LINE.search(loc.detail)
            found.append(Place(path=loc.ref, line=int(match.group(1)) if match else None, detail=loc.detail))
        else:
            found.append(Place(logical=loc.ref, kind=loc.kind, detail=loc.detail))
    if not found:
        path = asset.properties.get("path")
        if asset.type in (AssetType.FILE, AssetType.CONFIG, AssetType.TRUST_STORE) and isinstance(path, str):
            found.append(Place(path=path))
        else:
            found.append(Place(logical=asset.id, kind=asset.type.value))
    return list(dict.fromkeys(found))

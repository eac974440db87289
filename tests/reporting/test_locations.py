"""first_place is places()[0] for every kind of asset, without reading the other places."""

from __future__ import annotations

from pathlib import Path

from scanner.inventory.model import Asset, AssetType, Location, freeze
from scanner.reporting.locations import first_place, places
from scanner.reporting.table import asset_name
from tests.support.scans import mixed_tree, scan_paths


def test_first_place_is_the_first_of_places_on_a_real_scan(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    result = scan_paths(tmp_path)
    assert result.assets
    for asset in result.assets:
        assert first_place(asset, asset.id) == places(asset, asset.id)[0]


def test_first_place_of_awkward_assets() -> None:
    undecodable = "/srv/k\udcff\u00e9y.pem"  # a non-UTF-8 file name (surrogate escape) and non-ASCII
    shared = Asset(
        "key:1",
        AssetType.KEY,
        freeze({}),
        tuple(Location("file", f"{undecodable}.{n}", f"PEM block {n % 3}, line {n}") for n in range(1, 5001)),
    )
    endpoint = Asset("tls:h:443", AssetType.TLS_ENDPOINT, freeze({}), (Location("tls", "h:443", "port 443"),))
    bare_file = Asset("file:/etc/x", AssetType.FILE, freeze({"path": undecodable}))
    bare_key = Asset("key:2", AssetType.KEY)
    for asset in (shared, endpoint, bare_file, bare_key):
        assert first_place(asset, asset.id) == places(asset, asset.id)[0]
    assert first_place(None, "gone") == places(None, "gone")[0]
    assert str(first_place(shared, shared.id)) == f"{undecodable}.1:1"
    assert asset_name(bare_file, bare_file.id) == undecodable

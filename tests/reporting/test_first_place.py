"""The terminal table names an asset by its first place; ``first_place`` finds it without building
every place of a key shared by thousands of files (issue 12: 0.2 s of a 20,000-file scan)."""

from __future__ import annotations

import shutil
from pathlib import Path

from scanner.engine.rules import discover_packs
from scanner.inventory.model import Asset, AssetType, Location, freeze
from scanner.reporting.locations import first_place, places
from scanner.reporting.table import render_table
from scanner.scan import ScanRequest, path_targets, run_scan
from tests.support import pki

ROOT = Path(__file__).resolve().parents[2]


def test_first_place_is_the_first_of_places_for_every_asset_of_a_real_scan(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "sample-targets" / "configs", tree / "configs", symlinks=True)
    # one key and its certificate in many files: assets with many locations
    key = pki.ec_key()
    cert = pki.certificate(key, "shared.example")
    for i in range(60):
        pki.write(tree / "copies" / f"c{i:02d}.pem", pki.pem(cert) + pki.key_pem(key))
    packs = tuple(p for p in discover_packs().values() if p.default)
    result = run_scan(ScanRequest(targets=tuple(path_targets([tree])), packs=packs))
    crowded = [a for a in result.assets if len(a.locations) >= 60]
    assert crowded, "the copies should make assets seen in many places"
    assert any(a.type is AssetType.SECRET or "line " in str(a.locations) for a in result.assets)
    for asset in result.assets:
        assert first_place(asset, asset.id) == places(asset, asset.id)[0], asset.id
    assert first_place(None, "tls:gone:443") == places(None, "tls:gone:443")[0]
    render_table(result, limit=None)  # every row named, whatever the number of places


def test_first_place_of_assets_seen_nowhere_or_elsewhere() -> None:
    unseen_file = Asset("file:/etc/x", AssetType.FILE, freeze({"path": "/etc/x"}))
    unseen_key = Asset("key:spki-sha256:00", AssetType.KEY, freeze({}))
    token = Asset(
        "key:pkcs11:1:2",
        AssetType.KEY,
        freeze({}),
        (Location("pkcs11", "pkcs11:1", "label 'k'"), Location("file", "/k.pem", "line 7")),
    )
    lined = Asset("secret:ab", AssetType.SECRET, freeze({}), (Location("file", "/app/.env", "line 12"),))
    for asset in (unseen_file, unseen_key, token, lined):
        assert first_place(asset, asset.id) == places(asset, asset.id)[0]
    assert str(first_place(lined, lined.id)) == "/app/.env:12"
    assert str(first_place(token, token.id)) == "pkcs11:1"

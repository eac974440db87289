"""Issue 12 item 2: enrichment writes each asset's properties once, and an Asset handed out never changes."""

from __future__ import annotations

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, Location, freeze


def _key(key_id: str = "key:spki-sha256:ab", **extra: object) -> Asset:
    properties = {"algorithm": "RSA", "key_size": 2048, "curve": None, **extra}
    return Asset(key_id, AssetType.KEY, freeze(properties), (Location("file", "/k.pem"),))


def test_updates_write_one_copy_and_handed_out_assets_stay_as_they_were() -> None:
    graph = InventoryGraph()
    collected = _key()
    graph.add_asset(collected)
    graph.update_properties(collected.id, {"security_bits": 112})
    graph.update_properties(collected.id, {"quantum_vulnerable": True, "fips_note": None})
    first = graph.asset(collected.id)
    # the collector's asset is untouched; the graph's copy holds both updates, and is not copied again
    assert "security_bits" not in collected.properties
    assert first.properties["security_bits"] == 112 and first.properties["quantum_vulnerable"] is True
    assert "fips_note" not in first.properties  # None never overwrites or adds
    assert graph.asset(collected.id) is first
    assert graph.asset(collected.id).properties is first.properties
    # a later write (a second sighting, more enrichment) copies first: `first` never changes
    graph.add_asset(_key(has_private_key=True))
    graph.update_properties(collected.id, {"security_bits": 128})
    second = graph.asset(collected.id)
    assert first.properties["security_bits"] == 112 and "has_private_key" not in first.properties
    assert second.properties["security_bits"] == 128 and second.properties["has_private_key"] is True
    try:
        second.properties["x"] = 1  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("handed-out properties must stay read-only")

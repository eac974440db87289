"""Equal small property values are one object across assets (issue 12: peak memory of large sweeps).

A parallel sweep decodes every certificate's issuer, algorithm names and key-usage lists anew; the
graph keeps one object for equal values. Nothing an asset says may change, and an asset changed
later (enrichment, a merge) must not change another through a shared value.
"""

from __future__ import annotations

import json

from scanner.inventory.graph import InventoryGraph, _SharedValues
from scanner.inventory.model import Asset, AssetType, Location, freeze


def _certificate(n: int, issuer: str) -> Asset:
    # json round trip: distinct objects for equal values, as the parallel sweep's decoding gives
    properties = json.loads(
        json.dumps(
            {
                "issuer": issuer,
                "subject": f"CN=host{n}.example",
                "key_usage": ["digitalSignature", "keyEncipherment"],
                "san": [f"host{n}.example", f"www.host{n}.example"],
                "serial": f"{n:040x}",
                "validity_days": 397,
            }
        )
    )
    return Asset(
        id=f"cert:sha256:{n:064x}",
        type=AssetType.CERTIFICATE,
        properties=freeze(properties),
        locations=(Location("file", f"/srv/c{n}.pem"),),
    )


def test_equal_values_are_one_object_and_say_the_same() -> None:
    graph = InventoryGraph()
    first, second = _certificate(1, "CN=Issuing CA,O=Example"), _certificate(2, "CN=Issuing CA,O=Example")
    assert first.properties["issuer"] is not second.properties["issuer"]
    expected = [dict(first.properties), dict(second.properties)]
    graph.add_all([first, second])
    one, two = graph.asset(first.id).properties, graph.asset(second.id).properties
    assert [dict(one), dict(two)] == expected
    assert one["issuer"] is two["issuer"]
    assert one["key_usage"] is two["key_usage"]
    assert one["san"] != two["san"] and one["serial"] != two["serial"]


def test_a_later_change_to_one_asset_leaves_the_other_alone() -> None:
    graph = InventoryGraph()
    first, second = _certificate(1, "CN=CA"), _certificate(2, "CN=CA")
    graph.add_all([first, second])
    graph.update_properties(first.id, {"key_usage": ["keyCertSign"], "issuer": "CN=Other"})
    assert graph.asset(first.id).properties["key_usage"] == ["keyCertSign"]
    assert graph.asset(second.id).properties["key_usage"] == ["digitalSignature", "keyEncipherment"]
    assert graph.asset(second.id).properties["issuer"] == "CN=CA"


def test_unique_values_stop_being_remembered_past_the_limit() -> None:
    shared = _SharedValues()
    for n in range(_SharedValues.LIMIT + 100):
        shared.share(freeze({"serial": f"{n:040x}"}))
    assert len(shared._seen) == _SharedValues.LIMIT
    # values seen before the limit are still shared after it
    late = freeze(json.loads(json.dumps({"serial": f"{7:040x}"})))
    shared.share(late)
    assert late["serial"] is shared._seen[f"{7:040x}"]

"""InventoryGraph: one node per asset, merged properties and locations, relations between known assets."""

from __future__ import annotations

import pickle

import pytest

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Relation, RelationType, freeze


def key(locations: tuple[Location, ...], **props: object) -> Asset:
    base = {"algorithm": "RSA", "key_size": 2048, "curve": None}
    return Asset("key:spki-sha256:ab", AssetType.KEY, freeze({**base, **props}), locations)


def test_the_same_key_seen_twice_is_one_node_with_both_locations() -> None:
    graph = InventoryGraph()
    in_cert = Location("file", "/etc/ssl/server.crt", "PEM block 1 (CERTIFICATE)")
    in_key = Location("file", "/etc/ssl/server.key", "PEM block 1 (PRIVATE KEY)")
    graph.add(key((in_cert,), has_private_key=False, encrypted_at_rest=None))
    graph.add(key((in_key,), has_private_key=True, encrypted_at_rest=False))
    graph.add(key((in_cert,), has_private_key=False, encrypted_at_rest=None))  # seen again: no duplicate
    [merged] = list(graph.assets(AssetType.KEY))
    assert merged.locations == (in_cert, in_key)
    assert merged.properties["has_private_key"] is True
    assert merged.properties["encrypted_at_rest"] is False


def test_encrypted_at_rest_only_when_every_copy_is() -> None:
    graph = InventoryGraph()
    graph.add(key((Location("file", "/a"),), has_private_key=True, encrypted_at_rest=True))
    graph.add(key((Location("file", "/b"),), has_private_key=True, encrypted_at_rest=False))
    assert graph.asset("key:spki-sha256:ab").properties["encrypted_at_rest"] is False


def test_relations_to_unknown_assets_are_left_out_and_duplicates_dropped() -> None:
    graph = InventoryGraph()
    graph.add(key(()))
    graph.add(Asset("cert:sha256:cd", AssetType.CERTIFICATE))
    graph.add(Relation("cert:sha256:cd", "key:spki-sha256:ab", RelationType.CERTIFIES))
    graph.add(Relation("cert:sha256:cd", "key:spki-sha256:ab", RelationType.CERTIFIES))
    graph.add(Relation("cert:sha256:cd", "cert:sha256:unseen-issuer", RelationType.ISSUED_BY))
    assert list(graph.relations()) == [Relation("cert:sha256:cd", "key:spki-sha256:ab", RelationType.CERTIFIES)]
    assert [a.id for a in graph.predecessors("key:spki-sha256:ab", RelationType.CERTIFIES)] == ["cert:sha256:cd"]


def test_errors_are_kept_and_assets_are_read_only() -> None:
    graph = InventoryGraph()
    graph.add(CollectionError("/x", "files", "cannot read file: Permission denied"))
    assert graph.errors[0].target == "/x"
    asset = key(())
    with pytest.raises(TypeError):
        asset.properties["key_size"] = 4096  # type: ignore[index]
    assert pickle.loads(pickle.dumps(asset)) == asset


def test_the_networkx_view_holds_every_asset_and_typed_relation() -> None:
    graph = InventoryGraph()
    graph.add(key((Location("file", "/k"),)))
    cert = Asset("cert:sha256:cd", AssetType.CERTIFICATE, freeze({}), ())
    graph.add(cert)
    graph.add(Relation(cert.id, "key:spki-sha256:ab", RelationType.CERTIFIES))
    graph.add(Relation(cert.id, "file:/gone", RelationType.STORED_IN))  # to an asset never seen
    view = graph.nx
    assert set(view.nodes) == {cert.id, "key:spki-sha256:ab", "file:/gone"}
    assert sorted(view.edges(keys=True)) == [
        (cert.id, "file:/gone", RelationType.STORED_IN),
        (cert.id, "key:spki-sha256:ab", RelationType.CERTIFIES),
    ]


def _merged_as_before(sightings: list[dict[str, object]]) -> dict[str, object]:
    """The merge as it was written before its fast path: a function call per property."""

    def any_(old: object, new: object) -> object:
        return bool(old) or bool(new)

    def all_(old: object, new: object) -> object:
        if old is None:
            return new
        if new is None:
            return old
        return bool(old) and bool(new)

    def first_known(old: object, new: object) -> object:
        return new if old is None else old

    rules = {"has_private_key": any_, "encrypted_at_rest": all_}
    current = dict(sightings[0])
    for properties in sightings[1:]:
        for name, value in properties.items():
            merged = rules.get(name, first_known)(current.get(name), value)
            if merged != current.get(name) or name not in current:
                current[name] = merged
    return current


def test_merging_says_what_the_per_property_merge_said() -> None:
    values: list[object] = [None, False, True, 0, 1, "", "x", [], ["a"]]
    names = ["has_private_key", "encrypted_at_rest", "curve", "key_size"]
    cases = 0
    for first in values:
        for second in values:
            for third in (None, True, "y"):
                sightings: list[dict[str, object]] = [
                    {"has_private_key": first, "curve": first},
                    {"has_private_key": second, "encrypted_at_rest": second, "curve": second, "key_size": first},
                    {"encrypted_at_rest": third, "key_size": third},
                ]
                graph = InventoryGraph()
                for n, properties in enumerate(sightings):
                    graph.add(Asset("key:1", AssetType.KEY, freeze(properties), (Location("file", f"/k{n}"),)))
                merged = dict(graph.asset("key:1").properties)
                expected = _merged_as_before(sightings)
                assert merged == expected
                assert [type(merged.get(n)) for n in names] == [type(expected.get(n)) for n in names]
                cases += 1
    assert cases == len(values) ** 2 * 3


def test_the_same_properties_seen_again_merge_as_any_other_sighting() -> None:
    # equal mappings take the graph's one-comparison path; what it merges must be what the
    # per-property merge says, types included (1 == True, None -> False for has_private_key)
    values: list[object] = [None, False, True, 0, 1, "", "x", [], ["a"]]
    cases = 0
    for first in values:
        for second in values:
            base = {"has_private_key": first, "encrypted_at_rest": second, "curve": second, "key_size": first}
            for again in (dict(base), {**base, "has_private_key": True if first == 1 else first}):
                sightings: list[dict[str, object]] = [base, again, dict(again), dict(base)]
                graph = InventoryGraph()
                for n, properties in enumerate(sightings):
                    graph.add(Asset("key:1", AssetType.KEY, freeze(properties), (Location("file", f"/k{n % 2}"),)))
                merged = dict(graph.asset("key:1").properties)
                expected = _merged_as_before(sightings)
                assert merged == expected
                assert [type(v) for v in merged.values()] == [type(expected[k]) for k in merged]
                assert graph.locations_of("key:1") == (Location("file", "/k0"), Location("file", "/k1"))
                cases += 1
    assert cases == len(values) ** 2 * 2


def test_values_that_cannot_be_shared_are_left_as_they_are() -> None:
    # a CRL's entries: a list of dicts (unhashable), and lists of other things than text
    entries = [{"serial": "01", "reason": None}]
    graph = InventoryGraph()
    for n in range(3):
        properties = {"entries": [dict(e) for e in entries], "numbers": [1, 2], "flags": [True]}
        graph.add(Asset(f"cert:{n}", AssetType.CERTIFICATE, freeze(properties)))
    graph.add(Asset("cert:9", AssetType.CERTIFICATE, freeze({"numbers": [True, 2], "flags": [1]})))
    assert graph.asset("cert:0").properties["entries"] == entries
    # [True, 2] == [1, 2], but says something else: never given the other's list
    assert graph.asset("cert:9").properties["numbers"] == [True, 2]
    assert type(graph.asset("cert:9").properties["numbers"][0]) is bool
    assert type(graph.asset("cert:9").properties["flags"][0]) is int

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

"""systems.toml: loading with clear errors, assignment by every kind of selector, attested facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, freeze
from scanner.inventory.systems import SystemsError, assign, error_systems, load_systems, parse_systems
from scanner.resources import reports_dir


def _endpoint(host: str, port: int) -> Asset:
    return Asset(f"tls:{host}:{port}", AssetType.TLS_ENDPOINT, freeze({"host": host, "port": port}))


def _file_key(path: str, name: str) -> Asset:
    return Asset(f"key:spki-sha256:{name}", AssetType.KEY, freeze({"algorithm": "RSA"}), (Location("file", path),))


def test_the_sample_systems_file_loads() -> None:
    config = load_systems(reports_dir().parent / "sample-targets" / "systems.toml")
    assert [s.id for s in config.systems] == ["payments", "intranet", "records-archive"]
    assert {s.impact for s in config.systems} == {"high", "moderate", "low"}
    assert len({s.data_ttl_years for s in config.systems}) == 3
    assert any("cannot_migrate" in entry.facts for entry in config.asset_facts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[system]]\nid = "a"\nimpact = "severe"\n', "impact must be one of low, moderate, high"),
        ('[[system]]\nid = "a"\ncolour = "red"\n', "unknown key(s) colour"),
        ('[[system]]\nname = "no id"\n', "missing id"),
        ('[[system]]\nid = "a"\n[[system]]\nid = "a"\n', "declared twice"),
        ('[[system]]\nid = "a"\n[system.match]\nendpoints = ["10.0.0.1"]\n', "not HOST:PORT"),
        ('[[system]]\nid = "a"\ndata_ttl_years = "ten"\n', "data_ttl_years must be a number"),
        ('[[system]]\nid = "a"\n[[asset]]\nfacts = {x = 1}\n', "name the assets with id, ids or match"),
        ("[[system]]\nid = ", "not valid TOML"),
        ("[owners]\nx = 1\n", "unknown key(s) owners"),
    ],
)
def test_a_bad_systems_file_names_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "systems.toml"
    path.write_text(text)
    with pytest.raises(SystemsError) as err:
        load_systems(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_selectors_assign_assets_and_membership_flows_to_certificates_and_keys() -> None:
    config = parse_systems(
        {
            "system": [
                {"id": "web", "match": {"hosts": ["*.example.org"], "endpoints": ["10.1.0.0/16:443"]}},
                {"id": "vault", "match": {"tokens": ["vault-hsm"], "paths": ["/srv/vault"]}},
                {"id": "all-https", "match": {"endpoints": ["*:443"]}},
            ],
            "asset": [{"id": "key:spki-sha256:legacy", "facts": {"cannot_migrate": "vendor appliance"}}],
        },
        "inline",
    )
    web = _endpoint("www.example.org", 443)
    internal = _endpoint("10.1.2.3", 443)
    other = _endpoint("10.2.0.1", 8443)
    cert = Asset("cert:sha256:c1", AssetType.CERTIFICATE, freeze({}), (Location("tls", "tls:www.example.org:443"),))
    key = Asset("key:spki-sha256:k1", AssetType.KEY, freeze({}))  # seen nowhere itself: inherits through the cert
    token = Asset("pkcs11:SERIAL1", AssetType.HSM_TOKEN, freeze({"label": "vault-hsm"}))
    on_token = Asset("key:pkcs11:SERIAL1:7", AssetType.KEY, freeze({}), (Location("pkcs11", "pkcs11:SERIAL1"),))
    in_tree = _file_key("/srv/vault/conf/tls.key", "vaultfile")
    beside = _file_key("/srv/vaultx/tls.key", "beside")  # "/srv/vault" names a tree, not a prefix
    legacy = _file_key("/opt/legacy/a.key", "legacy")
    assets = [web, internal, other, cert, key, token, on_token, in_tree, beside, legacy]
    relations = [
        Relation(web.id, cert.id, RelationType.PRESENTS),
        Relation(cert.id, key.id, RelationType.CERTIFIES),
    ]
    got = assign(config, assets, relations)
    assert got.systems[web.id] == ("web", "all-https")
    assert got.systems[internal.id] == ("web", "all-https")
    assert got.systems[other.id] == ()
    assert got.systems[cert.id] == ("web", "all-https") and got.systems[key.id] == ("web", "all-https")
    assert got.systems[token.id] == ("vault",) and got.systems[on_token.id] == ("vault",)
    assert got.systems[in_tree.id] == ("vault",) and got.systems[beside.id] == ()
    assert got.facts == {legacy.id: {"cannot_migrate": "vendor appliance"}}
    assert error_systems(config, "/srv/vault/broken.pem") == ("vault",)
    assert error_systems(config, "10.1.9.9:443") == ("web", "all-https")

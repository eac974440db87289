"""keysweep impact: everything that depends on a compromised key or certificate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.engine.impact import ImpactError, blast_radius, resolve_asset
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType, freeze
from tests.engine.helpers import cert_id, endpoint, key_id, relate, scan, symmetric_key, write_cert
from tests.support import pki


@pytest.fixture
def pki_files(tmp_path: Path) -> dict[str, object]:
    ca_key, web_key, api_key, other_key = pki.ec_key(), pki.ec_key(), pki.ec_key(), pki.ec_key()
    ca = pki.certificate(ca_key, "Example CA", ca=True, days=3650)
    web = pki.certificate(web_key, "web.example", issuer_key=ca_key, issuer_name="Example CA")
    api = pki.certificate(api_key, "api.example", issuer_key=ca_key, issuer_name="Example CA")
    other = pki.certificate(other_key, "other.example")
    directory = tmp_path / "pki"
    for name, cert in (("ca.pem", ca), ("web.pem", web), ("api.pem", api), ("other.pem", other)):
        write_cert(directory, name, cert)
    web_key_file = pki.write(directory / "web.key", pki.key_pem(web_key))
    return {
        "dir": directory,
        "ca_key": key_id(ca_key.public_key()),
        "ca": cert_id(ca),
        "web": cert_id(web),
        "api": cert_id(api),
        "web_key": key_id(web_key.public_key()),
        "api_key": key_id(api_key.public_key()),
        "other": cert_id(other),
        "web_key_file": web_key_file,
    }


def _graph(files: dict[str, object]) -> InventoryGraph:
    result = scan([Path(str(files["dir"]))], [])
    graph = InventoryGraph()
    graph.add_all(result.assets)
    graph.add_all(result.relations)
    # what the TLS and config collectors (other branches) will add: an endpoint and its config
    web_endpoint = endpoint(graph, "10.0.0.5", ["X25519"])
    relate(graph, web_endpoint, str(files["web"]), RelationType.PRESENTS)
    config_id = "config:nginx:/etc/nginx/sites/web.conf"
    graph.add_asset(Asset(config_id, AssetType.CONFIG, freeze({"kind": "nginx"})))
    relate(graph, config_id, web_endpoint, RelationType.CONFIGURES)
    relate(graph, config_id, f"file:{files['web_key_file']}", RelationType.REFERENCES)
    return graph


def test_compromised_ca_key_reaches_issued_certificates_endpoints_and_configs(pki_files: dict[str, object]) -> None:
    graph = _graph(pki_files)
    impact = blast_radius(graph, str(pki_files["ca_key"]))
    found = {d.asset.id: d.how for d in impact.dependents}
    assert found == {
        pki_files["ca"]: "certificate binding the key",
        pki_files["web"]: "certificate issued (signed) by it",
        pki_files["api"]: "certificate issued (signed) by it",
        "tls:10.0.0.5:443": "endpoint presenting the certificate",
        "config:nginx:/etc/nginx/sites/web.conf": "configuration of the endpoint",
    }
    # a CA compromise makes the leaf certificates untrustworthy, not the leaves' own keys
    assert pki_files["web_key"] not in found and pki_files["other"] not in found


def test_compromised_leaf_key_reaches_its_certificate_endpoint_and_the_config_holding_it(
    pki_files: dict[str, object],
) -> None:
    graph = _graph(pki_files)
    impact = blast_radius(graph, str(pki_files["web_key"]))
    assert {d.asset.id for d in impact.dependents} == {
        pki_files["web"],
        "tls:10.0.0.5:443",
        "config:nginx:/etc/nginx/sites/web.conf",
    }
    assert {a.id for a in impact.held_in} >= {f"file:{pki_files['web_key_file']}"}


def test_certificate_start_includes_its_key_and_wrapped_keys_follow() -> None:
    graph = InventoryGraph()
    kek = symmetric_key(graph, "kek", "AES", 256)
    data_key = symmetric_key(graph, "data", "AES", 256)
    inner = symmetric_key(graph, "inner", "AES", 128)
    relate(graph, kek, data_key, RelationType.WRAPS)
    relate(graph, data_key, inner, RelationType.WRAPS)
    impact = blast_radius(graph, kek)
    assert [(d.asset.id, d.depth) for d in impact.dependents] == [(data_key, 1), (inner, 2)]
    with pytest.raises(ImpactError, match="starts from a key or a certificate"):
        blast_radius(graph, endpoint(graph, "h", None))


def test_resolve_by_fingerprint_and_by_file(pki_files: dict[str, object]) -> None:
    graph = _graph(pki_files)
    web = str(pki_files["web"])
    assert resolve_asset(graph, web.split(":")[-1][:20]) == web
    assert resolve_asset(graph, str(pki_files["web_key_file"])) == pki_files["web_key"]
    with pytest.raises(ImpactError, match="no key or certificate matches"):
        resolve_asset(graph, "zzzz-not-there")


def test_cli_impact_from_report_and_from_paths(pki_files: dict[str, object], tmp_path: Path) -> None:
    runner = CliRunner()
    report = tmp_path / "report.json"
    assert runner.invoke(main, ["scan", "--path", str(pki_files["dir"]), "--json", str(report)]).exit_code == 0
    from_report = runner.invoke(main, ["impact", str(pki_files["ca"]), "--report", str(report), "--json"])
    assert from_report.exit_code == 0, from_report.output
    data = json.loads(from_report.output)
    assert {d["id"] for d in data["dependents"]} == {pki_files["ca_key"], pki_files["web"], pki_files["api"]}
    text = runner.invoke(main, ["impact", str(pki_files["ca"]), "--path", str(pki_files["dir"])])
    assert text.exit_code == 0, text.output
    assert "certificate (2)" in text.output and "web.example" in text.output
    neither = runner.invoke(main, ["impact", "x"])
    assert neither.exit_code == 2

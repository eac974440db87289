"""Three hosts, each scanning its own copy of the sample material, two sharing one private key:
straight into the store and through signed bundles."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization

from scanner.store.backends import open_store
from tests.store.helpers import variant
from tests.support.scans import keysweep, mixed_tree

HOSTS = ("web-1", "web-2", "db-1")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tree per host; web-2 holds a copy of web-1's private key (the key copied across servers)."""
    root = tmp_path_factory.mktemp("estate")
    trees = {}
    for host in HOSTS:
        mixed_tree(root / host)
        trees[host] = root / host
    shutil.copy(trees["web-1"] / "weak.key", trees["web-2"] / "copied.key")
    return trees


def _shared_key(trees: dict[str, Path]) -> str:
    """The copied key's asset id, computed independently of keysweep (SHA-256 of its SPKI)."""
    key = serialization.load_pem_private_key((trees["web-1"] / "weak.key").read_bytes(), None)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"key:spki-sha256:{hashlib.sha256(spki).hexdigest()}"


def _fleet_report(store: str, out: Path) -> dict:  # type: ignore[type-arg]
    done = keysweep(
        "fleet", "report", "--store", store, "--json", str(out / "fleet.json"), "--html", str(out / "f.html")
    )
    assert done.returncode == 0, done.stderr
    report: dict = json.loads((out / "fleet.json").read_bytes())  # type: ignore[type-arg]
    return report


def _assert_shared_key_flagged(report: dict, key_id: str) -> None:  # type: ignore[type-arg]
    nodes = [a for a in report["assets"] if a["id"] == key_id]
    assert len(nodes) == 1  # one node for the key, wherever it was seen
    assert {loc["scope"] for loc in nodes[0]["locations"]} == {"web-1", "web-2"}
    copied = [f for f in report["findings"] if f["rule_id"] == "fleet.key.private-key-on-several-hosts"]
    assert [f["asset_id"] for f in copied] == [key_id]
    assert copied[0]["evidence"]["scopes"] == ["web-1", "web-2"]
    assert "web-1" in copied[0]["message"] and "web-2" in copied[0]["message"]
    # the fleet findings come first
    assert report["findings"][0]["rule_id"].startswith("fleet.")
    assert sorted(report["scan"]["targets"]) == sorted(f"scope:{h}" for h in HOSTS)


def test_three_hosts_into_one_store(estate: dict[str, Path], tmp_path: Path) -> None:
    store = str(tmp_path / "central.sqlite3")
    for host, tree in estate.items():
        done = keysweep("scan", "--path", str(tree), "--scope", host, "--store", store)
        assert done.returncode == 0, done.stderr
    report = _fleet_report(store, tmp_path)
    _assert_shared_key_flagged(report, _shared_key(estate))
    jsonschema.validate(report, json.loads((ROOT / "reports" / "report.schema.json").read_text()))
    assert sorted(s["scope"] for s in report["scopes"]) == sorted(HOSTS)
    # the HTML: the fleet findings and the readiness per scope first, before the overview
    html = (tmp_path / "f.html").read_text()
    fleet_at, overview_at = html.index('id="fleet"'), html.index('id="overview"')
    assert fleet_at < html.index("Private key copied across hosts") < overview_at
    for s in report["scopes"]:
        assert f"<td>{s['scope']}</td>" in html[fleet_at:overview_at]
        assert f"{s['readiness']}%" in html[fleet_at:overview_at]
    scopes = keysweep("fleet", "scopes", "--store", store, "--json")
    listed = json.loads(scopes.stdout)
    assert sorted(s["scope"] for s in listed) == sorted(HOSTS)
    assert all(s["assets"] > 0 and 0 <= s["readiness"] <= 100 for s in listed)


def test_three_hosts_through_signed_bundles(estate: dict[str, Path], tmp_path: Path, postgres_server) -> None:  # type: ignore[no-untyped-def]
    store = postgres_server.new_database()
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    bundles = []
    for host, tree in estate.items():
        key = tmp_path / f"{host}.key"
        assert keysweep("keygen", str(key)).returncode == 0
        assert key.stat().st_mode & 0o777 == 0o600
        shutil.copy(f"{key}.pub", trusted / f"{host}.pub")
        bundle = tmp_path / f"{host}.bundle"
        done = keysweep(
            "scan",
            "--path",
            str(tree),
            "--scope",
            host,
            "--no-store",
            "--bundle",
            str(bundle),
            "--signing-key",
            str(key),
        )
        assert done.returncode == 0, done.stderr
        bundles.append(bundle)

    # one byte altered in web-1's bundle: rejected by name, exit 2, nothing of it stored
    altered = tmp_path / "altered.bundle"
    data = bytearray(bundles[0].read_bytes())
    data[len(data) // 2] ^= 0x01
    altered.write_bytes(bytes(data))
    rejected = keysweep("ingest", "--store", store, "--trusted-keys", str(trusted), str(altered))
    assert rejected.returncode == 2
    assert f"bundle {altered} rejected (bad-signature)" in rejected.stderr
    with open_store(store) as opened:
        assert opened.scans() == []

    done = keysweep("ingest", "--store", store, "--trusted-keys", str(trusted), *map(str, bundles))
    assert done.returncode == 0, done.stderr
    again = keysweep("ingest", "--store", store, "--trusted-keys", str(trusted), str(bundles[0]))
    assert again.returncode == 0 and "1 duplicate" in again.stderr
    with open_store(store) as opened:
        assert sorted(s.scope for s in opened.scans()) == sorted(HOSTS)
        assert opened.verify().ok
    _assert_shared_key_flagged(_fleet_report(store, tmp_path), _shared_key(estate))


def test_bundle_rejections_are_named(tmp_path: Path, estate: dict[str, Path]) -> None:
    key, stranger = tmp_path / "host.key", tmp_path / "stranger.key"
    for k in (key, stranger):
        assert keysweep("keygen", str(k)).returncode == 0
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(f"{key}.pub", trusted)
    good, unknown = tmp_path / "good.bundle", tmp_path / "unknown.bundle"
    for bundle, signer in ((good, key), (unknown, stranger)):
        args = (
            "scan",
            "--path",
            str(estate["db-1"]),
            "--no-store",
            "--bundle",
            str(bundle),
            "--signing-key",
            str(signer),
        )
        assert keysweep(*args).returncode == 0
    truncated = tmp_path / "truncated.bundle"
    truncated.write_bytes(good.read_bytes()[:-10])
    store = str(tmp_path / "c.sqlite3")
    done = keysweep("ingest", "--store", store, "--trusted-keys", str(trusted), str(unknown), str(truncated), str(good))
    assert done.returncode == 2
    assert f"bundle {unknown} rejected (unknown-signer)" in done.stderr
    assert f"bundle {truncated} rejected (truncated)" in done.stderr
    assert "1 stored, 0 duplicate, 2 rejected" in done.stderr
    # a signing key others can read is refused before anything is scanned
    key.chmod(0o644)
    loose = keysweep(
        "scan", "--path", str(estate["db-1"]), "--no-store", "--bundle", str(tmp_path / "x"), "--signing-key", str(key)
    )
    assert loose.returncode == 2 and "must be 0600" in loose.stderr and not (tmp_path / "x").exists()


def test_stale_scopes_are_listed_not_merged(estate: dict[str, Path], tmp_path: Path) -> None:
    store = str(tmp_path / "central.sqlite3")
    assert keysweep("scan", "--path", str(estate["db-1"]), "--scope", "db-1", "--store", store).returncode == 0
    # web-1's only scan is from long ago
    old = tmp_path / "old.json"
    assert (
        keysweep(
            "scan", "--path", str(estate["web-1"]), "--scope", "web-1", "--no-store", "--json", str(old)
        ).returncode
        == 0
    )
    with open_store(store) as opened:
        opened.save(variant(old.read_bytes(), "web-1", 0))
    done = keysweep("fleet", "report", "--store", store, "--max-age", "7d", "--json", str(tmp_path / "f.json"))
    assert done.returncode == 0, done.stderr
    assert "scope web-1 is stale" in done.stderr
    report = json.loads((tmp_path / "f.json").read_bytes())
    assert report["scan"]["targets"] == ["scope:db-1"]
    assert {s["scope"]: s["stale"] for s in report["scopes"]} == {"db-1": False, "web-1": True}
    assert any(e["target"] == "scope:web-1" and "stale" in e["message"] for e in report["errors"])
    assert all(loc["scope"] == "db-1" for a in report["assets"] for loc in a["locations"])
    listed = json.loads(keysweep("fleet", "scopes", "--store", store, "--max-age", "7d", "--json").stdout)
    assert {s["scope"]: s["stale"] for s in listed} == {"db-1": False, "web-1": True}


def test_scan_definition_carries_scope_store_url_and_bundle(tmp_path: Path) -> None:
    from scanner.scanconfig import load_scan_config

    definition = tmp_path / "scan.toml"
    definition.write_text(
        '[scan]\nscope = "dmz"\n[store]\nurl = "postgresql://keysweep@db.example/keysweep"\n'
        '[outputs]\nbundle = "out/{date}.bundle"\nsigning_key = "host.key"\n'
    )
    values = load_scan_config(definition)
    assert values["scope"] == "dmz"
    assert values["store"] == "postgresql://keysweep@db.example/keysweep"  # a URL is not made a path
    assert values["signing_key"] == tmp_path / "host.key"
    assert values["bundle"].parent == tmp_path / "out" and values["bundle"].suffix == ".bundle"

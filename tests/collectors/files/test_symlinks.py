"""Issue 11 part 2: one asset per real file. A file reached through symbolic links is read and parsed
once; its ``file:`` id is its real path and each path it was reached by is a location."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files import collector as file_collector
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, RelationType
from tests.support import pki
from tests.support.scans import keysweep

NGINX_SITE = """server {{
    listen 443 ssl;
    server_name site.test;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1 TLSv1.2;
}}
"""


def _collect(*roots: Path, **options: Any) -> InventoryGraph:
    graph = InventoryGraph()
    targets = [Target("path", str(r)) for r in roots]
    graph.add_all(FileCollector().collect(targets, CollectContext(options=options)))
    return graph


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the collector read (its `_read`, counted by the fd's path, still reading)."""
    counted: list[str] = []
    real = file_collector._read

    def counting(fd: int, limit: int) -> bytes:
        counted.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd, limit)

    monkeypatch.setattr(file_collector, "_read", counting)
    return counted


def _site_tree(root: Path) -> dict[str, Path]:
    """sites-enabled/site -> ../sites-available/site, and certs/<hash>.0 -> ca.pem."""
    key = pki.rsa_key(2048)
    ca_key = pki.ec_key()
    files = {
        "ca": pki.write(root / "certs" / "ca.pem", pki.pem(pki.certificate(ca_key, "Link CA", ca=True)), 0o644),
        "cert": pki.write(root / "tls" / "site.crt", pki.pem(pki.certificate(key, "site.test")), 0o644),
        "key": pki.write(root / "tls" / "site.key", pki.key_pem(key)),
    }
    files["site"] = pki.write(
        root / "sites-available" / "site",
        NGINX_SITE.format(cert=files["cert"], key=files["key"]).encode(),
        0o644,
    )
    (root / "sites-enabled").mkdir()
    files["site_link"] = root / "sites-enabled" / "site"
    files["site_link"].symlink_to("../sites-available/site")
    files["hash_link"] = root / "certs" / "0a1b2c3d.0"
    files["hash_link"].symlink_to("ca.pem")
    return files


def test_a_file_reached_through_links_is_one_asset_read_once(tmp_path: Path, reads: list[str]) -> None:
    files = _site_tree(tmp_path)
    graph = _collect(tmp_path)

    ca_file = graph.asset(f"file:{files['ca']}")
    assert [loc.ref for loc in ca_file.locations] == [str(files["hash_link"]), str(files["ca"])]
    assert f"file:{files['hash_link']}" not in graph and f"file:{files['site_link']}" not in graph
    (ca,) = [a for a in graph.assets(AssetType.CERTIFICATE) if a.properties.get("subject") == "CN=Link CA"]
    assert {loc.ref for loc in ca.locations} == {str(files["ca"]), str(files["hash_link"])}
    # one config asset, both paths its locations; every file read once
    (config,) = list(graph.assets(AssetType.CONFIG))
    assert config.id.endswith(str(files["site"]))
    assert {loc.ref for loc in config.locations} == {str(files["site"]), str(files["site_link"])}
    assert sorted(reads) == sorted(str(f) for k, f in files.items() if not k.endswith("_link"))
    # counted as the real files they are
    assert graph.sweep.examined == 4 and graph.sweep.recognised == 4
    # relations name real files, never a link's file id that no asset has
    file_ids = set(graph.asset_ids(AssetType.FILE))
    assert all(r.target in graph or not r.target.startswith("file:") for r in graph.relations()), file_ids


def test_findings_appear_once_for_a_symlinked_site(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    files = _site_tree(root)
    report_path = tmp_path / "r.json"
    run = keysweep("scan", "--path", str(root), "--json", str(report_path), "--no-store")
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(report_path.read_text())
    keyed = [(f["rule_id"], f["asset_id"], f.get("message")) for f in report["findings"]]
    assert keyed and len(keyed) == len(set(keyed))
    config_ids = {a["id"] for a in report["assets"] if a["type"] == "config"}
    assert config_ids == {f"config:nginx:{files['site']}"}
    assert any(f["asset_id"] in config_ids for f in report["findings"])  # TLSv1 is still found, once
    assert report["summary"]["files"] == {"examined": 4, "recognised": 4, "skipped": 0, "failed": 0}


def test_a_link_out_of_the_walked_root_is_the_real_file_at_the_link(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    real = pki.write(outside / "real.pem", pki.pem(pki.certificate(pki.ec_key(), "outside.test")), 0o644)
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.pem").symlink_to(real)
    graph = _collect(root)

    file_asset = graph.asset(f"file:{real}")
    assert file_asset.properties["path"] == str(real)
    assert [loc.ref for loc in file_asset.locations] == [str(root / "link.pem")]
    (cert,) = list(graph.assets(AssetType.CERTIFICATE))
    assert [loc.ref for loc in cert.locations] == [str(root / "link.pem")]
    stored = [r.target for r in graph.relations() if r.source == cert.id and r.target.startswith("file:")]
    assert stored == [f"file:{real}"]
    assert (graph.sweep.examined, graph.sweep.recognised) == (1, 1)


def test_the_same_file_by_two_roots_is_one_asset_counted_once(tmp_path: Path) -> None:
    real = pki.write(tmp_path / "a" / "c.pem", pki.pem(pki.certificate(pki.ec_key(), "twice.test")), 0o644)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "c.pem").symlink_to(real)
    graph = _collect(tmp_path / "a", tmp_path / "b")
    assert [loc.ref for loc in graph.asset(f"file:{real}").locations] == [str(real), str(tmp_path / "b" / "c.pem")]
    assert len(list(graph.assets(AssetType.FILE))) == 1
    assert graph.sweep.examined == 1


def test_dangling_links_and_loops_are_errors_naming_them(tmp_path: Path) -> None:
    pki.write(tmp_path / "ok.pem", pki.pem(pki.certificate(pki.ec_key(), "ok.test")), 0o644)
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "gone.pem")
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")  # a directory loop: never walked, so no hang
    graph = _collect(tmp_path)

    errors = {e.target: e.message for e in graph.errors}
    assert set(errors) == {str(tmp_path / n) for n in ("dangling.pem", "loop-a", "loop-b")}
    assert errors[str(tmp_path / "dangling.pem")] == (
        f"cannot read file: No such file or directory (a symbolic link to '{tmp_path / 'gone.pem'}')"
    )
    assert "Too many levels of symbolic links" in errors[str(tmp_path / "loop-a")]
    assert (graph.sweep.examined, graph.sweep.recognised, graph.sweep.failed) == (4, 1, 3)
    assert len(list(graph.assets(AssetType.CERTIFICATE))) == 1


def test_a_link_at_a_trust_location_makes_the_store(tmp_path: Path) -> None:
    """Trust stores are decided by location: a link at one (certifi's bundle name here, like the
    hashed links of /etc/ssl/certs) makes its store, although the real file sits elsewhere."""
    roots = pki.write(tmp_path / "data" / "roots.pem", pki.pem(pki.certificate(pki.ec_key(), "Root", ca=True)), 0o644)
    (tmp_path / "certifi").mkdir()
    bundle = tmp_path / "certifi" / "cacert.pem"
    bundle.symlink_to(roots)
    graph = _collect(tmp_path)

    (store,) = list(graph.assets(AssetType.TRUST_STORE))
    assert store.id == f"truststore:{bundle}"
    (cert,) = list(graph.assets(AssetType.CERTIFICATE))
    assert cert.id in {a.id for a in graph.successors(store.id, RelationType.TRUSTS)}
    assert graph.asset(f"file:{roots}").properties.get("trust_store") is True


def test_links_with_the_cache(tmp_path: Path, reads: list[str]) -> None:
    files = _site_tree(tmp_path / "tree")
    old = 1_600_000_000
    for path in files.values():
        os.utime(path, (old, old), follow_symlinks=False)
        os.utime(path, (old, old))
    first = _collect(tmp_path / "tree", **{file_cache.OPTION: str(tmp_path / "cache")})
    reads.clear()
    again = _collect(tmp_path / "tree", **{file_cache.OPTION: str(tmp_path / "cache")})
    assert reads == []

    def snapshot(graph: InventoryGraph) -> list[Any]:
        return sorted(
            (a.id, json.dumps(a.properties, sort_keys=True), sorted(map(str, a.locations))) for a in graph.assets()
        )

    assert snapshot(again) == snapshot(first)
    assert again.sweep == first.sweep


def test_small_dh_parameters_through_a_link_are_still_found(tmp_path: Path) -> None:
    """A config naming a link to its DH parameters: the file asset is the real file's, and the
    rule finds it by the link the config names."""
    root = tmp_path / "etc"
    (root / "ssl" / "real").mkdir(parents=True)
    real = root / "ssl" / "real" / "dh1024.pem"
    subprocess.run(["openssl", "dhparam", "-out", str(real), "1024"], check=True, capture_output=True, timeout=120)
    (root / "ssl" / "dh.pem").symlink_to(real)
    site = "server { listen 443 ssl; ssl_protocols TLSv1.2; ssl_dhparam %s; }\n" % (root / "ssl" / "dh.pem")
    pki.write(root / "nginx" / "site.conf", site.encode(), 0o644)
    report_path = tmp_path / "r.json"
    run = keysweep("scan", "--path", str(root / "nginx"), "--json", str(report_path), "--no-store")
    assert run.returncode in (0, 1), run.stderr
    report = json.loads(report_path.read_text())
    assert f"file:{real}" in {a["id"] for a in report["assets"]}
    small = [f for f in report["findings"] if f["rule_id"] == "server.tls.dh-params-small"]
    assert small and "1024-bit DH parameters" in small[0]["message"]

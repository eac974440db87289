"""Issue 18 items 1 and 12: file names that are not UTF-8, and paths swapped between check and open."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema

from scanner import resources
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType
from tests.support import pki
from tests.support.scans import keysweep


def test_non_utf8_names_are_kept_exactly_in_every_report(tmp_path: Path) -> None:
    root = os.fsencode(tmp_path) + b"/d\xe9"  # the scanned folder's own name is Latin-1
    os.mkdir(root)
    cert_name, key_name = root + b"/caf\xe9.pem", root + b"/k\xff\x01.key"
    key = pki.rsa_key(2048)
    with open(cert_name, "wb") as handle:
        handle.write(pki.pem(pki.certificate(key, "latin1.example")))
    with open(key_name, "wb") as handle:
        handle.write(pki.key_pem(key))
    os.chmod(key_name, 0o644)  # readable by others: a finding whose asset is named by these bytes
    out = tmp_path / "out"
    out.mkdir()
    reports = {fmt: out / f"report.{fmt}" for fmt in ("json", "html", "sarif", "cbom", "csv")}
    args = [a for fmt, path in reports.items() for a in (f"--{fmt}", str(path))]

    run = keysweep("scan", "--path", os.fsdecode(root), *args, "--store", str(out / "store.db"))
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr

    raw = reports["json"].read_bytes()
    raw.decode("utf-8")  # strictly valid UTF-8: each undecodable byte is a \udcXX escape
    assert b"caf\\udce9.pem" in raw and b"k\\udcff\\u0001.key" in raw
    report = json.loads(raw)
    jsonschema.validate(report, json.loads((resources.reports_dir() / "report.schema.json").read_text()))
    refs = {os.fsencode(loc["ref"]) for a in report["assets"] for loc in a["locations"]}
    assert {cert_name, key_name} <= refs  # os.fsencode gives back the exact bytes
    assert report["scan"]["targets"] == ["path:" + os.fsdecode(root)]
    assert any(f["asset_id"] == "file:" + os.fsdecode(key_name) for f in report["findings"])
    assert report["summary"]["files"] == {"examined": 2, "recognised": 2, "skipped": 0, "failed": 0}
    for fmt in ("html", "sarif", "cbom", "csv"):
        reports[fmt].read_bytes().decode("utf-8")
    assert b"caf\\udce9.pem" in reports["html"].read_bytes()
    # a SARIF artifact is a URI: the exact byte is percent-encoded there
    assert b"caf%E9.pem" in reports["sarif"].read_bytes()

    # the store keeps the scan; how `history` escapes the name for a terminal is the CLI's concern
    history = subprocess.run(
        [sys.executable, "-m", "scanner", "history", "--store", str(out / "store.db")], capture_output=True, timeout=120
    )
    assert history.returncode == 0 and b"Traceback" not in history.stderr
    assert report["scan"]["id"].encode() in history.stdout


def _collect(path: Path) -> InventoryGraph:
    graph = InventoryGraph()
    graph.add_all(FileCollector().collect([Target("path", str(path))], CollectContext()))
    return graph


def test_a_fifo_swapped_in_after_the_walk_never_blocks(tmp_path: Path) -> None:
    """The walk lists a regular file; by the time it is opened, it may be a FIFO with no writer.

    A swapper thread renames a FIFO and a certificate over the same name as fast as it can, while
    the sweep scans the folder again and again; every sweep must finish, seeing one or the other.
    """
    folder = tmp_path / "swapped"
    folder.mkdir()
    target = folder / "server.pem"
    cert = pki.pem(pki.certificate(pki.ec_key(), "swap.example"))
    target.write_bytes(cert)
    stop = threading.Event()

    def swap() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            staged = tmp_path / f"staged-{n}"
            if n % 2:
                os.mkfifo(staged)
            else:
                staged.write_bytes(cert)
            os.rename(staged, target)

    seen = {"fifo": 0, "certificate": 0}

    def sweep() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(seen.values()) < 20:
            graph = _collect(folder)
            assert graph.sweep.examined == 1 and graph.sweep.failed == 0, graph.errors
            if graph.sweep.skipped:
                seen["fifo"] += 1
            elif list(graph.assets(AssetType.CERTIFICATE)):
                seen["certificate"] += 1

    swapper = threading.Thread(target=swap, daemon=True)
    sweeper = threading.Thread(target=sweep, daemon=True)
    swapper.start()
    sweeper.start()
    sweeper.join(timeout=90)
    stop.set()
    swapper.join(timeout=10)
    assert not sweeper.is_alive(), "a sweep blocked on a FIFO swapped in between check and open"
    assert seen["fifo"] > 0 and seen["certificate"] > 0, seen  # both sides of the race were met


def test_a_fifo_named_by_a_config_is_an_error_naming_it(tmp_path: Path) -> None:
    fifo = tmp_path / "certs" / "server.crt"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    key = pki.write(tmp_path / "certs" / "server.key", pki.key_pem(pki.ec_key()))
    conf = tmp_path / "conf" / "nginx.conf"
    pki.write(
        conf,
        f"events {{}}\nhttp {{\n  server {{\n    listen 443 ssl;\n    ssl_certificate {fifo};\n"
        f"    ssl_certificate_key {key};\n  }}\n}}\n".encode(),
        mode=0o644,
    )
    started = time.monotonic()
    graph = _collect(conf)
    assert time.monotonic() - started < 30
    errors = [e for e in graph.errors if e.target == str(fifo)]
    assert [e.message for e in errors] == ["named by a configuration, but is a FIFO, not a file"]
    assert f"file:{key}" in graph

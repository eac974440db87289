"""Issue 12: the CBOM is written a chunk of components at a time, byte for byte what render gives
and what the json module writes of it, through the output rules (atomic file, symlink, stdout, FIFO),
with memory bounded by a chunk instead of the estate."""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema.schema import SCHEMA_VERSIONS

from scanner.compat import UTC
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Relation,
    RelationType,
    ScanMetadata,
    ScanResult,
    freeze,
)
from scanner.reporting import cbom
from scanner.reporting.base import write_report
from scanner.reporting.cbom import CbomReporter, build_bom, iter_cbom
from tests.support.outputs import json_module_indent1, over_a_failed_write, through_fifo
from tests.support.scans import awkward_names_tree, keysweep, mixed_tree, scan_paths, with_endpoint_and_token


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    root = tmp_path_factory.mktemp("cbom-stream")
    awkward_names_tree(root)
    scanned = with_endpoint_and_token(scan_paths(root))
    # a target that could not be assessed: a data component of its own
    error = CollectionError("/srv/unreadable.pem", "files", "permission denied")
    return dataclasses.replace(scanned, errors=(*scanned.errors, error))


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_every_chunk_size_gives_the_json_modules_text_of_one_document(
    result: ScanResult, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = CbomReporter(version).render(result)
    assert b"\\udce9" in whole and "名前".encode() in whole
    document = json.loads(whole)
    assert json_module_indent1(document) == whole  # exactly the json module's indented text of its content
    assert any(c["type"] == "data" for c in document["components"])  # the unassessed target
    monkeypatch.setattr(cbom, "CHUNK_COMPONENTS", 1)
    pieces = list(iter_cbom(result, version))
    assert b"".join(pieces) == whole
    # one piece per component and per dependency: nothing was encoded as a whole list
    assert len(pieces) > len(document["components"]) + len(document["dependencies"])


def test_each_component_is_the_librarys_json_of_a_new_component(result: ScanResult) -> None:
    """The streamed CBOM fills one library Component per asset in turn: each must serialise as a
    Component built afresh does (nothing of the previous asset stays)."""
    document = json.loads(CbomReporter("1.6").render(result))
    view = SCHEMA_VERSIONS[SchemaVersion.V1_6]
    fresh = sorted(build_bom(result).components, key=lambda c: str(c.bom_ref.value))
    assert [json.loads(c.as_json(view_=view)) for c in fresh] == document["components"]  # type: ignore[attr-defined]
    kinds = {(c["type"], c.get("cryptoProperties", {}).get("assetType")) for c in document["components"]}
    assert kinds >= {("file", None), ("device", None), ("data", None), ("cryptographic-asset", "protocol")}


def test_empty_scan_streams_empty_lists(result: ScanResult) -> None:
    empty = dataclasses.replace(result, assets=(), relations=(), findings=(), errors=())
    document = json.loads(CbomReporter("1.7").render(empty))
    assert document["components"] == [] and document["dependencies"] == []
    assert b'"components": [],' in CbomReporter("1.7").render(empty)


def test_a_float_in_a_component_sends_that_chunk_the_json_modules_way(
    result: ScanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """orjson writes 1e16 and refuses NaN where the json module writes 1e+16 and NaN: a chunk
    whose library JSON holds a non-integer number is encoded by the json module."""
    component = cbom._Builder.component

    class WithFloat:
        def __init__(self, text: str) -> None:
            self.text = text

        def as_json(self, view_: Any) -> str:
            return self.text[:-1] + ', "x-float": 1e16, "x-nan": NaN}'

    def patched(builder: Any, ref: str, new: Any) -> Any:
        made = component(builder, ref, new)
        return WithFloat(made.as_json(view_=SCHEMA_VERSIONS[SchemaVersion.V1_6])) if ref.startswith("file:") else made

    monkeypatch.setattr(cbom._Builder, "component", patched)
    data = CbomReporter("1.6").render(result)
    assert b'"x-float": 1e+16' in data and b'"x-nan": NaN' in data


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_written_to_a_file_a_symlink_stdout_and_a_fifo(
    result: ScanResult, version: str, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    reporter = CbomReporter(version)
    expected = reporter.render(result)
    report = tmp_path / "r.cdx.json"
    report.write_bytes(b"old")
    report.chmod(0o640)
    write_report(reporter, result, str(report))
    assert report.read_bytes() == expected and report.stat().st_mode & 0o777 == 0o640
    link = tmp_path / "link.cdx.json"
    link.symlink_to(report)
    report.write_bytes(b"old")
    write_report(reporter, result, str(link))
    assert link.is_symlink() and report.read_bytes() == expected  # the target written, the link kept
    write_report(reporter, result, "-")
    assert capfdbinary.readouterr().out == expected
    assert through_fifo(reporter, result, tmp_path / "pipe") == [expected]


def test_a_failure_mid_stream_keeps_the_old_cbom(
    result: ScanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cbom, "CHUNK_COMPONENTS", 1)
    calls: list[str] = []
    component = cbom._Builder.component

    def failing(builder: Any, ref: str, new: Any) -> Any:
        calls.append(ref)
        if len(calls) > 3:
            raise RuntimeError("broken component")
        return component(builder, ref, new)

    monkeypatch.setattr(cbom._Builder, "component", failing)
    # never half a CBOM, and no temporary file left
    left = over_a_failed_write(CbomReporter(), result, tmp_path / "r.cdx.json", "broken component")
    assert left == (b"the previous report", ["r.cdx.json"])


def _estate(hosts: int) -> ScanResult:
    """A certificate, its key and the file holding them per host: the shape of a file sweep."""
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assets: list[Asset] = []
    relations: list[Relation] = []
    for i in range(hosts):
        path = f"/srv/app{i % 50}/tls/server{i}.pem"
        cert_id, key_id, file_id = f"cert:sha256:{i:064x}", f"key:spki-sha256:{i:064x}", f"file:{path}"
        not_after = now + timedelta(days=i % 400 - 30)
        location = (Location("file", path, "PEM block 1"),)
        cert = {
            "subject": f"CN=app{i}.example.internal,O=Example",
            "issuer": "CN=Example CA",
            "not_before": "2026-01-01T00:00:00Z",
            "not_after": not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signature_algorithm": "sha256WithRSAEncryption",
            "serial": format(i, "x"),
            "sha256_fingerprint": f"{i:064x}",
            "days_remaining": (not_after - now).days,
        }
        key = {"algorithm": "RSA", "key_size": 2048, "security_bits": 112, "quantum_vulnerable": True}
        assets += [
            Asset(cert_id, AssetType.CERTIFICATE, freeze(cert), location),
            Asset(key_id, AssetType.KEY, freeze({**key, "spki_sha256": f"{i:064x}"}), location),
            Asset(file_id, AssetType.FILE, freeze({"path": path, "format": "pem", "mode": "0600"})),
        ]
        relations += [
            Relation(cert_id, key_id, RelationType.CERTIFIES),
            Relation(cert_id, file_id, RelationType.STORED_IN),
            Relation(key_id, file_id, RelationType.STORED_IN),
        ]
    meta = ScanMetadata("estate", now, now, now, "test", "test", ("test",), ("path:/srv",))
    return ScanResult(meta, tuple(assets), tuple(relations), (), (), ())


def _traced_peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_writer_holds_a_chunk_not_the_estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """6,000 components. Rendered whole, the peak of Python allocations was three times the CBOM's
    size (every component's dicts, then the bytes); streamed, it is the builder's index of the
    estate (~0.4 of the output) and one chunk: under the output's size, and growing with the chunk."""
    estate = _estate(2000)
    reporter = CbomReporter("1.7")
    target = tmp_path / "estate.cdx.json"
    reporter.render(_estate(10))  # the one-time loads (algorithm tables, the library's metadata) first
    streamed = _traced_peak(lambda: reporter.write(estate, str(target)))
    size = target.stat().st_size
    assert size > 7_000_000 and streamed < size, (streamed, size)
    monkeypatch.setattr(cbom, "CHUNK_COMPONENTS", 3 * cbom.CHUNK_COMPONENTS)
    larger_chunks = _traced_peak(lambda: reporter.write(estate, str(target)))
    assert larger_chunks > streamed + 1_000_000  # what is held grows with the chunk: the chunk is what is held
    assert target.stat().st_size == size


def test_the_cli_writes_the_cbom_it_renders(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    mixed_tree(tree)
    out = tmp_path / "r.cdx.json"
    run = keysweep("scan", "--path", str(tree), "--no-store", "--cbom", str(out), "--cbom-version", "1.7", "-q")
    assert run.returncode in (0, 1), run.stderr
    document = json.loads(out.read_bytes())
    assert document["specVersion"] == "1.7" and len(document["components"]) >= len(scan_paths(tree).assets)

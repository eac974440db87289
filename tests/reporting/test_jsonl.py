"""JSON Lines: each finding's line names its asset's type, name and places, worked out once per asset
(a shared key's thousands of places) and the same as worked out for each finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.reporting import jsonl
from scanner.reporting.json_report import finding_dict
from scanner.reporting.jsonl import JsonLinesReporter
from scanner.reporting.locations import places
from scanner.reporting.table import asset_name
from tests.support import pki
from tests.support.outputs import to_file_and_stdout
from tests.support.scans import mixed_tree, scan_paths


def test_every_line_describes_its_own_asset(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    shared = pki.ec_key()  # one key behind several certificates: several findings on one asset
    for n in range(3):
        cert = pki.certificate(shared, f"host{n}.example", days=900)
        pki.write(tmp_path / "tree" / f"shared-{n}.pem", pki.pem(cert), 0o644)
    pki.write(tmp_path / "tree" / "shared.key", pki.key_pem(shared), 0o644)
    result = scan_paths(tmp_path / "tree")
    assets = {a.id: a for a in result.assets}
    lines = JsonLinesReporter().render(result).decode().splitlines()
    assert len(lines) == len(result.findings)
    per_asset: dict[str, int] = {}
    for line, finding in zip(lines, result.findings, strict=True):
        record = json.loads(line)
        asset = assets.get(finding.asset_id)
        want = json.loads(json.dumps(finding_dict(finding), default=str))
        assert {k: record[k] for k in want} == want
        assert record["asset_type"] == (asset.type.value if asset else None)
        assert record["asset_name"] == asset_name(asset, finding.asset_id)
        assert record["locations"] == [str(p) for p in places(asset, finding.asset_id)]
        per_asset[finding.asset_id] = per_asset.get(finding.asset_id, 0) + 1
    assert max(per_asset.values()) > 1  # an asset with several findings, each line complete


def test_streamed_in_pieces_the_same_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    mixed_tree(tmp_path / "tree")
    result = scan_paths(tmp_path / "tree")
    whole = JsonLinesReporter().render(result)
    monkeypatch.setattr(jsonl, "CHUNK_LINES", 2)
    pieces = list(JsonLinesReporter().chunks(result))
    assert b"".join(pieces) == whole and len(pieces) == (len(result.findings) + 1) // 2
    assert all(piece.endswith(b"\n") for piece in pieces)  # a piece never ends inside a line
    assert to_file_and_stdout(JsonLinesReporter(), result, tmp_path / "findings.jsonl", capfdbinary) == (whole, whole)

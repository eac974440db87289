"""SARIF and CSV work out an asset's places once for all its findings: the same locations as
working them out for each finding (the earlier algorithm, kept here as the oracle)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from scanner.inventory.model import Finding, RelationType, ScanResult, freeze
from scanner.reporting.csv_report import CsvReporter
from scanner.reporting.locations import places
from scanner.reporting.sarif import SarifReporter, _Artifacts, _config_places, _evidence_places, _logical, _physical
from tests.support.scans import mixed_tree, scan_paths


def _result(root: Path) -> ScanResult:
    files = mixed_tree(root)
    # the weak key in more files, some with names that are not UTF-8 or not ASCII: one key, many places
    for name in (b"copy\xff.key", "kopie-\u00e9\u4e2d.key".encode(), b"plain.key"):
        shutil.copy(files["weak_key"], root / os.fsdecode(name))
    result = scan_paths(root)
    # a finding that names a file and line in its evidence, on the shared key: evidence first, then the key's places
    shared = max(result.assets, key=lambda a: len(a.locations))
    assert len(shared.locations) >= 4
    on_key = [f for f in result.findings if f.asset_id == shared.id]
    assert on_key
    extra = dataclasses.replace(
        on_key[0], id="f-evidence", evidence=freeze({"file": f"{root}/weak.key", "line": 3, "n": 2**70})
    )
    return dataclasses.replace(result, findings=(*result.findings, extra, *on_key))


def _old_locations(result: ScanResult, root: Path) -> list[list[dict[str, Any]]]:
    artifacts = _Artifacts(root)
    assets = {a.id: a for a in result.assets}
    configured_by: dict[str, list[str]] = defaultdict(list)
    for rel in result.relations:
        if rel.type == RelationType.CONFIGURES and rel.source in assets:
            configured_by[rel.target].append(rel.source)
    sizes = {
        str(a.properties["path"]): int(a.properties["size"])
        for a in result.assets
        if a.type == "file" and isinstance(a.properties.get("size"), int) and a.properties.get("path")
    }

    def locations(f: Finding) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for place in _evidence_places(f) + places(assets.get(f.asset_id), f.asset_id):
            if place.path:
                location: dict[str, Any] = {"physicalLocation": _physical(artifacts, place, sizes)}
                if place.detail:
                    location["message"] = {"text": place.detail}
                out.append(location)
                continue
            configs = _config_places(configured_by.get(f.asset_id, []), assets)
            physical = (
                _physical(artifacts, configs[0], sizes)
                if configs
                else {"artifactLocation": artifacts.synthetic(place, f.asset_id), "region": {"byteOffset": 0}}
            )
            out.append({"physicalLocation": physical, "logicalLocations": [_logical(place, f.asset_id)]})
        return list({json.dumps(loc, sort_keys=True): loc for loc in out}.values())

    return [locations(f) for f in result.findings]


def test_sarif_locations_equal_the_per_finding_walk(tmp_path: Path) -> None:
    result = _result(tmp_path / "tree")
    sarif = json.loads(SarifReporter(root=tmp_path).render(result))
    got = [r["locations"] for r in sarif["runs"][0]["results"]]
    # through JSON both sides: a non-UTF-8 name is the same \udcXX escape either way
    expected = json.loads(json.dumps(_old_locations(result, tmp_path)))
    assert got == expected
    assert max(len(locations) for locations in got) >= 5  # the shared key's places, and the evidence's


def test_csv_locations_equal_the_per_finding_walk(tmp_path: Path) -> None:
    result = _result(tmp_path / "tree")
    text = CsvReporter().render(result).decode("utf-8").lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assets = {a.id: a for a in result.assets}
    expected = ["; ".join(str(p) for p in places(assets.get(f.asset_id), f.asset_id)) for f in result.findings]
    got = [row["location"] for row in rows]
    assert len(got) == len(expected)
    for cell, want in zip(got, expected, strict=True):
        want = want.encode("utf-8", "backslashreplace").decode("utf-8")
        assert cell in (want, "'" + want)

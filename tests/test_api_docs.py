"""docs/api.md: its examples run as written (issue 10 part 5), and the API agrees with the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import keysweep
import scanner.api
from tests.support.scans import keysweep as keysweep_cli
from tests.support.scans import mixed_tree

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_the_examples_in_docs_api_md_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed_tree(tmp_path / "certs")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 5
    namespace: dict[str, object] = {}
    exec(compile("".join(blocks), str(DOC), "exec"), namespace)  # one session, as the page reads
    printed = capsys.readouterr().out
    result = namespace["result"]
    assert isinstance(result, keysweep.ScanResult)
    assert "cms.key.min-strength" in printed  # the 1024-bit RSA key of mixed_tree
    assert "True" in printed  # the report read back is the scan's
    assert "did you mean nist-sp800-57?" in printed
    assert "RSA 1024" in printed  # the weak-key listing
    assert json.loads((tmp_path / "report.sarif").read_text())["version"] == "2.1.0"


def test_api_and_cli_find_the_same(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "certs")
    result = keysweep.scan(paths=[tmp_path / "certs"])
    out = tmp_path / "cli.json"
    keysweep_cli("scan", "--path", str(tmp_path / "certs"), "--no-store", "--json", str(out))
    cli = json.loads(out.read_text())
    assert sorted(f.id for f in result.findings) == sorted(f["id"] for f in cli["findings"])
    assert sorted(a.id for a in result.assets) == sorted(a["id"] for a in cli["assets"])
    assert result.to_dict()["schema_version"] == "1"
    assert scanner.api.scan is keysweep.scan


def test_load_report_rejects_what_is_not_a_report(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(keysweep.KeysweepError, match="is not a keysweep JSON report"):
        keysweep.load_report(tmp_path / "x.json")
    with pytest.raises(keysweep.KeysweepError, match="nothing to scan"):
        keysweep.scan()

"""Waivers mark findings (never drop them), expire on the as-of date, and report what they missed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.engine.waivers import WaiverError, load_waivers
from scanner.scan import ScanRequest, run_scan
from tests.engine.helpers import PACKS, Target, as_of, key_id, write_cert
from tests.support import pki


@pytest.fixture
def estate(tmp_path: Path) -> dict[str, object]:
    legacy_dir, app_dir = tmp_path / "legacy", tmp_path / "app"
    legacy, app = pki.rsa_key(1024), pki.rsa_key(1024)
    write_cert(legacy_dir, "legacy.pem", pki.certificate(legacy, "legacy.example"))
    write_cert(app_dir, "app.pem", pki.certificate(app, "app.example"))
    return {
        "root": tmp_path,
        "legacy": key_id(legacy.public_key()),
        "app": key_id(app.public_key()),
        "legacy_dir": legacy_dir,
    }


def _run(estate: dict[str, object], waivers_text: str, day: str = "2026-12-01") -> tuple[dict[str, object], list]:  # type: ignore[type-arg]
    root = estate["root"]
    assert isinstance(root, Path)
    path = root / "waivers.toml"
    path.write_text(waivers_text)
    result = run_scan(
        ScanRequest(
            targets=(Target("path", str(root / "legacy")), Target("path", str(root / "app"))),
            packs=(PACKS["cms-km-handbook"],),
            as_of=as_of(day),
            waivers=load_waivers(path),
        )
    )
    strength = {f.asset_id: f for f in result.findings if f.rule_id == "cms.key.min-strength"}
    notices = [(e.target, e.message) for e in result.errors if e.collector == "waivers"]
    return strength, notices


def test_waiver_by_location_marks_only_the_matching_finding(estate: dict[str, object]) -> None:
    strength, notices = _run(
        estate,
        f"""
[[waivers]]
rule = "cms.key.min-strength"
reason = "legacy appliance, replacement ordered (CHG-1234)"
owner = "pki-team@example.gov"
expires = 2027-06-30
[waivers.where]
location = "{estate["legacy_dir"]}/*"
""",
    )
    legacy, app = strength[str(estate["legacy"])], strength[str(estate["app"])]
    assert legacy.waived is not None
    assert (legacy.waived.reason, legacy.waived.owner, legacy.waived.expires) == (
        "legacy appliance, replacement ordered (CHG-1234)",
        "pki-team@example.gov",
        "2027-06-30",
    )
    assert app.waived is None
    assert notices == []


def test_waiver_by_asset_id_glob_and_properties(estate: dict[str, object]) -> None:
    legacy = str(estate["legacy"])
    strength, _ = _run(
        estate,
        f"""
[[waivers]]
rule = "*"
asset = "{legacy[:30]}*"
where = {{ algorithm = "RSA", key_size = 1024 }}
reason = "r"
owner = "o"
expires = 2027-01-01
""",
    )
    assert strength[legacy].waived is not None
    assert strength[str(estate["app"])].waived is None


def test_expired_waiver_stops_applying_and_says_so(estate: dict[str, object]) -> None:
    text = f"""
[[waivers]]
rule = "cms.key.min-strength"
asset = "{estate["legacy"]}"
reason = "until the migration"
owner = "ops"
expires = 2026-12-31
"""
    strength, notices = _run(estate, text, day="2026-12-31")
    assert strength[str(estate["legacy"])].waived is not None
    assert notices == []
    strength, notices = _run(estate, text, day="2027-01-01")
    finding = strength[str(estate["legacy"])]
    assert finding.waived is None
    assert "expired on 2026-12-31" in finding.evidence["waiver_expired"]
    [(where, message)] = notices
    assert where.endswith("waivers.toml:2")
    assert "expired on 2026-12-31 and no longer applies; 1 finding it covered is open" in message


def test_waiver_matching_nothing_is_reported(estate: dict[str, object]) -> None:
    _, notices = _run(
        estate,
        """
[[waivers]]
rule = "cms.key.min-strength"
asset = "key:spki-sha256:0000"
reason = "r"
owner = "o"
expires = 2030-01-01

[[waivers]]
rule = "cms.key.dsa"
where = { algorithm = "RSA" }
reason = "r"
owner = "o"
expires = 2030-01-01
""",
    )
    assert [(w.rsplit(":", 1)[1], m) for w, m in notices] == [
        ("2", "waiver for cms.key.min-strength (owner o) matches no finding"),
        ("9", "waiver for cms.key.dsa (owner o) matches no finding"),
    ]


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ('rule = "x"\nasset = "a"\nreason = "r"\nowner = "o"\n', 2, "missing expires"),
        ('rule = "x"\nasset = "a"\nreason = "r"\nowner = "o"\nexpires = "soon"\n', 7, "expires must be a date"),
        ('rule = "x"\nreason = "r"\nowner = "o"\nexpires = 2030-01-01\n', 2, "needs 'asset'"),
        ('rule = "x"\nasset = "a"\nreason = "r"\nowner = "o"\nexpires = 2030-01-01\nowners = 1\n', 8, "unknown field"),
        ('rule = "x"\nasset = "a"\nreason = ""\nowner = "o"\nexpires = 2030-01-01\n', 5, "'reason' must be"),
    ],
)
def test_bad_waiver_files_name_the_line(tmp_path: Path, body: str, line: int, words: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text("\n[[waivers]]\n" + body)
    with pytest.raises(WaiverError) as caught:
        load_waivers(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert words in str(caught.value)


def test_cli_waivers_keep_findings_and_change_the_exit_code(estate: dict[str, object], tmp_path: Path) -> None:
    waivers = tmp_path / "w.toml"
    report = tmp_path / "r.json"
    entries = "".join(
        f'\n[[waivers]]\nrule = "cms.key.min-strength"\nasset = "{estate[k]}"\nreason = "r"\nowner = "o"\n'
        "expires = 2099-01-01\n"
        for k in ("legacy", "app")
    )
    waivers.write_text(entries)
    args = ["scan", "--path", str(tmp_path / "legacy"), "--path", str(tmp_path / "app"), "--json", str(report)]
    runner = CliRunner()
    assert runner.invoke(main, [*args, "--fail-on", "high"]).exit_code == 1
    result = runner.invoke(main, [*args, "--fail-on", "high", "--waivers", str(waivers)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    waived = [f for f in data["findings"] if f["rule_id"] == "cms.key.min-strength"]
    assert len(waived) == 2 and all(f["waived"]["reason"] == "r" for f in waived)

    waivers.write_text('[[waivers]]\nrule = "x"\n')
    bad = runner.invoke(main, [*args, "--waivers", str(waivers)])
    assert bad.exit_code == 2
    assert f"{waivers}:1: waiver 1: missing" in bad.output

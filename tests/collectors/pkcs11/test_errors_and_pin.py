"""A wrong PIN, a missing module and a library that is not PKCS#11: one clear error each, exit
code 2, and the PIN nowhere: not in the report, stdout, stderr or the log records."""

from __future__ import annotations

import _ctypes
import json
import logging
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.pkcs11.collector import Pkcs11Collector
from scanner.inventory.model import CollectionError
from scanner.secrets import Secret
from tests.collectors.pkcs11.conftest import IssueToken


def run_cli(args: list[str], env: dict[str, str], out: Path) -> tuple[int, str, str, dict[str, object]]:
    runner = CliRunner()
    result = runner.invoke(main, ["-vv", "scan", *args, "--json", str(out)], env=env, catch_exceptions=False)
    report = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, result.stdout, result.stderr, report


def assert_pin_nowhere(pin: str, out_dir: Path, *texts: str, caplog: pytest.LogCaptureFixture) -> None:
    for path in out_dir.rglob("*"):
        if path.is_file():
            assert pin.encode() not in path.read_bytes(), path
    for text in texts:
        assert pin not in text
    assert pin not in caplog.text
    for record in caplog.records:
        assert pin not in record.getMessage()


@pytest.fixture
def cli_env(issue_token: IssueToken) -> dict[str, str]:
    return {"SOFTHSM2_CONF": str(issue_token.token.conf), "KEYSWEEP_PKCS11_PIN": issue_token.token.pin}


def test_wrong_pin(issue_token: IssueToken, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = issue_token.token.pin + "_WRONG"
    env = {"SOFTHSM2_CONF": str(issue_token.token.conf), "KEYSWEEP_PKCS11_PIN": wrong}
    code, stdout, stderr, report = run_cli(["--pkcs11-module", issue_token.token.module], env, tmp_path / "r.json")
    assert code == 2
    assert report["assets"] == []
    assert len(report["errors"]) == 1
    assert re.fullmatch(
        rf"token 'keysweep-test' \(serial {issue_token.token.serial}, slot \d+\): login failed: "
        r"the PIN from \$KEYSWEEP_PKCS11_PIN is incorrect \(CKR_PIN_INCORRECT\)",
        report["errors"][0]["message"],
    )
    assert_pin_nowhere(wrong, tmp_path, stdout, stderr, caplog=caplog)
    assert_pin_nowhere(issue_token.token.pin, tmp_path, stdout, stderr, caplog=caplog)


def test_wrong_pin_from_file(issue_token: IssueToken, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = issue_token.token.pin + "_FILE"
    pin_file = tmp_path / "secret" / "pin"
    pin_file.parent.mkdir()
    pin_file.write_text(wrong + "\n")
    out = tmp_path / "out"
    out.mkdir()
    env = {"SOFTHSM2_CONF": str(issue_token.token.conf)}
    args = ["--pkcs11-module", issue_token.token.module, "--pkcs11-pin-file", str(pin_file)]
    code, stdout, stderr, report = run_cli(args, env, out / "r.json")
    assert code == 2
    assert len(report["errors"]) == 1
    assert report["errors"][0]["message"].endswith(
        f"login failed: the PIN from file {pin_file} is incorrect (CKR_PIN_INCORRECT)"
    )
    assert_pin_nowhere(wrong, out, stdout, stderr, caplog=caplog)


def test_missing_module(cli_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    missing = tmp_path / "no-such-module.so"
    code, stdout, stderr, report = run_cli(["--pkcs11-module", str(missing)], cli_env, tmp_path / "r.json")
    assert code == 2
    assert report["errors"] == [
        {"target": str(missing), "collector": "pkcs11", "message": "PKCS#11 module not found: no such file"}
    ]
    assert_pin_nowhere(cli_env["KEYSWEEP_PKCS11_PIN"], tmp_path, stdout, stderr, caplog=caplog)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("shared-library", "not a PKCS#11 module: the library has no C_GetFunctionList"),
        ("text-file", "not a PKCS#11 module: cannot be loaded as a shared library (file too short)"),
    ],
)
def test_not_a_pkcs11_module(
    kind: str, expected: str, cli_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    if kind == "shared-library":
        module = Path(_ctypes.__file__)  # a real shared library (a Python extension), not PKCS#11
    else:
        module = tmp_path / "fake.so"
        module.write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr, report = run_cli(["--pkcs11-module", str(module)], cli_env, out / "r.json")
    assert code == 2
    assert report["errors"] == [{"target": str(module), "collector": "pkcs11", "message": expected}]
    assert_pin_nowhere(cli_env["KEYSWEEP_PKCS11_PIN"], out, stdout, stderr, caplog=caplog)


def test_successful_scan_never_shows_pin(
    issue_token: IssueToken, cli_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "out"
    out.mkdir()
    args = ["--pkcs11-module", issue_token.token.module, "--path", str(issue_token.cert_dir)]
    code, stdout, stderr, report = run_cli(args, cli_env, out / "r.json")
    assert code == 0
    assert report["errors"] == []
    assert any(a["type"] == "hsm-token" for a in report["assets"])
    assert_pin_nowhere(issue_token.token.pin, out, stdout, stderr, caplog=caplog)


def test_module_that_does_not_answer_in_time(issue_token: IssueToken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(issue_token.token.conf))
    context = CollectContext(options={"pkcs11_pin": Secret(issue_token.token.pin.encode()), "pkcs11_timeout": 0.001})
    observations = list(Pkcs11Collector().collect([Target("pkcs11", issue_token.token.module)], context))
    assert observations == [
        CollectionError(issue_token.token.module, "pkcs11", "PKCS#11 module did not answer within 0.001 seconds")
    ]


def test_worker_environment_drops_the_pin_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.collectors.pkcs11.collector import _child_environment

    monkeypatch.setenv("KEYSWEEP_PKCS11_PIN", "PIN_only-on-stdin")
    monkeypatch.setenv("SOFTHSM2_CONF", "/some/conf")
    env = _child_environment(Secret(b"PIN_only-on-stdin"))
    assert "KEYSWEEP_PKCS11_PIN" not in env and env["SOFTHSM2_CONF"] == "/some/conf"

"""The examples/ plugin package, installed into a fresh virtual environment and driven through the
CLI: its collector gets --target cert-list:FILE, its check runs from its pack, its reporter is
selected with --format (issue 10 part 4)."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import pki

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "keysweep-example-plugin"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv that sees this checkout's keysweep and its dependencies, plus the plugin."""
    env = tmp_path_factory.mktemp("plugin") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    purelib = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # keysweep and its dependencies come from the test environment (no network): its site dir,
    # .pth files included (the editable install), is added to the new venv
    ours = next(p for p in site.getsitepackages() if Path(p, "click").is_dir())
    Path(purelib, "keysweep-test-env.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    subprocess.run(
        [
            str(env / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            str(PLUGIN),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return env


def keysweep(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": ""},
    )


@pytest.mark.slow
def test_plugin_collector_check_and_reporter_through_the_cli(venv: Path, tmp_path: Path) -> None:
    key = pki.ec_key()
    pki.write(tmp_path / "cn-only.pem", pki.pem(pki.certificate(key, "legacy.test")))
    pki.write(tmp_path / "with-san.pem", pki.pem(pki.certificate(key, "good.test", san=["good.test"])))
    (tmp_path / "certs.txt").write_text("# exported from the CLM\ncn-only.pem\nwith-san.pem\nmissing.pem\n")
    done = keysweep(
        venv,
        "scan",
        "--target",
        "cert-list:certs.txt",
        "--rules",
        str(PLUGIN / "rules"),
        "--policy",
        "example-plugin",
        "--no-store",
        "--format",
        "markdown=findings.md",
        "--json",
        "r.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    subjects = {a["properties"]["subject"] for a in report["assets"] if a["type"] == "certificate"}
    assert subjects == {"CN=legacy.test", "CN=good.test"}
    assert [(f["rule_id"], f["message"]) for f in report["findings"]] == [
        ("example.cert.no-san", "certificate CN=legacy.test has no subjectAltName")
    ]
    assert [e["target"] for e in report["errors"]] == [str(tmp_path / "missing.pem")]
    markdown = (tmp_path / "findings.md").read_text()
    assert "| medium | example.cert.no-san |" in markdown
    assert "example.cert.no-san" in done.stdout  # the findings table on stdout


def test_unknown_target_kind_is_a_usage_error(venv: Path, tmp_path: Path) -> None:
    done = keysweep(venv, "scan", "--target", "cert-lst:x", cwd=tmp_path)
    assert done.returncode == 2
    assert "no installed collector takes 'cert-lst'" in done.stderr and "cert-list" in done.stderr

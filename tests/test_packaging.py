"""`pip install .` gives a working `keysweep` outside the checkout: packs and templates ship in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.support import pki

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_scans(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("keysweep-*.whl")
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    python = fresh / "bin" / "python"
    # the dependencies come from this environment (no network needed); keysweep itself from the wheel
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps-from-test-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "-q", wheel], check=True, timeout=300)

    targets = tmp_path / "targets"
    pki.write(targets / "weak.pem", pki.pem(pki.certificate(pki.rsa_key(1024), "weak.example")))
    out = tmp_path / "r.json"
    done = subprocess.run(
        [fresh / "bin" / "keysweep", "scan", "--path", targets, "--json", out, "--fail-on", "high"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(out.read_text())
    assert {f["category"] for f in report["findings"]} >= {"key-size", "pqc"}
    installed = subprocess.run(
        [python, "-c", "import scanner, scanner.resources as r; print(scanner.__file__); print(r.rules_dir())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in installed  # really the installed copy, with its bundled packs
    rules = subprocess.run([fresh / "bin" / "keysweep", "rules"], cwd=tmp_path, capture_output=True, text=True)
    assert "cms.key.min-strength" in rules.stdout

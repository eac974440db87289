"""`pip install .` gives a working `keysweep` outside the checkout: packs and templates ship in the wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from scanner import PROJECT_URL
from scanner.compat import tomllib
from scanner.reporting.sarif import INFORMATION_URI
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

    # the public API under the distribution's name, from the installed wheel
    api = subprocess.run(
        [python, "-c", "import keysweep; print(keysweep.__file__, keysweep.scan.__module__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in api and "scanner.api" in api
    # the metadata a package index shows: licence file, classifiers
    metadata = subprocess.run(
        [python, "-c", "from importlib.metadata import metadata as m; print(m('keysweep').as_string())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "License-Expression: Apache-2.0" in metadata and "License-File: LICENSE" in metadata
    assert "Classifier: Topic :: Security :: Cryptography" in metadata
    assert "Requires-Python: >=3.10" in metadata and "Classifier: Programming Language :: Python :: 3.10" in metadata
    assert f"Project-URL: Homepage, {PROJECT_URL}" in metadata
    assert f"Project-URL: Issues, {PROJECT_URL}/issues" in metadata
    # shell completion as README documents it
    for shell, marker in (("bash", "complete -o nosort -F"), ("zsh", "compdef"), ("fish", "complete --no-files")):
        script = subprocess.run(
            [fresh / "bin" / "keysweep"],
            env={"_KEYSWEEP_COMPLETE": f"{shell}_source", "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert script.returncode == 0 and marker in script.stdout, (shell, script.stderr)
    words = subprocess.run(
        [fresh / "bin" / "keysweep"],
        env={"_KEYSWEEP_COMPLETE": "bash_complete", "COMP_WORDS": "keysweep sc", "COMP_CWORD": "1", "PATH": "/usr/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "plain,scan" in words.splitlines()
    # no sample-targets/ in a wheel: the demo is not offered
    assert (
        " demo "
        not in subprocess.run(
            [fresh / "bin" / "keysweep", "--help"], cwd=tmp_path, capture_output=True, text=True
        ).stdout
    )


def test_project_urls_and_python_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    urls = project["urls"]
    # one home for the package index, SARIF's informationUri and OSCAL's namespace
    assert INFORMATION_URI == PROJECT_URL == urls["Homepage"] == urls["Source"]
    assert urls["Issues"] == f"{PROJECT_URL}/issues"
    # the documentation and the changelog the links name are in the repository
    assert urls["Documentation"] == f"{PROJECT_URL}/tree/main/docs" and (ROOT / "docs" / "api.md").is_file()
    assert urls["Changelog"] == f"{PROJECT_URL}/blob/main/CHANGELOG.md" and (ROOT / "CHANGELOG.md").is_file()
    # the classifiers name exactly the versions from requires-python to the newest one tested
    assert project["requires-python"] == ">=3.10"
    python = "Programming Language :: Python :: "
    versions = [c.removeprefix(python) for c in project["classifiers"] if c.startswith(python + "3.")]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]
    assert tools["ruff"]["target-version"] == "py310" and tools["mypy"]["python_version"] == "3.10"

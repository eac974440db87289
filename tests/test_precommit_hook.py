"""The pre-commit hook (.pre-commit-hooks.yaml) blocks committed private keys and secrets: tried
with `pre-commit try-repo` on a local repository, which builds the hook's environment from this
checkout as a user's pre-commit would (issue 10 part 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import pki
from tests.support.scans import keysweep

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented example key


def _repository(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    pki.write(root / "deploy.key", pki.key_pem(pki.ec_key()))
    (root / "settings.env").write_text(f"STRIPE_KEY={TOKEN}\n")
    (root / "README.md").write_text("nothing secret\n")
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    return root


@pytest.mark.slow
def test_pre_commit_try_repo_blocks_a_private_key_and_a_token(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PYTHONPATH": ""}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(ROOT),
            "keysweep-secrets",
            "--files",
            "deploy.key",
            "settings.env",
            "README.md",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "keysweep (private keys and secrets)" in done.stdout and "Failed" in done.stdout
    # the key's PEM block line is named, as a secret's line is (files record the block's line)
    assert f"{repo / 'deploy.key'}:1: cms.key.plaintext-private-key" in done.stdout
    assert f"{repo / 'settings.env'}:1: server.secret.plaintext" in done.stdout
    assert "README.md" not in done.stdout.split("Failed", 1)[1]
    assert TOKEN not in done.stdout + done.stderr  # named by file, line and kind, never by value


def test_precommit_command_passes_clean_files_and_fails_secrets(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing secret\n")
    clean = keysweep("precommit", str(tmp_path / "README.md"))
    assert (clean.returncode, clean.stdout) == (0, "")
    (tmp_path / "app.env").write_text(f"STRIPE_KEY={TOKEN}\n")
    dirty = keysweep("precommit", str(tmp_path / "README.md"), str(tmp_path / "app.env"))
    assert dirty.returncode == 1
    assert dirty.stdout.startswith(f"{tmp_path / 'app.env'}:1: server.secret.plaintext: ")
    assert TOKEN not in dirty.stdout + dirty.stderr

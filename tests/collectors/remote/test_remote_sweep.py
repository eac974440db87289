"""Agentless remote sweeps over SFTP against a real sshd (conftest.py): the same assets and findings
as a local sweep of the same tree, includes resolved on the remote side, strict host keys, an
encrypted identity whose passphrase appears nowhere, a stalled server, and nothing modified."""

from __future__ import annotations

import hashlib
import json
import posixpath
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.collectors.remote.conftest import RemoteLab
from tests.support import samples as sample_targets
from tests.support.scans import keysweep

REPO = Path(__file__).resolve().parents[3]
# fields of a file's place, which differ between a local and a remote sweep by design
# (and who else may read a group-readable key file, which a local sweep asks the local group database)
_PLACE_FIELDS = {"path", "mode", "owner", "host", "parent_mode", "parent_group", "group", "group_members"}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's file and config samples (sample-targets/files and configs), made fresh."""
    out = tmp_path_factory.mktemp("samples")
    for part in ("files", "configs"):
        sample_targets.start(part, out / part)
    for scratch in out.rglob("scan-*"):
        scratch.unlink()
    return out


def _tree_digest(root: Path) -> str:
    """Names, modes, sizes and contents of every entry (mtime/atime-independent)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}\0{info.st_mode}\0{info.st_size}\0".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _scan(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = subprocess.run(["mktemp", "-u", "--suffix=.json"], capture_output=True, text=True).stdout.strip()
    result = keysweep("scan", *args, "--no-store", "--json", out, "-q", env=env)
    report = json.loads(Path(out).read_text()) if Path(out).exists() else {}
    return result, report


def _remote_args(lab: RemoteLab, *paths: Path | str) -> list[str]:
    return [
        "--remote",
        lab.remote(*paths),
        "--ssh-identity",
        str(lab.identity),
        "--ssh-known-hosts",
        str(lab.known_hosts),
    ]


def _normal_ids(report: dict[str, Any], prefix: str) -> dict[str, str]:
    """Place ids without the remote host's prefix; a secret (named by the hash of its place) by its place."""
    out = {}
    for asset in report["assets"]:
        if asset["type"] == "secret":
            out[asset["id"]] = "secret@" + asset["properties"]["location"]
        else:
            out[asset["id"]] = asset["id"].replace(prefix, "") if prefix else asset["id"]
    return out


def _comparable(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Assets by normalised id, without place fields."""
    ids = _normal_ids(report, prefix)
    assets = {}
    for asset in report["assets"]:
        properties = {k: v for k, v in asset["properties"].items() if k not in _PLACE_FIELDS}
        assets[ids[asset["id"]]] = (asset["type"], properties)
    return assets


def _findings(report: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    ids = _normal_ids(report, prefix)
    return sorted((f["rule_id"], ids.get(f["asset_id"], f["asset_id"])) for f in report["findings"])


def test_remote_sweep_matches_local_sweep(remote_lab: RemoteLab, samples: Path) -> None:
    env = {"KEYSWEEP_DEMO_FILES_PASSWORD": "demo-files-passphrase"}
    before = _tree_digest(samples)
    local, local_report = _scan("--path", str(samples), "--password-env", "KEYSWEEP_DEMO_FILES_PASSWORD", env=env)
    remote, remote_report = _scan(
        *_remote_args(remote_lab, samples), "--password-env", "KEYSWEEP_DEMO_FILES_PASSWORD", env=env
    )
    assert local.returncode in (0, 1), local.stderr
    assert remote.returncode in (0, 1), remote.stderr
    prefix = f"ssh://{remote_lab.server.host}:{remote_lab.server.port}"
    assert len(local_report["assets"]) > 20
    assert _comparable(remote_report, prefix) == _comparable(local_report)
    assert _findings(remote_report, prefix) == _findings(local_report)
    assert [e["message"] for e in remote_report["errors"]] == [e["message"] for e in local_report["errors"]]
    # where the remote sweep saw things: remote-file locations, ssh://HOST:PORT/PATH, never a local path
    locations = [loc for a in remote_report["assets"] for loc in a["locations"]]
    assert locations and all(loc["kind"] == "remote-file" for loc in locations)
    assert all(loc["ref"].startswith(prefix + str(samples)) for loc in locations if "keys" not in loc["ref"])
    files = [a for a in remote_report["assets"] if a["type"] == "file"]
    assert files and all(a["properties"]["host"] == remote_lab.server.host for a in files)
    assert all(a["properties"]["owner"] == "0" and len(a["properties"]["mode"]) == 4 for a in files)
    # the same certificate is one id either way (content-derived), the same file is not (a place)
    certs = {a["id"] for a in local_report["assets"] if a["type"] == "certificate"}
    assert certs and certs == {a["id"] for a in remote_report["assets"] if a["type"] == "certificate"}
    assert {a["id"] for a in files}.isdisjoint(a["id"] for a in local_report["assets"])
    # the scope of a scan whose only target is one remote host is that host
    assert remote_report["scan"]["scope"] == remote_lab.server.host
    jsonschema.validate(remote_report, json.loads((REPO / "reports" / "report.schema.json").read_text()))
    assert _tree_digest(samples) == before


def test_the_hosts_virtual_filesystems_are_not_walked(remote_lab: RemoteLab) -> None:
    """/dev over SFTP: its devpts (and any other of the kernel's virtual filesystems mounted right
    below it) is left out, as a local walk leaves it out, known from the mount table the host's SFTP
    server reads (the lab's host is this machine, whose table the test reads to know what to expect)."""
    from scanner.collectors.files import mounts

    below_dev = {p: k for p, k in mounts.this_systems_virtual_mounts().items() if posixpath.dirname(p) == "/dev"}
    assert below_dev  # /dev/pts is devpts on the machines the suite runs on
    out = subprocess.run(["mktemp", "-u", "--suffix=.json"], capture_output=True, text=True).stdout.strip()
    done = keysweep("scan", *_remote_args(remote_lab, "/dev"), "--no-store", "--json", out, "-v")
    assert "collector failed" not in done.stderr
    note = next(line for line in done.stderr.splitlines() if "not walked" in line)
    assert all(f"{path} ({kind})" in note for path, kind in below_dev.items()), note
    local = keysweep("scan", "--path", "/dev", "--no-store", "--json", out + ".local", "-v")
    local_note = next(line for line in local.stderr.splitlines() if "not walked" in line)
    assert note.startswith("keysweep: info: 127.0.0.1:")  # which host said it
    assert note[note.index("not walked") :] == local_note[local_note.index("not walked") :]

"""What a terminal shows (issue 10 part 2, issue 18 item 8), driven through a real pty.

The findings table with colours on a TTY and without them under NO_COLOR or in a pipe, the live
progress bar on a TTY only, errors on stderr, -q, and every untrusted string escaped: a file name
and a certificate subject carrying ESC, BEL, a C1 CSI and a newline that forges a keysweep line.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import pki
from tests.support.scans import keysweep, mixed_tree

INJECTED = "\x1b]0;pwned\x07\x9b2J\nkeysweep: forged"
COLOUR = ("\x1b[31m", "\x1b[1;31m", "\x1b[33m", "\x1b[36m", "\x1b[2m")


def run_in_pty(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str]:
    """Run keysweep with stdout and stderr on a new pty; everything it wrote, as the terminal got it."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the pty
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("terminal") / "tree"
    mixed_tree(root)
    # enough plain files for the sweep to be a sweep
    for i in range(1500):
        (root / "filler" / f"d{i % 30}").mkdir(parents=True, exist_ok=True)
        (root / "filler" / f"d{i % 30}" / f"f{i}.txt").write_text(f"nothing to see {i}\n")
    return root


def test_table_progress_and_colours_on_a_tty(tree: Path) -> None:
    code, screen = run_in_pty("scan", "--path", str(tree), "--no-store")
    assert code == 0, screen
    assert "\x1b[31mHIGH (" in screen  # a coloured severity heading
    assert "cms.key.min-strength" in screen and "RSA-1024 gives 80 bits of security" in screen
    # the live bar: redrawn in place, files done of total, rate, current path
    bar = [part for part in screen.split("\r\x1b[K") if part.startswith("[")]
    assert bar, screen
    assert any("/1,505 files" in part and "/s" in part and str(tree) in part for part in bar), bar[:3]
    assert "assets," in screen and "readiness" in screen


def test_no_colour_with_no_color(tree: Path) -> None:
    code, screen = run_in_pty("scan", "--path", str(tree), "--no-store", env={"NO_COLOR": "1"})
    assert code == 0, screen
    assert "HIGH (" in screen
    assert not any(c in screen for c in COLOUR)


def test_pipes_get_the_table_without_colour_or_progress(tree: Path) -> None:
    done = keysweep("scan", "--path", str(tree), "--no-store")
    assert done.returncode == 0
    assert "HIGH (" in done.stdout and "cms.key.min-strength" in done.stdout
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stderr
    assert "assets," in done.stderr  # the summary is on stderr, the table alone on stdout


def test_quiet_prints_only_errors(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    (tmp_path / "broken.crt").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    done = keysweep("-q", "scan", "--path", str(tmp_path), "--no-store")
    assert done.returncode == 0
    assert done.stdout == ""
    assert done.stderr and all(line.startswith("keysweep: error: ") for line in done.stderr.splitlines())
    assert str(tmp_path / "broken.crt") in done.stderr


def test_verbose_levels_after_the_subcommand(tree: Path) -> None:
    one = keysweep("scan", "--path", str(tree), "--no-store", "-v")
    assert "keysweep: files: 1505 files to read" in one.stderr
    assert f"keysweep: done files: {tree} (1505 files)" in one.stderr
    assert "keysweep: read " not in one.stderr
    assert "… and" not in one.stdout  # -v lists every finding
    two = keysweep("scan", "--path", str(tree), "--no-store", "-vv")
    assert f"keysweep: read {tree / 'weak.key'}" in two.stderr


def _injected_tree(root: Path) -> Path:
    key = pki.rsa_key(1024)
    pki.write(root / f"weak{INJECTED}.key", pki.key_pem(key))
    pki.write(root / "evil.crt", pki.pem(pki.certificate(key, f"evil{INJECTED}", days=3)))
    (root / f"bad{INJECTED}.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    return root


def assert_inert(text: str) -> None:
    assert not any(c in text for c in ("\x1b", "\x07", "\x9b")), ascii(text)
    assert not any(line.startswith("keysweep: forged") for line in text.splitlines())


def test_untrusted_strings_are_escaped_everywhere(tmp_path: Path) -> None:
    tree = _injected_tree(tmp_path / "tree")
    store = tmp_path / "history.sqlite3"
    first = keysweep("scan", "--path", str(tree), "--store", str(store), "-vv", "--json", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    assert_inert(first.stdout + first.stderr)
    # shown, escaped (the subject as RFC 4514 writes it, its ';' escaped)
    assert "CN=evil\\x1b]0\\;pwned\\x07\\x9b2J\\x0akeysweep: forged expires" in first.stdout
    assert "bad\\x1b]0;pwned" in first.stderr  # the unreadable file's error line
    # the next scan finds a change; diff and history print subjects and paths
    (tree / "evil.crt").unlink()
    second = keysweep("scan", "--path", str(tree), "--store", str(store), "--json", str(tmp_path / "b.json"))
    diff = keysweep("diff", str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert diff.returncode == 0 and "Resolved findings:" in diff.stdout
    assert_inert(second.stdout + second.stderr + diff.stdout + diff.stderr)
    history = keysweep("history", "--store", str(store))
    assert_inert(history.stdout + history.stderr)
    # the JSON report keeps the exact strings
    report = json.loads((tmp_path / "a.json").read_text())
    raw_subject = "CN=evil" + INJECTED.replace(";", "\\;")
    assert raw_subject in {a["properties"].get("subject") for a in report["assets"]}

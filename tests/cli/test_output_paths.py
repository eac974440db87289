"""Report outputs never destroy what is at the path (issue 10 part 1, issue 18 item 6).

Run as root, as the scheduled scans that found the defects were: real device nodes made with
mknod, a FIFO with and without a reader, symlinks, ``-``, ``/dev/stdout`` and ``/dev/fd/N`` from
bash process substitution, all through the real ``keysweep`` process.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.scans import keysweep, mixed_tree

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="CI runs the suite as root; device nodes need root")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    mixed_tree(tmp_path / "tree")
    return tmp_path / "tree"


def scan(tree: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return keysweep("scan", "--path", str(tree), "--no-store", *args, env=env)


def is_report(text: str, tree: Path) -> bool:
    return json.loads(text)["scan"]["targets"] == [f"path:{tree}"]


def test_dash_is_stdout_and_no_file_named_dash(tree: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--path", str(tree), "--no-store", "--json", "-"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert is_report(done.stdout, tree)  # the JSON alone: no findings table mixed into it
    assert not (tmp_path / "-").exists()


def test_dev_stdout_is_written_through_and_stays_a_symlink(tree: Path) -> None:
    # (another scanner on this machine, with the old defect, may have replaced it: compare, don't assume)
    before = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else os.lstat("/dev/stdout")
    done = scan(tree, "--json", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert is_report(done.stdout, tree)
    after = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else os.lstat("/dev/stdout")
    assert after == before


def test_dev_stdout_appends_to_a_redirected_log(tree: Path, tmp_path: Path) -> None:
    log = tmp_path / "scan.log"
    log.write_text("earlier line\n")
    with log.open("a") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "scanner", "scan", "--path", str(tree), "--no-store", "--format", "jsonl"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"  # appended, never truncated or replaced
    assert len(lines) > 1 and all(json.loads(line)["scan_id"] for line in lines[1:])


def test_character_device_is_written_through_not_replaced(tree: Path, tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    done = scan(tree, "--json", str(null), "--html", str(null.with_name("null2")))
    assert done.returncode == 0, done.stderr
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert stat.S_ISREG(os.lstat(null.with_name("null2")).st_mode)


def test_full_device_is_an_error_naming_it_and_the_other_reports_are_written(tree: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a copy of /dev/full: every write is ENOSPC
    html, sarif = tmp_path / "r.html", tmp_path / "r.sarif"
    done = scan(tree, "--html", str(html), "--json", str(full), "--sarif", str(sarif), "--fail-on", "info")
    assert done.returncode == 2, done.stderr  # unusable output, even though findings are at --fail-on
    assert f"keysweep: error: json report not written: {full}: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr
    assert html.stat().st_size > 0 and json.loads(sarif.read_text())["version"] == "2.1.0"
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_fifo_reader_gets_the_whole_report(tree: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = scan(tree, "--json", str(fifo))
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert is_report(received[0].decode(), tree)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_fifo_without_reader_is_an_error_not_a_hang(tree: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    other = tmp_path / "r.json"
    done = scan(tree, "--csv", str(fifo), "--json", str(other))
    assert done.returncode == 2
    assert f"csv report not written: {fifo}: no process is reading this pipe" in done.stderr
    assert is_report(other.read_text(), tree)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_symlink_is_written_through(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "2026-11-29.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    dangling = tmp_path / "next.html"
    dangling.symlink_to(tmp_path / "reports" / "next.html")
    done = scan(tree, "--json", str(link), "--html", str(dangling))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and dangling.is_symlink()
    assert is_report(target.read_text(), tree)
    assert (tmp_path / "reports" / "next.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["2026-11-29.json", "next.html"]  # no temp files


def test_process_substitution_dev_fd(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "via-fd.json"
    # bash hands the scan /dev/fd/63, a pipe to cat; `wait $!` waits for cat to finish writing
    script = (
        f'"{sys.executable}" -m scanner scan --path "{tree}" --no-store --json >(cat > "{out}"); '
        "rc=$?; wait $!; exit $rc"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert is_report(out.read_text(), tree)


def test_new_reports_follow_the_umask_and_existing_ones_keep_their_mode(tree: Path, tmp_path: Path) -> None:
    existing = tmp_path / "kept.json"
    existing.write_text("{}")
    existing.chmod(0o640)
    os.chown(existing, 1234, 4321)
    script = (
        f'umask 022; "{sys.executable}" -m scanner scan --path "{tree}" --no-store '
        f'--html "{tmp_path / "public.html"}" --json "{existing}"'
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "public.html").stat().st_mode) == 0o644  # a web server can read it
    st = existing.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1234, 4321)
    assert is_report(existing.read_text(), tree)
    done = subprocess.run(
        ["bash", "-c", script.replace("umask 022", "umask 077").replace("public", "private")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((tmp_path / "private.html").stat().st_mode) == 0o600


@pytest.mark.parametrize("case", ["directory", "missing parent", "parent is a file"])
def test_unusable_output_exits_2_before_scanning(tree: Path, tmp_path: Path, case: str) -> None:
    place = tmp_path / "out"
    if case == "directory":
        place.mkdir()
        path, reason = place, "is a directory; give a file name"
    elif case == "missing parent":
        path, reason = place / "r.json", f"directory {place} does not exist"
    else:
        place.write_text("")
        path, reason = place / "r.json", f"{place} is not a directory"
    store = tmp_path / "history.sqlite3"
    done = keysweep("scan", "--path", str(tree), "--store", str(store), "--json", str(path))
    assert done.returncode == 2
    assert f"keysweep: error: {path}: {reason}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not store.exists()  # nothing was scanned, nothing stored
    assert "assets" not in done.stderr


def test_two_formats_to_one_path_exit_2_before_scanning(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.out"
    alias = tmp_path / "alias.out"
    alias.symlink_to(out)
    done = scan(tree, "--json", str(out), "--format", f"sarif={out}")
    assert done.returncode == 2
    assert f"{out}: both the json and the sarif report would be written here" in done.stderr
    out.write_text("")
    done = scan(tree, "--json", str(out), "--csv", str(alias))
    assert done.returncode == 2
    assert f"{alias}: both the json and the csv report would be written here" in done.stderr
    assert out.read_text() == ""
    done = scan(tree, "--json", "-", "--format", "sarif")
    assert done.returncode == 2 and "only one format can go to stdout" in done.stderr


def _without_root_privileges(*args: str) -> subprocess.CompletedProcess[str]:
    """keysweep as root without CAP_DAC_OVERRIDE: file permissions apply, as for any user."""
    return subprocess.run(
        ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unwritable_parent_exits_2_and_a_writable_file_there_is_rewritten_in_place(tree: Path, tmp_path: Path) -> None:
    web = tmp_path / "www"
    web.mkdir()
    page = web / "crypto.json"
    page.write_text("old")
    page.chmod(0o666)
    web.chmod(0o555)
    try:
        refused = _without_root_privileges("scan", "--path", str(tree), "--no-store", "--html", str(web / "new.html"))
        assert refused.returncode == 2
        assert f"keysweep: error: {web / 'new.html'}: directory {web} is not writable" in refused.stderr
        done = _without_root_privileges("scan", "--path", str(tree), "--no-store", "--json", str(page))
        assert done.returncode == 0, done.stderr
        assert is_report(page.read_text(), tree)
        assert sorted(p.name for p in web.iterdir()) == ["crypto.json"]
    finally:
        web.chmod(0o755)

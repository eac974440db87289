"""Exit codes that mean one thing (issue 10 part 3): 0 done, 1 findings at --fail-on, 2 usage /
unusable output / nothing scanned, 3 internal error (one line; traceback at -vv), 130 on SIGINT."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from tests.support.scans import keysweep, mixed_tree
from tests.support.tls_servers import free_port, start_silent_socket


def test_findings_at_fail_on_exit_1_and_below_exit_0(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    assert keysweep("scan", "--path", str(tmp_path), "--no-store", "--fail-on", "high").returncode == 1
    assert keysweep("scan", "--path", str(tmp_path), "--no-store", "--fail-on", "critical").returncode == 0


def test_nothing_scanned_exits_2_and_says_why(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    done = keysweep("scan", "--tls", f"127.0.0.1:{port}", "--no-store", "--timeout", "2")
    assert done.returncode == 2
    # the error is on stderr with its target and reason, not only counted
    line = next(line for line in done.stderr.splitlines() if line.startswith("keysweep: error: 127.0.0.1:"))
    assert f"127.0.0.1:{port}" in line and "refused" in line.lower(), done.stderr
    assert "1 error;" in done.stderr  # "1 error", never "1 errors"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--path", ".", "--policy", "nist-sp800-5"], "did you mean nist-sp800-57?"),
        (["scan", "--path", ".", "--format", "sarf"], "did you mean 'sarif'?"),
        (["scan", "--path", ".", "--fail-on", "severe"], "Invalid value for '--fail-on'"),
        (["scan", "--frobnicate"], "No such option '--frobnicate'"),
        (["scna"], "No such command 'scna'"),
        (["scan"], "nothing to scan"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_internal_error_is_one_line_exit_3_with_traceback_only_at_vv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Faked: a bug cannot be planted in the real scan, so run_scan is replaced by one that raises.
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug in \x1b[2Jscan")

    monkeypatch.setattr("scanner.scan.run_scan", broken)
    quiet = CliRunner().invoke(main, ["scan", "--path", str(tmp_path), "--no-store"])
    assert quiet.exit_code == 3
    assert quiet.stderr.splitlines() == [
        "keysweep: error: internal error: RuntimeError: bug in \\x1b[2Jscan",
        "keysweep: run again with -vv for the traceback",
    ]
    loud = CliRunner().invoke(main, ["scan", "--path", str(tmp_path), "--no-store", "-vv"])
    assert loud.exit_code == 3
    assert "Traceback (most recent call last):" in loud.stderr and "in broken" in loud.stderr
    assert "\x1b" not in loud.stderr


def test_sigint_exits_130_leaves_no_report_and_stores_nothing(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    silent = start_silent_socket()  # holds the scan in the TLS collector's worker threads
    store, report = tmp_path / "history.sqlite3", tmp_path / "out" / "report.json"
    report.parent.mkdir()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scanner",
                "scan",
                "--path",
                str(tmp_path / "tree"),
                "--tls",
                silent.target,
                "--timeout",
                "60",
                "--store",
                str(store),
                "--json",
                str(report),
                "-v",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
        reader.start()
        # interrupt once the file sweep is done and the scan waits on the silent endpoint (60 s)
        deadline = time.monotonic() + 60
        while not any(line.startswith("keysweep: done files:") for line in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        assert process.poll() is None, lines
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        process.wait(timeout=30)
        reader.join(10)
        stderr = "".join(lines)
    finally:
        silent.stop()
    assert process.returncode == 130, (process.returncode, stderr)
    assert time.monotonic() - started < 20  # not the 60 s of the endpoint's timeout
    assert "keysweep: interrupted" in stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr
    assert list(report.parent.iterdir()) == []  # no report, no temporary file
    if store.exists():  # the interrupted scan is never stored as complete
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT count(*) FROM scans").fetchone() == (0,)


def test_version_and_verbosity_anywhere() -> None:
    for flag in ("-V", "--version"):
        result = CliRunner().invoke(main, [flag])
        assert result.exit_code == 0 and result.output.startswith("keysweep, version ")
    for argv in (["-v", "rules"], ["rules", "-v"], ["-q", "rules"], ["rules", "--quiet"], ["rules", "-vv"]):
        assert CliRunner().invoke(main, argv).exit_code == 0, argv


def test_options_from_keysweep_environment_variables(tmp_path: Path) -> None:
    mixed_tree(tmp_path)
    env = {"KEYSWEEP_SCAN_FAIL_ON": "high", "KEYSWEEP_SCAN_NO_STORE": "1"}
    assert keysweep("scan", "--path", str(tmp_path), env=env).returncode == 1
    # the command line wins
    assert keysweep("scan", "--path", str(tmp_path), "--fail-on", "critical", env=env).returncode == 0
    # named after the option as typed (--policy), several values space-separated
    out = tmp_path / "r.json"
    env = {**env, "KEYSWEEP_SCAN_POLICY": "fips-140-3 cnsa-2.0", "KEYSWEEP_SCAN_JSON": str(out)}
    keysweep("scan", "--path", str(tmp_path), env=env)
    assert json.loads(out.read_text())["scan"]["policies"] == ["fips-140-3", "cnsa-2.0"]


# keysweep's entry point run as a program, after a thread that is no daemon and an exit handler
# were started (as a plugin could), printing to a pipe (block-buffered), then leaving with `code`
WAY_OUT = """
import atexit, sys, threading, time
from pathlib import Path
from scanner.cli import run
marks = Path(sys.argv[1])
def late():
    time.sleep(0.3)
    with marks.open("a") as out:
        out.write("thread\\n")
threading.Thread(target=late).start()
atexit.register(lambda: marks.open("a").write("atexit\\n"))
print("buffered output")
sys.argv = ["keysweep", *sys.argv[2:]]
run()
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--version"], 0), (["scan", "--no-store", "--path", "{tree}", "--fail-on", "high"], 1), (["scna"], 2)],
)
def test_the_program_leaves_as_interpreter_shutdown_would(tmp_path: Path, args: list[str], code: int) -> None:
    # run() ends the process without freeing the heap; everything else shutdown does still happens
    mixed_tree(tmp_path / "tree")
    marks = tmp_path / "marks"
    argv = [arg.format(tree=tmp_path / "tree") for arg in args]
    done = subprocess.run(
        [sys.executable, "-c", WAY_OUT, str(marks), *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith("buffered output\n"), done.stdout
    assert marks.read_text() == "thread\natexit\n"  # the thread waited for, then the exit handlers
    if code == 0:
        assert "version" in done.stdout


def test_the_program_exits_with_a_message_as_sys_exit_does(tmp_path: Path) -> None:
    script = "import sys\nfrom scanner import cli\ndef main():\n    sys.exit('no way')\ncli.main = main\ncli.run()\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "no way\n")


HEAP_KEPT = """
import atexit, gc, sys
from pathlib import Path
from scanner import scan
from scanner.cli import run
marks = Path(sys.argv[1])
class Held:  # held by the scan's request: freed when the command's frames are
    def __del__(self):
        marks.open("a").write("scan freed\\n")
def run_scan(request, *args, **kwargs):
    request.options["held"] = Held()
    return run_scan_as_is(request, *args, **kwargs)
run_scan_as_is, scan.run_scan = scan.run_scan, run_scan
atexit.register(lambda: marks.open("a").write(f"atexit, collector {'on' if gc.isenabled() else 'off'}\\n"))
sys.argv = ["keysweep", *sys.argv[2:]]
run()
"""


def test_the_program_neither_frees_nor_collects_the_scan_on_its_way_out(tmp_path: Path) -> None:
    # freeing the unwound frames (the scan's result and inventory) or collecting them after the
    # collector is turned on again costs ~0.1 s each at 20,000 files, for a process about to end
    mixed_tree(tmp_path / "tree")
    marks = tmp_path / "marks"
    scan = ["scan", "--no-store", "--path", str(tmp_path / "tree"), "-q"]
    done = subprocess.run(
        [sys.executable, "-c", HEAP_KEPT, str(marks), *scan], capture_output=True, text=True, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert marks.read_text() == "atexit, collector off\n"

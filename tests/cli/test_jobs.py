"""The store's save and the reports, written side by side in forked processes (scanner/cli/jobs.py):
each job's message comes back in the jobs' order, no more jobs run at once than asked, a job that
fails unexpectedly or dies fails the scan naming it, and Ctrl-C interrupts every job, each cleaning
up after itself. Real forks, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from scanner.cli.jobs import Job, JobFailed, run_jobs


def _note(log: Path, text: str) -> None:
    with open(log, "a") as handle:  # O_APPEND: lines from several processes stay whole
        handle.write(text + "\n")


def _job(log: Path, name: str, message: str | None, pause: float = 0.2) -> Job:
    def run() -> str | None:
        _note(log, f"start {name} {os.getpid()}")
        time.sleep(pause)
        _note(log, f"end {name} {os.getpid()}")
        return message

    return Job(name, run)


def _lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


def test_messages_come_back_in_the_jobs_order_from_other_processes(tmp_path: Path) -> None:
    log = tmp_path / "log"
    # the first job takes longest: it ends last, and its message still comes first
    jobs = [_job(log, "a", "a failed", 0.6), _job(log, "b", None, 0.1), _job(log, "c", "c failed", 0.1)]
    assert run_jobs(jobs, parallel=3) == ["a failed", None, "c failed"]
    pids = {pid for _, _, pid in _lines(log)}
    assert len(pids) == 3 and str(os.getpid()) not in pids
    assert [name for what, name, _ in _lines(log) if what == "end"][-1] == "a"


def test_no_more_jobs_run_at_once_than_asked(tmp_path: Path) -> None:
    log = tmp_path / "log"
    assert run_jobs([_job(log, str(n), None) for n in range(5)], parallel=2) == [None] * 5
    running, most = 0, 0
    for what, _, _ in _lines(log):
        running += 1 if what == "start" else -1
        most = max(most, running)
    assert most == 2
    assert len(_lines(log)) == 10


def test_a_single_job_or_one_at_a_time_runs_in_this_process(tmp_path: Path) -> None:
    log = tmp_path / "log"
    assert run_jobs([_job(log, "a", None, 0)], parallel=4) == [None]
    assert run_jobs([_job(log, "b", None, 0), _job(log, "c", "c failed", 0)], parallel=1) == [None, "c failed"]
    assert {pid for _, _, pid in _lines(log)} == {str(os.getpid())}


def test_an_unexpected_failure_names_the_job_and_keeps_its_traceback(tmp_path: Path) -> None:
    def broken() -> str | None:
        raise ValueError("bad value in the report")

    with pytest.raises(JobFailed, match=r"writing the csv report: ValueError: bad value in the report") as caught:
        run_jobs([_job(tmp_path / "log", "a", None, 0), Job("writing the csv report", broken)], parallel=2)
    assert "Traceback" in caught.value.details and "broken" in caught.value.details


def test_a_job_whose_process_dies_fails_the_scan_naming_it(tmp_path: Path) -> None:
    def killed() -> str | None:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
        return None

    with pytest.raises(JobFailed, match=r"saving the scan to the store: its process ended by signal 9"):
        run_jobs([Job("saving the scan to the store", killed), _job(tmp_path / "log", "a", None, 0)], parallel=2)


def test_an_interrupt_reaches_every_job_which_cleans_up_and_the_caller_is_interrupted(tmp_path: Path) -> None:
    """SIGINT sent to the scanning process alone (not its process group): the jobs still running are
    interrupted by it, each removes its half-written file (a finally block), and the caller sees a
    KeyboardInterrupt."""
    program = textwrap.dedent(
        f"""
        import os, sys, time
        from pathlib import Path
        from scanner.cli.jobs import Job, run_jobs
        work = Path({str(tmp_path)!r})

        def writing(name):
            def run():
                partial = work / (name + ".partial")
                partial.write_text(str(os.getpid()))
                try:
                    time.sleep(60)
                finally:
                    partial.unlink()
                return None
            return Job(name, run)

        try:
            run_jobs([writing("store"), writing("html")], parallel=2)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    # each job's file holds its pid once written (a file can be seen created and still empty)
    while len(_pids(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    children = _pids(tmp_path)
    assert len(children) == 2
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130 and out == "interrupted\n"
    assert list(tmp_path.glob("*.partial")) == []
    for pid in children:  # reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _pids(folder: Path) -> list[int]:
    return [int(text) for text in (p.read_text() for p in folder.glob("*.partial")) if text]


def test_the_summary_is_computed_once_for_every_job_of_a_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a scan saving to a new store (read aside) and writing three reports in forked jobs: each asks
    # for the summary; it is computed once, before the forks, and inherited
    from click.testing import CliRunner

    from scanner.cli import main
    from scanner.inventory import summary
    from tests.support.scans import mixed_tree

    log = tmp_path / "computed"
    summarize = summary._summarize

    def counted(result: object) -> dict[str, object]:
        _note(log, str(os.getpid()))
        return summarize(result)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "_summarize", counted)
    summary._summary_of.cache_clear()
    mixed_tree(tmp_path / "tree")
    outputs = [
        "--json",
        str(tmp_path / "r.json"),
        "--html",
        str(tmp_path / "r.html"),
        "--sarif",
        str(tmp_path / "r.sarif"),
    ]
    args = [
        "scan",
        "--path",
        str(tmp_path / "tree"),
        "--store",
        str(tmp_path / "h.sqlite3"),
        "--workers",
        "2",
        *outputs,
    ]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert [line[0] for line in _lines(log)] == [str(os.getpid())]


def test_an_interrupt_in_the_moment_a_job_is_forked_still_reaches_it(tmp_path: Path) -> None:
    """Ctrl-C arriving just after a job's fork, before the scanning process has noted the job: the job
    is interrupted all the same (it cleans up), not left running unknown to the stop."""
    program = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from pathlib import Path
        from scanner.cli import jobs
        work = Path({str(tmp_path)!r})

        def run():
            partial = work / "job.partial"
            partial.write_text(str(os.getpid()))
            try:
                time.sleep(60)
            finally:
                partial.unlink()

        fork = jobs._Forked._fork
        def forked_then_interrupted(self, *args):
            answer = fork(self, *args)
            while not (work / "job.partial").exists():  # the job is under way
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)  # in the window between the fork and the job noted
            return answer
        jobs._Forked._fork = forked_then_interrupted
        try:
            jobs.run_jobs([jobs.Job("store", run), jobs.Job("html", run)], parallel=2)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        """
    )
    process = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert (process.returncode, process.stdout) == (130, "interrupted\n"), process.stderr
    assert list(tmp_path.glob("*.partial")) == []

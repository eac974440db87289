"""The file pool on its own (scanner/collectors/files/pool.py). Answers come in the order asked,
whatever order the workers finish in; a task that raises, a worker that dies by its own file or is
killed from outside cost the files concerned an answer of their own and nothing else; an interrupt
stops the pool at once; no worker outlives the pool."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from scanner.collectors.files import pool
from scanner.collectors.files.pool import Answer, FilePool


def _batches(count: int, size: int) -> Iterator[list[str]]:
    for start in range(0, count, size):
        yield [f"file{n}" for n in range(start, min(count, start + size))]


def _all(files: FilePool, batches: Iterator[Sequence[str]]) -> list[Answer]:
    return [answer for answers in files.answers(batches) for answer in answers]


def _children() -> set[int]:
    pid = os.getpid()
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        found |= {int(child) for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}
    return found


def _echo(path: str) -> Answer:
    return ("parsed", os.getpid(), path, b"x" * 16000)  # 16 kB: a task's answers fill a pipe's 64 kB


def test_answers_come_in_the_order_asked_from_every_worker() -> None:
    before = _children()
    with FilePool(_echo, 3) as files:
        answers = _all(files, _batches(2000, 17))
    assert [a[2] for a in answers] == [f"file{n}" for n in range(2000)]
    assert len({a[1] for a in answers}) == 3 and os.getpid() not in {a[1] for a in answers}
    assert _children() == before  # every worker ended and was waited for


def test_a_slow_first_task_does_not_reorder_the_answers() -> None:
    def slow_first(path: str) -> Answer:
        if path == "file0":
            time.sleep(0.5)  # the other worker answers many tasks meanwhile
        return ("done", path)

    with FilePool(slow_first, 2) as files:
        answers = _all(files, _batches(300, 5))
    assert answers == [("done", f"file{n}") for n in range(300)]


def test_empty_batches_are_answered_in_their_place() -> None:
    batches = iter([["a"], [], ["b", "c"], [], []])
    with FilePool(lambda path: ("done", path), 2) as files:
        assert list(files.answers(batches)) == [[("done", "a")], [], [("done", "b"), ("done", "c")], [], []]


def test_a_task_that_raises_costs_only_the_file_that_raised() -> None:
    def buggy(path: str) -> Answer:
        if path == "file50":
            raise ValueError("a bug on this file\nand a second line")
        return ("done", path)

    with FilePool(buggy, 2) as files:
        answers = _all(files, _batches(200, 16))
    expected: list[Answer] = [("done", f"file{n}") for n in range(200)]
    expected[50] = ("failed", "the worker reading it failed: ValueError: a bug on this file")
    assert answers == expected


def test_a_worker_killed_by_its_file_costs_only_that_file_and_the_pool_goes_on() -> None:
    def crashing(path: str) -> Answer:
        if path in ("file10", "file150"):
            os.kill(os.getpid(), signal.SIGKILL)
        return ("done", path, os.getpid())

    before = _children()
    with FilePool(crashing, 2) as files:
        answers = _all(files, _batches(300, 8))
    died = ("failed", "the worker process reading it died (a crash in a parser, or killed)")
    assert [a if a[0] == "failed" else a[:2] for a in answers] == [
        died if n in (10, 150) else ("done", f"file{n}") for n in range(300)
    ]
    assert len({a[2] for a in answers if a[0] == "done"}) > 2  # dead workers were replaced
    assert _children() == before


def test_a_worker_killed_from_outside_loses_no_file() -> None:
    def steady(path: str) -> Answer:
        time.sleep(0.002)
        return ("done", path)

    with FilePool(steady, 2) as files:
        answers: list[Answer] = []
        for n, batch in enumerate(files.answers(_batches(400, 10))):
            if n == 3:  # the OOM killer, an operator's kill: while tasks wait in its pipe
                os.kill(min(_children()), signal.SIGKILL)
            answers += batch
    assert answers == [("done", f"file{n}") for n in range(400)]


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def test_an_interrupted_sweep_leaves_no_worker() -> None:
    def endless(path: str) -> Answer:
        time.sleep(30)
        return ("done", path)

    before = _children()
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)  # Ctrl-C while the pool waits for answers
    try:
        with pytest.raises(KeyboardInterrupt), FilePool(endless, 2) as files:
            for _ in files.answers(_batches(100, 10)):
                raise AssertionError("no answer comes before the interrupt")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    assert _children() == before


def test_answer_pipes_are_widened_where_the_kernel_allows() -> None:
    read, write = os.pipe()
    try:
        pool._wide(write)
        assert fcntl.fcntl(write, 1032) >= pool._PIPE_BYTES  # F_GETPIPE_SZ (Linux)
    finally:
        os.close(read)
        os.close(write)


class Hung(Exception):
    """Not an OSError (TimeoutError is one): nothing in the pool takes it for a worker's end."""


def _timed_out(*_: object) -> None:
    raise Hung("the pool hung")


def test_small_pipes_never_hang_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipes of one page (what a user past the kernel's pipe quota gets, and no wider than some
    kernels make them): the workers' answers fill theirs while the next task fills the other way.
    The pool writes a task only as far as its pipe takes it, and reads answers meanwhile."""
    monkeypatch.setattr(pool, "_PIPE_BYTES", 4096)  # _wide makes every pipe this small
    long_names = [f"/{'d' * 250}/file{n}" for n in range(3000)]  # a task of 128 is ~33 kB
    batches = (long_names[i : i + pool.CHUNK] for i in range(0, len(long_names), pool.CHUNK))
    previous = signal.signal(signal.SIGALRM, _timed_out)
    signal.setitimer(signal.ITIMER_REAL, 60)  # a hang fails the test instead of the suite
    try:
        with FilePool(lambda path: ("done", path, "x" * 20000), 2) as files:
            answers: list[Answer] = []
            for batch in files.answers(batches):
                assert all(fcntl.fcntl(w.tasks, 1032) == 4096 for w in files._workers)  # F_GETPIPE_SZ
                answers += batch
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert [a[1] for a in answers] == long_names

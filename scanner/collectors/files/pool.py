"""The parallel file sweep: reading, sniffing, parsing and describing files in forked workers.

Workers are forked, so they start with the parent's handlers, context and passwords in memory:
nothing but file paths goes to a worker, and what comes back is compact data, never an object graph:
per file either a final answer (its error entries as codec values, its counts) or its fstat and its
parse as the file cache's bytes (``cache.encode``), which the parent decodes exactly as it decodes a
cache hit. The parent keeps the walk's order, so one process and N give the same report bytes.

A worker that dies (a crash in a native parser, the OOM killer) breaks the pool: the files of the
lost tasks are tried again one by one in a fresh pool, and the file that breaks it again becomes an
error entry naming it; no file is lost and nothing waits for ever. Workers ignore SIGINT: Ctrl-C
reaches the parent, which stops the pool and leaves as an interrupted scan.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Final, TypeAlias

from scanner.collectors.files.lasting import building_what_lasts
from scanner.inventory import codec
from scanner.processes import die_with

# files per task: large enough that a task's pickling and wake-up cost little (each submit and each
# answer hands the GIL between the scanning thread and the executor's threads; on a loaded 2-core
# machine a 20,000-file sweep took 12.5 s with 32-file tasks, 8.8 s with 128; quiet, the same within
# noise), small enough to balance the workers
CHUNK: Final = 128
# tasks in flight per worker: keeps workers busy without holding the whole tree's results in memory
AHEAD: Final = 4
# below this many files to read, forking costs more than it saves (unless --workers asks for it)
MIN_FILES: Final = 256

# what a worker answers for one file: ("done", [codec values], counts as a tuple),
# ("parsed", fstat fields, cache bytes), or ("local",): a parse that is not plain JSON, redone in the parent
Answer: TypeAlias = tuple[Any, ...]
# the parent's own read step, run in the worker: (path) -> Answer
ReadStep: TypeAlias = Callable[[str], Answer]

# a task in flight, with the pool it was sent to
_Task: TypeAlias = "tuple[Future[list[Answer]], ProcessPoolExecutor]"

_read_step: ReadStep | None = None  # set in the parent before forking; the workers inherit it


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def stat_fields(info: os.stat_result) -> tuple[Any, ...]:
    """An fstat as plain values (os.stat_result takes them back: mode ... ctime, then the *_ns fields)."""
    return (
        *info[:10],
        info.st_atime,
        info.st_mtime,
        info.st_ctime,
        info.st_atime_ns,
        info.st_mtime_ns,
        info.st_ctime_ns,
    )


def encode_error(observations: Sequence[Any]) -> list[dict[str, Any]]:
    return [codec.encode(item) for item in observations]


def _initialise(parent: int, collecting: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    die_with(parent)
    if collecting:  # as the parent had it before the sweep: a worker parses in a long loop
        gc.enable()


def _work(paths: Sequence[str]) -> list[Answer]:
    assert _read_step is not None, "the pool's read step is set before the fork"
    return [_read_step(path) for path in paths]


class FilePool:
    """Answers for files in the order asked, from ``workers`` forked processes."""

    def __init__(self, read_step: ReadStep, workers: int) -> None:
        self._read_step = read_step
        self._workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lasting = contextlib.ExitStack()
        self._collecting = gc.isenabled()

    def __enter__(self) -> FilePool:
        # the collector is off in the parent while the workers answer (it only decodes their answers
        # into the inventory), and on in the workers, as the caller had it
        self._collecting = self._lasting.enter_context(building_what_lasts())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop(kill=exc[0] is not None)
        finally:
            self._lasting.close()

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            global _read_step
            _read_step = self._read_step
            self._executor = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_initialise,
                initargs=(os.getpid(), self._collecting),
            )
        return self._executor

    def _stop(self, *, kill: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if kill:  # interrupted or failed: the answers still coming are not wanted
            # the executor has no public way to stop running workers; they hold nothing to save
            for process in list(getattr(executor, "_processes", {}).values()):
                with contextlib.suppress(OSError):
                    process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)

    def answers(self, batches: Iterator[Sequence[str]]) -> Iterator[list[Answer]]:
        """For each batch of paths (in order), the list of their answers (in order)."""
        pending: deque[tuple[Sequence[str], _Task | None]] = deque()
        limit = self._workers * AHEAD
        for batch in batches:
            pending.append((batch, self._submit(batch) if batch else None))
            while len(pending) >= limit:
                yield self._resolve(*pending.popleft())
        while pending:
            yield self._resolve(*pending.popleft())

    def _submit(self, batch: Sequence[str]) -> _Task:
        try:
            executor = self._pool()
            return executor.submit(_work, list(batch)), executor
        except BrokenProcessPool:  # broken by an earlier task: a fresh pool
            self._stop(kill=True)
            executor = self._pool()
            return executor.submit(_work, list(batch)), executor

    def _resolve(self, batch: Sequence[str], task: _Task | None) -> list[Answer]:
        if task is None:
            return []
        future, executor = task
        try:
            return future.result()
        except BrokenProcessPool:
            # the pool this task ran in died: replace it, unless that was done already (the other
            # tasks of a dead pool must not stop the fresh one, and with it the tasks sent there since)
            if executor is self._executor:
                self._stop(kill=True)
        except Exception:  # one file's failure is found below, file by file (a cancelled task too)
            pass
        return [self._alone(path) for path in batch]

    def _alone(self, path: str) -> Answer:
        """One file in a pool of its own making: its answer, or the error entry of its failure."""
        try:
            return self._pool().submit(_work, [path]).result()[0]
        except BrokenProcessPool:
            self._stop(kill=True)
            reason = "the worker process reading it died (a crash in a parser, or killed)"
        except Exception as exc:  # a bug, shown on the file it happened on
            first_line = str(exc).split("\n", 1)[0]
            reason = f"the worker reading it failed: {type(exc).__name__}: {first_line}"
        return ("failed", reason)

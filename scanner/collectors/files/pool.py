"""The parallel file sweep: reading, sniffing, parsing and describing files in forked workers.

Workers are forked, so they start with the parent's handlers, context and passwords in memory:
nothing but file paths goes to a worker, and what comes back is compact data, never an object graph:
per file either a final answer (its error entries as codec values, its counts) or its fstat and its
parse as the file cache's bytes (``cache.encode``), which the parent decodes exactly as it decodes a
cache hit. The parent keeps the walk's order, so one process and N give the same report bytes.

Each worker has a pipe of tasks and a pipe of answers, both written and read by the scanning thread
itself: no executor or feeder threads. A worker always has its next tasks waiting in its pipe, so
it never waits for the parent to be scheduled, and the parent spends no CPU handing tasks between
threads (ProcessPoolExecutor did both: its manager and feeder threads needed the interpreter lock
for every task and answer, which the scanning thread held while decoding answers).

A worker that dies (a crash in a native parser, the OOM killer) breaks the pool: the files of the
lost tasks are tried again one by one in a fresh pool, and the file that breaks it again becomes an
error entry naming it; no file is lost and nothing waits for ever. Workers ignore SIGINT: Ctrl-C
reaches the parent, which stops the pool and leaves as an interrupted scan.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import select
import signal
import struct
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeAlias

from scanner.collectors.files.lasting import building_what_lasts
from scanner.inventory import codec
from scanner.processes import die_with

# files per task: large enough that a task's pickling and wake-up cost little, small enough to
# balance the workers
CHUNK: Final = 128
# tasks in flight per worker: keeps workers busy without holding the whole tree's results in memory
AHEAD: Final = 4
# below this many files to read, forking costs more than it saves (unless --workers asks for it)
MIN_FILES: Final = 256
# a pipe's buffer, asked of the kernel (Linux; elsewhere the default): a task's answers (~300 kB for
# 128 certificates) are written while the parent is busy decoding the one before, not waited for
_PIPE_BYTES: Final = 1 << 20
_F_SETPIPE_SZ: Final = 1031  # linux/fcntl.h
# a message: the task's number and the length of its pickled body
_HEADER: Final = struct.Struct("<qQ")

# what a worker answers for one file: ("done", [codec values], counts as a tuple),
# ("parsed", fstat fields, cache bytes), ("local",): a parse that is not plain JSON, redone in the
# parent, or ("failed", reason): the file could not be read by a worker
Answer: TypeAlias = tuple[Any, ...]
# the parent's own read step, run in the worker: (path) -> Answer
ReadStep: TypeAlias = Callable[[str], Answer]


class BrokenPool(Exception):
    """A worker died: its tasks' answers are not coming."""


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


def _wide(fd: int) -> None:
    with contextlib.suppress(OSError):  # not Linux, or past the user's pipe quota: the default buffer
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_BYTES)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None at its end."""
    parts = []
    while size:
        part = os.read(fd, size)
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _message(number: int, body: object) -> bytes:
    data = pickle.dumps(body, pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(number, len(data)) + data


def _serve(read_step: ReadStep, tasks: int, answers: int, parent: int, collecting: bool) -> None:
    """A worker's life: each task's paths read and their answers sent, until its pipe of tasks ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    die_with(parent)
    if collecting:  # as the parent had it before the sweep: a worker parses in a long loop
        gc.enable()
    while (header := _read_exactly(tasks, _HEADER.size)) is not None:
        number, size = _HEADER.unpack(header)
        body = _read_exactly(tasks, size)
        if body is None:
            return
        try:
            answer: object = [read_step(path) for path in pickle.loads(body)]
        except Exception as exc:  # a bug: the parent asks for the task's files one by one
            answer = ("raised", f"{type(exc).__name__}: {str(exc).split(chr(10), 1)[0]}")
        _write_all(answers, _message(number, answer))


class _Worker:
    """One forked worker and the two pipes to it."""

    def __init__(self, read_step: ReadStep, collecting: bool, others: Sequence[_Worker]) -> None:
        task_read, self.tasks = os.pipe()
        self.answers, answer_write = os.pipe()
        for fd in (self.tasks, self.answers):
            _wide(fd)
        parent = os.getpid()
        sys.stdout.flush()  # what is buffered is written once, by the parent
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:  # the worker: never returns to the caller's code
            code = 0
            try:
                os.close(self.tasks)
                os.close(self.answers)
                for other in others:  # the other workers' pipes: their ends would keep them open
                    other.close()
                _serve(read_step, task_read, answer_write, parent, collecting)
            except BaseException:
                with contextlib.suppress(BaseException):
                    traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(task_read)
        os.close(answer_write)
        self.sent: list[int] = []  # its tasks not answered yet, in the order sent
        self._buffer = bytearray()
        self._outgoing = bytearray()  # tasks not yet taken by its pipe (a pool's worker: see nonblocking)

    def nonblocking(self) -> None:
        """Tasks handed to its pipe as far as the pipe takes them, the rest by :meth:`flush` when
        it has room: a pool never blocks on a worker busy writing answers it waits to have read
        (a small pipe, past the user's pipe quota or on a kernel that does not widen it, would
        otherwise hang the sweep: the worker blocked on its answers, the pool on its next task)."""
        os.set_blocking(self.tasks, False)

    def send(self, number: int, paths: Sequence[str]) -> None:
        """The task queued for the worker and written as far as its pipe takes it (all of it, on a
        blocking pipe); OSError when the worker is gone (the task stays owed: its answer never comes)."""
        self.sent.append(number)
        self._outgoing += _message(number, list(paths))
        self.flush()

    @property
    def writing(self) -> bool:
        return bool(self._outgoing)

    def flush(self) -> None:
        """What the pipe takes of the queued tasks; OSError when the worker is gone."""
        outgoing = self._outgoing
        while outgoing:
            try:
                written = os.write(self.tasks, outgoing)
            except BlockingIOError:
                return
            except OSError:
                outgoing.clear()  # it is gone: nothing more is written to it
                raise
            del outgoing[:written]

    def receive(self) -> list[tuple[int, Any]]:
        """The answers that arrived whole (one read: call when the pipe is readable); BrokenPool at its end."""
        data = os.read(self.answers, _PIPE_BYTES)
        if not data:
            raise BrokenPool
        buffer = self._buffer
        buffer += data
        done = []
        while len(buffer) >= _HEADER.size:
            number, size = _HEADER.unpack_from(buffer)
            end = _HEADER.size + size
            if len(buffer) < end:
                break
            done.append((number, pickle.loads(memoryview(buffer)[_HEADER.size : end])))
            del buffer[:end]
            self.sent.remove(number)
        return done

    def close(self) -> None:
        for fd in (self.tasks, self.answers):
            with contextlib.suppress(OSError):
                os.close(fd)

    def stop(self, *, kill: bool) -> None:
        """Killed (its answers not wanted), or ended by the end of its pipe of tasks; see :meth:`reap`."""
        if kill:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


class FilePool:
    """Answers for files in the order asked, from ``workers`` forked processes."""

    def __init__(self, read_step: ReadStep, workers: int) -> None:
        self._read_step = read_step
        self._size = workers
        self._workers: list[_Worker] = []
        self._lasting = contextlib.ExitStack()
        self._collecting = gc.isenabled()
        self._answered: dict[int, Any] = {}  # answers that came before their turn
        self._next = 0  # the next task's number

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

    def _pool(self) -> list[_Worker]:
        while len(self._workers) < self._size:
            worker = _Worker(self._read_step, self._collecting, self._workers)
            worker.nonblocking()
            self._workers.append(worker)
        return self._workers

    def _stop(self, *, kill: bool) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:  # all told first, then waited for: they end side by side
            worker.stop(kill=kill)  # killed when interrupted or failed: the answers coming are not wanted
        for worker in workers:
            worker.reap()

    def answers(self, batches: Iterator[Sequence[str]]) -> Iterator[list[Answer]]:
        """For each batch of paths (in order), the list of their answers (in order)."""
        sent: dict[int, Sequence[str]] = {}  # by number, until answered
        order: deque[int] = deque()  # the numbers of the batches not yielded yet, in order
        limit = self._size * AHEAD
        pending = iter(batches)
        more = True
        while True:
            while more and len(order) < limit:
                batch = next(pending, None)
                if batch is None:
                    more = False
                    break
                number = self._next
                self._next += 1
                order.append(number)
                if batch:
                    sent[number] = batch
                    self._send(number, batch)
                else:
                    self._answered[number] = []
            if not order:
                return
            first = order.popleft()
            while first not in self._answered:
                self._wait(sent)
            batch = sent.pop(first, ())
            answer = self._answered.pop(first)
            if isinstance(answer, tuple):  # the task raised in its worker: its files one by one
                answer = [self._alone(path) for path in batch]
            yield answer

    def _send(self, number: int, batch: Sequence[str]) -> None:
        """To the worker with the fewest tasks not answered (the first of them on a tie)."""
        worker = min(self._pool(), key=lambda w: len(w.sent))
        with contextlib.suppress(OSError):  # its pipe is closed: it died, which reading its answers finds
            worker.send(number, batch)

    def _wait(self, sent: dict[int, Sequence[str]]) -> None:
        """Until some answers arrived; a dead worker's tasks are answered file by file."""
        owing = [worker for worker in self._workers if worker.sent]
        if not owing:  # never so (a task waited for is some worker's): a bug, not a hang
            raise RuntimeError("the file pool waits for answers no worker owes")
        poll = select.poll()
        for worker in owing:
            poll.register(worker.answers, select.POLLIN)
            if worker.writing:  # its next tasks, as its pipe makes room
                poll.register(worker.tasks, select.POLLOUT)
        ready = {fd for fd, _ in poll.poll()}
        for worker in [w for w in owing if w.writing and w.tasks in ready]:
            with contextlib.suppress(OSError):  # it died: reading its answers finds the end of its pipe
                worker.flush()
        for worker in [w for w in self._workers if w.answers in ready]:
            try:
                for number, answer in worker.receive():
                    self._answered[number] = answer
            except BrokenPool:  # a fresh worker takes its place for the tasks to come
                self._workers.remove(worker)
                worker.stop(kill=False)
                worker.reap()
                for number in worker.sent:
                    self._answered[number] = [self._alone(path) for path in sent[number]]

    def _alone(self, path: str) -> Answer:
        """One file in a worker of its own: its answer, or the error entry of its failure."""
        worker = _Worker(self._read_step, self._collecting, self._workers)
        try:
            worker.send(0, [path])
            received: list[tuple[int, Any]] = []
            while not received:
                received = worker.receive()
            answer = received[0][1]
        except (BrokenPool, OSError):
            reason = "the worker process reading it died (a crash in a parser, or killed)"
        else:
            if not isinstance(answer, tuple):
                return answer[0]  # type: ignore[no-any-return]
            reason = f"the worker reading it failed: {answer[1]}"
        finally:
            worker.stop(kill=True)
            worker.reap()
        return ("failed", reason)

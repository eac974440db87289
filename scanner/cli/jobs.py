"""What a scan does once its result is known, side by side: saving it to the store, writing each report.

Each is a job that returns None when done or the message saying why it could not be done (the
caller prints the messages, in the jobs' order, whatever order they ended in). With more than one
job and more than one usable core, jobs run in forked processes, as many at once as ``parallel``
allows: the result and the rendered report are in memory already and forked copies share them.
A forked job sends back only its message.

A job that fails in a way it does not expect (an internal error) fails the scan as it would in
this process: :class:`JobFailed` names the job and what it raised. A job's process that ends
without an answer (killed, out of memory) is such a failure too. Ctrl-C reaches the jobs as it
reaches this process (one process group, or sent on by this one): each rolls back or removes what
it was writing, and the scan ends as interrupted.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from scanner.processes import die_with

# a job's answer: (its message or None), or what it raised: ("raised", "Type: text", traceback text)
_DONE, _RAISED, _INTERRUPTED = "done", "raised", "interrupted"


@dataclass(frozen=True, slots=True)
class Job:
    name: str  # what the job does, for an internal error: "the json report", "saving to the store"
    run: Callable[[], str | None]  # None when done, else why not (the job's own, expected failures)


class JobFailed(Exception):
    """A job raised what it did not expect, or its process ended without answering."""

    def __init__(self, job: str, what: str, details: str = "") -> None:
        super().__init__(f"{job}: {what}")
        self.details = details  # the job's traceback, for -vv


@contextlib.contextmanager
def _interrupts_held() -> Iterator[set[int | signal.Signals] | None]:
    """SIGINT blocked (pending, not lost) in this thread; gives the mask to restore, None where
    signals cannot be blocked (not POSIX)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield None
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def run_jobs(jobs: Sequence[Job], parallel: int) -> list[str | None]:
    """Each job's message, in the jobs' order; up to ``parallel`` forked jobs at once."""
    if parallel < 2 or len(jobs) < 2 or not hasattr(os, "fork"):
        return [job.run() for job in jobs]
    return _Forked(jobs, parallel).run()


class _Forked:
    def __init__(self, jobs: Sequence[Job], parallel: int) -> None:
        self._jobs = jobs
        self._parallel = parallel
        self._running: dict[int, tuple[int, int, bytearray]] = {}  # read end -> (pid, job index, bytes read)
        self._answers: dict[int, str | None] = {}

    def run(self) -> list[str | None]:
        waiting = deque(range(len(self._jobs)))
        selector = selectors.DefaultSelector()
        # what was printed before: written once, by this process (a forked copy of a buffer would be written twice)
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            while waiting or self._running:
                while waiting and len(self._running) < self._parallel:
                    index = waiting.popleft()
                    # Ctrl-C held back until the job is known: arriving between the fork and this line,
                    # it would leave a job that _stop below never interrupts (nor waits for)
                    with _interrupts_held() as held:
                        pid, fd = self._fork(index, held)
                        self._running[fd] = (pid, index, bytearray())
                    selector.register(fd, selectors.EVENT_READ)
                for key, _ in selector.select():
                    fd = int(key.fd)
                    chunk = os.read(fd, 65536)
                    if chunk:
                        self._running[fd][2].extend(chunk)
                        continue
                    selector.unregister(fd)
                    os.close(fd)
                    pid, index, answer = self._running.pop(fd)
                    self._answers[index] = self._finish(index, pid, bytes(answer))
        except BaseException:
            self._stop()
            raise
        finally:
            selector.close()
        return [self._answers[i] for i in range(len(self._jobs))]

    def _fork(self, index: int, mask: set[int | signal.Signals] | None) -> tuple[int, int]:
        parent = os.getpid()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid:
            os.close(write_end)
            return pid, read_end
        # the job's process: its answer goes down the pipe, and it ends without this process's exit
        # handlers (they belong to the scan); what it wrote to stdout is flushed first
        code = 0
        try:
            if mask is not None:  # Ctrl-C, held back across the fork, reaches the job from here on
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_end)
            die_with(parent)
            answer: tuple[object, ...] = (_DONE, self._jobs[index].run())
        except KeyboardInterrupt:
            answer, code = (_INTERRUPTED,), 130
        except BaseException as exc:  # an internal error: told to the scanning process, which fails as it would
            answer, code = (_RAISED, f"{type(exc).__name__}: {exc}", traceback.format_exc()), 3
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
            data = pickle.dumps(answer)
            while data:
                data = data[os.write(write_end, data) :]
        os._exit(code)

    def _finish(self, index: int, pid: int, answer: bytes) -> str | None:
        name = self._jobs[index].name
        _, status = os.waitpid(pid, 0)
        try:
            told = pickle.loads(answer) if answer else None
        except Exception:  # a job's process that broke off mid-answer
            told = None
        if isinstance(told, tuple) and told[:1] == (_DONE,) and len(told) == 2:
            return None if told[1] is None else str(told[1])
        if isinstance(told, tuple) and told[:1] == (_INTERRUPTED,):
            raise KeyboardInterrupt
        if isinstance(told, tuple) and told[:1] == (_RAISED,) and len(told) == 3:
            raise JobFailed(name, str(told[1]), str(told[2]))
        if os.WIFSIGNALED(status):
            raise JobFailed(name, f"its process ended by signal {os.WTERMSIG(status)} without finishing")
        raise JobFailed(name, f"its process ended with exit code {os.waitstatus_to_exitcode(status)} without finishing")

    def _stop(self) -> None:
        """Interrupted or failed: the jobs still running are interrupted too, and waited for (each
        rolls back or removes what it was writing; the CLI's grace period bounds the wait)."""
        for pid, _, _ in self._running.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGINT)
        for fd, (pid, _, _) in self._running.items():
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        self._running.clear()

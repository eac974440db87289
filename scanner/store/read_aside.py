"""A report's bytes read in a forked process (``streamed.read``) while the saving process derives
and writes its rows: a first save of its targets, whose body the store has not seen (docs/fleet.md,
"A scan's save reads its report in pieces")."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import traceback
from concurrent.futures import Future, ThreadPoolExecutor

from scanner.processes import die_with
from scanner.store.interface import StoreError
from scanner.store.streamed import SMALL_REPORT_ASSETS, Read, ReportSource, read

# the most assets a report may have to be read aside while its rows are derived: the reading process
# copies ~1.5 kB of the scan's memory per asset (it touches the inventory it shares with the scan)
READ_ASIDE_ASSETS = SMALL_REPORT_ASSETS


def _done(value: bytes) -> Future[bytes]:
    done = Future[bytes]()
    done.set_result(value)
    return done


class ReadAside:
    """:func:`read` in a forked process, while this one derives and writes the rows (a first save:
    the rows do not wait for the bytes). Every new chunk is compressed there: the store is not asked
    which it holds (a concurrent writer's are skipped when written). Interrupted or failed here,
    :meth:`stop` ends it; it never outlives this process."""

    def __init__(self, source: ReportSource) -> None:
        parent = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        readable, writable = os.pipe()
        self._pid = os.fork()
        if self._pid:
            os.close(writable)
            self._readable = readable
            self._read: Read | None = None
            self._answered = False
            return
        os.close(readable)
        code = 0
        try:
            die_with(parent)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keysweep-store") as aside:
                read_ = read(source, lambda digests: set(), aside)
            answer: tuple[object, ...] = ("done", None)
            if read_ is not None:  # sent without its futures: the chunks compressed, as bytes
                chunks = tuple((digest, None if part is None else part.result()) for digest, part in read_.chunks)
                fields = (read_.content_digest, read_.body_digest, read_.head, read_.head_values, read_.text)
                answer = ("done", (*fields, chunks))
        except KeyboardInterrupt:
            answer, code = ("interrupted",), 130
        except BaseException as exc:  # told to the saving process, which fails as it would itself
            answer, code = ("raised", f"{type(exc).__name__}: {exc}", traceback.format_exc()), 3
        try:
            data = pickle.dumps(answer)
            while data:
                data = data[os.write(writable, data) :]
        finally:
            os._exit(code)

    def result(self) -> Read | None:
        """What :func:`read` gave there (waits for it); what it raised is raised here."""
        if self._answered:
            return self._read
        pieces = []
        while piece := os.read(self._readable, 1 << 20):
            pieces.append(piece)
        os.close(self._readable)
        _, status = os.waitpid(self._pid, 0)
        self._answered = True
        try:
            answer = pickle.loads(b"".join(pieces))
        except Exception:
            answer = None
        if not isinstance(answer, tuple) or not answer:
            raise StoreError(f"reading the report aside ended without an answer (status {status})")
        if answer[0] == "interrupted":
            raise KeyboardInterrupt
        if answer[0] == "raised":
            raise RuntimeError(f"reading the report aside: {answer[1]}\n{answer[2]}")
        if answer[1] is not None:
            content_digest, body_digest, head, head_values, whole_text, sent = answer[1]
            chunks = tuple((digest, None if part is None else _done(part)) for digest, part in sent)
            self._read = Read(content_digest, body_digest, head, head_values, chunks, whole_text)
        return self._read

    def stop(self) -> None:
        """End the reading (this save failed or was interrupted) and wait for it."""
        if self._answered:
            return
        self._answered = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.close(self._readable)
        os.waitpid(self._pid, 0)

"""The JSON report written from the pieces a store's save reads: one rendering of the report, not two.

A first scan saved to the history store has its report read in pieces (``json_report.ReportPieces``),
most often in a process the save forks for it (``scanner.store.read_aside``). Rendering the report
again for the JSON file, in a job of its own, cost as much again: the rendering, and the pages of the
scan's inventory that the forked job touched and so copied (~1 s of CPU and ~0.6 s of wall time of a
20,000-file first scan on 2 cores, measured). So the process that reads the pieces writes them to the
JSON file as they pass (:meth:`ReportTee.through`), in a thread of its own, to a temporary file
renamed over the report when complete, as ``output.write_output_chunks`` writes every report.

Only a report that replaces a regular file (``output.replaced_whole``) is written this way: a FIFO or
a device must not hold up the store's save while its reader is slow. The store decides alone
whether and where it reads the pieces (it knows nothing of this): when it did not read them all
(a store saving the report whole, a save that failed or fell back), :meth:`ReportTee.finish`, in the
saving job after the save, writes the report as its own job would have, and removes the temporary
file of a reading process killed half-way. What happened is kept in memory shared with the processes
forked after the tee was made (the saving job, its reading process), and read by the scan
(:meth:`ReportTee.outcome`) as a report job's message.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import queue
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Final

from scanner.reporting.output import OutputError, write_output_chunks

# what the shared memory says: nobody is writing the report; a process is (its temporary file follows);
# it is written; it could not be (the message follows)
_IDLE, _WRITING, _WRITTEN, _FAILED = 0, 1, 2, 3
_HEADER: Final = struct.Struct("=BI")  # the state, the length of the text after it
_SIZE: Final = 1 << 16
# pieces waiting for the writing thread (~0.5 MB each): a slow disk holds up the reading, not memory
_QUEUED: Final = 32
_END, _ABORT = object(), object()


class _Aborted(Exception):
    """The pieces stopped before the end: the report is not written from them."""


class ReportTee:
    """The JSON report at ``path``, written by the first process that reads the report's pieces;
    ``write`` writes it otherwise (what its own job would have done: None, or why it could not)."""

    def __init__(self, path: str, write: Callable[[], str | None], message: Callable[[str], str]) -> None:
        self.path = path
        self._write = write
        self._message = message  # an OutputError's text as the scan reports it
        # anonymous and shared: what a forked process writes here, this one reads
        self._shared = mmap.mmap(-1, _SIZE, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)

    # -- the state, in the shared memory ------------------------------------------------------------
    def _set(self, state: int, text: str = "") -> None:
        data = text.encode("utf-8", "surrogateescape")[: _SIZE - _HEADER.size]
        self._shared[_HEADER.size : _HEADER.size + len(data)] = data
        self._shared[: _HEADER.size] = _HEADER.pack(state, len(data))

    def _get(self) -> tuple[int, str]:
        state, length = _HEADER.unpack(self._shared[: _HEADER.size])
        return state, self._shared[_HEADER.size : _HEADER.size + length].decode("utf-8", "surrogateescape")

    # -- the reading process ------------------------------------------------------------------------
    def through(self, pieces: Iterator[tuple[bytes, object, bool]]) -> Iterator[tuple[bytes, object, bool]]:
        """``pieces`` as they come, their bytes written to the report meanwhile (by the first reader
        only: a save reads them once, in one process)."""
        if self._get()[0] != _IDLE:
            yield from pieces
            return
        self._set(_WRITING)
        waiting: queue.Queue[object] = queue.Queue(_QUEUED)
        writer = threading.Thread(target=self._writing, args=(waiting,), name="keysweep-json-tee", daemon=True)
        writer.start()
        ended = False
        try:
            for piece in pieces:
                waiting.put(piece[0])
                yield piece
            ended = True
        finally:
            waiting.put(_END if ended else _ABORT)
            writer.join()

    def _writing(self, waiting: queue.Queue[object]) -> None:
        def content() -> Iterator[bytes]:
            while (item := waiting.get()) is not _END:
                if item is _ABORT:
                    raise _Aborted
                yield item  # type: ignore[misc]  # bytes: all the reader puts besides the marks

        try:
            write_output_chunks(self.path, content(), temporary=lambda path: self._set(_WRITING, path))
        except _Aborted:  # the temporary file is gone: the saving job writes the report
            self._set(_IDLE)
        except Exception as exc:
            # the store still reads the pieces: they are taken and dropped. A report that cannot be
            # written is said so; anything else is this thread's fault: the saving job writes it
            if isinstance(exc, OutputError):
                self._set(_FAILED, self._message(str(exc)))
            else:
                self._set(_IDLE)
            while waiting.get() not in (_END, _ABORT):
                pass
        else:
            self._set(_WRITTEN)

    # -- the saving job, then the scan ------------------------------------------------------------
    def finish(self) -> None:
        """After the store's save (whatever its outcome): the report written, if the reading did not."""
        if self._get()[0] in (_WRITTEN, _FAILED):
            return
        self.abandon()  # a reading process killed half-way (the save failed) left its temporary file
        failure = self._write()
        if failure is None:
            self._set(_WRITTEN)
        else:
            self._set(_FAILED, failure)

    def abandon(self) -> None:
        """The temporary file of a reading process killed half-way removed (the save interrupted or failed)."""
        state, text = self._get()
        if state == _WRITING and text:
            with contextlib.suppress(OSError):
                os.unlink(text)

    def outcome(self) -> str | None:
        """None when the report was written, else why not (as a report job says it)."""
        state, text = self._get()
        if state == _WRITTEN:
            return None
        if state == _FAILED:
            return text
        return self._message("not written (the job saving the scan ended without writing it)")

"""Scan progress on the terminal (stderr).

- A live one-line bar when stderr is a TTY: items done (of how many, where known), rate, current
  file or endpoint. Redrawn at most ten times a second; erased when the scan ends.
- ``-v``: a line per collector target with its counts; ``-vv``: a line per file and endpoint.
- Nothing at all otherwise, so that cron mail and CI logs stay clean.
Every path and target shown is escaped: they come from the scanned filesystem and network.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import TextIO

from scanner.plurals import plural
from scanner.printable import printable

_REDRAW_SECONDS = 0.1
_BAR_WIDTH = 20


class TerminalProgress:
    def __init__(self, stream: TextIO, *, live: bool, verbosity: int) -> None:
        self._stream = stream
        self._live = live
        self._verbosity = verbosity
        self._lock = threading.Lock()  # collectors may report from worker threads
        self._started = time.monotonic()
        self._done = 0
        self._total = 0
        self._unit = "targets"
        self._current = ""
        self._phase = ""  # the collector at work: each starts its own count
        self._per_target = 0
        self._last_draw = 0.0
        self._drawn = False

    # -- ProgressObserver
    def target_started(self, collector: str, target: str) -> None:
        with self._lock:
            if collector != self._phase:
                self._phase, self._unit, self._done, self._total = collector, "targets", 0, 0
                self._started = time.monotonic()
            self._per_target = 0
            self._current = f"{collector}: {target}"
            if self._verbosity >= 2:
                self._line(f"scanning {collector}: {printable(target)}")
            self._draw()

    def target_finished(self, collector: str, target: str, ok: bool) -> None:
        with self._lock:
            if self._unit == "targets":
                self._done += 1
            if self._verbosity >= 1:
                counted = f" ({plural(self._per_target, 'file')})" if self._per_target else ""
                self._line(f"{'done' if ok else 'FAILED'} {collector}: {printable(target)}{counted}")
            self._draw()

    # -- ItemProgress
    def items_found(self, collector: str, count: int) -> None:
        with self._lock:
            if self._unit != "files":
                self._unit, self._done, self._total = "files", 0, 0
                self._started = time.monotonic()
            self._total += count
            # the next update draws at once, not up to a tenth of a second later: a sweep of a few
            # thousand small files ends sooner than that, and would show no bar at all
            self._last_draw = 0.0
            if self._verbosity >= 1:
                self._line(f"{collector}: {plural(count, 'file')} to read")

    def item_done(self, collector: str, item: str) -> None:
        with self._lock:
            self._done += 1
            self._per_target += 1
            self._current = item
            if self._verbosity >= 2:
                self._line(f"read {printable(item)}")
            self._draw()

    def close(self) -> None:
        with self._lock:
            self._erase()

    # -- drawing
    def _line(self, text: str) -> None:
        self._erase()
        self._stream.write(f"keysweep: {text}\n")
        self._stream.flush()

    def _draw(self) -> None:
        if not self._live:
            return
        now = time.monotonic()
        if now - self._last_draw < _REDRAW_SECONDS:
            return
        self._last_draw = now
        rate = self._done / max(now - self._started, 1e-6)
        if self._total:
            filled = min(_BAR_WIDTH, _BAR_WIDTH * self._done // self._total)
            bar = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {self._done:,}/{self._total:,} {self._unit}"
        else:
            bar = f"{self._done:,} {self._unit} done"
        text = f"{bar}  {rate:,.0f}/s  {printable(self._current)}"
        width = shutil.get_terminal_size((100, 24)).columns - 1
        if len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        self._stream.write("\r\x1b[K" + text)
        self._stream.flush()
        self._drawn = True

    def _erase(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False

"""Helpers for the streamed reports' tests: a report written to a file and stdout, through a FIFO (as a
shell's ``>(...)`` or a log shipper's pipe takes it), over an old report by a write that fails, and the
json module's indented text they must equal."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory.model import ScanResult
from scanner.reporting.base import Reporter, write_report
from scanner.reporting.output import OutputError


def to_file_and_stdout(
    reporter: Reporter, result: ScanResult, path: Path, capfd: pytest.CaptureFixture[bytes]
) -> tuple[bytes, bytes]:
    """What write_report put in a file at ``path``, and on stdout (``-``, read from ``capfd``)."""
    write_report(reporter, result, str(path))
    write_report(reporter, result, "-")
    return path.read_bytes(), capfd.readouterr().out


def over_a_failed_write(reporter: Reporter, result: ScanResult, path: Path, error: str) -> tuple[bytes, list[str]]:
    """The file at ``path`` (b"the previous report" before) and the names in its folder after
    write_report failed with the RuntimeError ``error`` (the caller makes it fail mid-stream)."""
    path.write_bytes(b"the previous report")
    with pytest.raises(RuntimeError, match=error):
        write_report(reporter, result, str(path))
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


def through_fifo(reporter: Reporter, result: ScanResult, fifo: Path) -> list[bytes]:
    """What a reader of a new FIFO at ``fifo`` received of the report: one read to its end."""
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    try:
        for _ in range(200):  # the reader has the pipe open when write_report opens it
            try:
                write_report(reporter, result, str(fifo))
                break
            except OutputError:
                threading.Event().wait(0.02)
    finally:
        reader.join(timeout=30)
    return received


def json_module_indent1(document: Any) -> bytes:
    """``json.dumps(indent=1)`` as keysweep's indented reports write it (surrogates as \\udcXX escapes)."""
    return json.dumps(document, indent=1, ensure_ascii=False, default=str).encode("utf-8", "backslashreplace")

"""Helpers for the streamed reports' tests: a report written through a FIFO (as a shell's ``>(...)``
or a log shipper's pipe takes it), and the json module's indented text they must equal."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from scanner.inventory.model import ScanResult
from scanner.reporting.base import Reporter, write_report
from scanner.reporting.output import OutputError


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

"""scanner.printable: what a terminal or log line gets of untrusted text."""

from __future__ import annotations

import os

import pytest

from scanner.printable import printable


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain /etc/ssl/certs/ca.pem", "plain /etc/ssl/certs/ca.pem"),
        ("CN=Bücher GmbH, O=日本", "CN=Bücher GmbH, O=日本"),  # printable non-ASCII stays as it is
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # ESC (CSI clear screen)
        ("bell\x07", "bell\\x07"),
        ("c1\x9b31m", "c1\\x9b31m"),  # C1 CSI
        ("line\nkeysweep: forged", "line\\x0akeysweep: forged"),  # no forged line
        ("tab\there\r", "tab\\x09here\\x0d"),
        ("del\x7f", "del\\x7f"),
        ("bidi \u202eexe.pem", "bidi \\u202eexe.pem"),  # right-to-left override
        ("sep\u2028x", "sep\\u2028x"),
    ],
)
def test_escapes_controls_and_keeps_text(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_undecodable_file_name_bytes_show_as_the_bytes() -> None:
    name = os.fsdecode(b"key-\xff\xfe.pem")  # surrogateescape, as os.listdir gives it
    assert printable(name) == "key-\\xff\\xfe.pem"
    printable(name).encode("utf-8")  # always encodable for a terminal


def test_non_strings_are_converted() -> None:
    assert printable(ValueError("bad\x1b")) == "bad\\x1b"

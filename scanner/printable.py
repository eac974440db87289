"""Untrusted text made safe for a terminal or a log line.

Certificate subjects, file names, config values and peer errors are chosen by whoever controls
the scanned files or hosts. Written raw, an ESC or C1 CSI sequence reprograms the terminal, a BEL
rings, a bidi override reorders the line and an embedded newline forges a line that looks like
keysweep's own. :func:`printable` escapes each such character as ``\\xNN`` or ``\\uNNNN``; a byte
of a non-UTF-8 file name (kept by Python as a lone surrogate, PEP 383) is shown as the ``\\xNN``
of that byte.
"""

from __future__ import annotations

import re

# C0 controls (newline and tab too: one field, one line), DEL, C1 controls, line/paragraph
# separators, bidi marks and overrides, and lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` as one line with every control, bidi and undecodable character escaped."""
    return _UNSAFE.sub(_escape, text if isinstance(text, str) else str(text))

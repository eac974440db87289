"""Issue 12: the PEM body and label readers, shaped for speed, give what the plain versions gave."""

from __future__ import annotations

import base64

from scanner.collectors.files import crypto_material, pem


def _body_as_before(block: bytes) -> bytes:
    lines = block.splitlines()[1:-1]
    return base64.b64decode(b"".join(line.strip() for line in lines if b":" not in line))


def _label_as_before(data: bytes, offset: int) -> tuple[str, int] | None:
    close = data.find(b"-----", offset, offset + pem.MAX_LABEL + 5)
    if close <= offset:
        return None
    raw = data[offset:close]
    if not all(byte in pem._LABEL_BYTES for byte in raw) or raw != raw.strip():
        return None
    return raw.decode("ascii"), close + 5


def test_pem_bodies_decode_as_before_whatever_the_whitespace() -> None:
    der = bytes(range(256)) * 3
    text = base64.encodebytes(der)
    blocks = [
        b"-----BEGIN X-----\n" + text + b"-----END X-----",
        b"-----BEGIN X-----\r\n" + text.replace(b"\n", b"\r\n") + b"-----END X-----",
        b"-----BEGIN X-----\r" + text.replace(b"\n", b"\r") + b"-----END X-----",
        b"-----BEGIN X-----\n" + text.replace(b"\n", b" \t\n  ") + b"-----END X-----",
        b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n\n" + text + b"-----END X-----",
        b"-----BEGIN X-----\n" + text[:40] + b"==\n" + text[40:] + b"-----END X-----",  # padding midway
        b"-----BEGIN X-----\n" + text.replace(b"\n", b"\x0b\n") + b"-----END X-----",
        b"-----BEGIN X----- one line -----END X-----",
        b"-----BEGIN X-----\n-----END X-----",
        b"",
    ]
    for block in blocks:
        assert crypto_material._pem_body(block) == _body_as_before(block), block[:40]


def test_labels_are_judged_as_before_for_every_byte() -> None:
    for byte in range(256):
        for label in (bytes([byte]), b"A" + bytes([byte]) + b"B", b"CERTIFICATE" + bytes([byte])):
            data = b"-----BEGIN " + label + b"-----\n"
            assert pem._label_at(data, 11) == _label_as_before(data, 11), label

"""Issue 12: the PEM splitter's path for the common file (blocks and whitespace, every "-----" a
marker of its blocks) and the first-marker shortcut give what the general splitter gives, on odd
input made here and on this machine's own certificate files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from scanner.collectors.files import pem
from tests.support import pki

_BODY = base64.encodebytes(bytes(range(256)) * 3)


def _block(label: bytes, body: bytes = _BODY, newline: bytes = b"\n") -> bytes:
    return b"-----BEGIN " + label + b"-----" + newline + body.replace(b"\n", newline) + b"-----END " + label + b"-----"


def _general(data: bytes, monkeypatch: pytest.MonkeyPatch) -> pem.PemSplit:
    with monkeypatch.context() as patch:
        patch.setattr(pem, "_plain_blocks", lambda _: None)
        return pem.split(data)


def _first_as_before(data: bytes) -> int | None:
    markers = pem._markers(data, pem._BEGIN)
    return next((offset for offset, _, _ in markers if pem._at_line_start(data, offset)), None)


CERT = _block(b"CERTIFICATE")
KEY = _block(b"PRIVATE KEY")
ODD: dict[str, bytes] = {
    "one block": CERT,
    "one block, newline after": CERT + b"\n",
    "chain": CERT + b"\n" + CERT + b"\n",
    "key and certificate": KEY + b"\n" + CERT,
    "CRLF": _block(b"CERTIFICATE", newline=b"\r\n") + b"\r\n" + _block(b"CERTIFICATE", newline=b"\r\n"),
    "leading text": b"subject=CN = x\n" + CERT,
    "leading whitespace": b"\n  " + CERT,
    "text between blocks": CERT + b"\nissuer=CN = y\n" + CERT,
    "text after": CERT + b"\n# the end\n",
    "blocks on one line": CERT + CERT,
    "several labels": _block(b"X509 CRL") + b"\n" + _block(b"TRUSTED CERTIFICATE") + b"\n" + _block(b"EC PARAMETERS"),
    "truncated last block": CERT + b"\n" + CERT[:-40],
    "truncated first block": CERT[:300] + b"\n" + CERT,
    "BEGIN without END": b"-----BEGIN CERTIFICATE-----\n" + _BODY,
    "END label differs": b"-----BEGIN CERTIFICATE-----\n" + _BODY + b"-----END X509 CRL-----",
    "END with four dashes": b"-----BEGIN CERTIFICATE-----\n" + _BODY + b"-----END CERTIFICATE----\n",
    "END with six dashes": CERT + b"-\n" + CERT,
    "END then BEGIN in one run of dashes": CERT + b"-BEGIN CERTIFICATE-----\n" + _BODY + b"-----END CERTIFICATE-----",
    "mid-line marker": b'KEY="' + KEY + b'"\n',
    "quoted marker after a block": CERT + b'\nprint("-----BEGIN CERTIFICATE-----")\n',
    "BEGIN inside a body": b"-----BEGIN CERTIFICATE-----\n"
    + _BODY[:100]
    + b"\n-----BEGIN CERTIFICATE-----\n"
    + _BODY
    + b"-----END CERTIFICATE-----",
    "dashes inside a body": _block(b"CERTIFICATE", _BODY[:64] + b"-----\n" + _BODY[64:]),
    "a dash just before END": b"-----BEGIN CERTIFICATE-----\n" + _BODY + b"------END CERTIFICATE-----\n" + CERT,
    "bad base64": _block(b"CERTIFICATE", _BODY.replace(b"A", b"*")),
    "empty body": b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
    "markers on one line": b"-----BEGIN CERTIFICATE----- abc -----END CERTIFICATE-----",
    "bad label": _block(b"certificate-x"),
    "label with an edge space": _block(b"CERTIFICATE "),
    "label almost CERTIFICATE": _block(b"CERTIFICATES") + b"\n" + _block(b"CERTIFICATE\x00"),
    "END before BEGIN": b"-----END CERTIFICATE-----\n" + CERT,
    "lone dashes": CERT + b"\n-----\n",
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_the_common_file_path_agrees_with_the_general_splitter(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ODD[name]
    assert pem.split(data) == _general(data, monkeypatch)
    assert pem.first_marker(data) == _first_as_before(data)


def test_the_path_is_taken_for_the_common_file_and_only_for_it() -> None:
    first, second = (
        pem.PemBlock("CERTIFICATE", 0, len(CERT)),
        pem.PemBlock("CERTIFICATE", len(CERT) + 1, 2 * len(CERT) + 1),
    )
    assert pem._plain_blocks(ODD["chain"]) == (first, second)
    for name in ("leading text", "truncated last block", "BEGIN inside a body", "dashes inside a body", "lone dashes"):
        assert pem._plain_blocks(ODD[name]) is None, name


def test_real_certificate_files_split_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every certificate ca-certificates installs, one by one and as the whole bundle, plus a made chain."""
    roots = sorted(Path("/usr/share/ca-certificates").rglob("*.crt"))
    assert len(roots) > 100  # Debian's ca-certificates: never skipped
    made = pki.pem(pki.certificate(pki.ec_key(), "plain.test")) + pki.key_pem(pki.ec_key())
    files = [path.read_bytes() for path in roots]
    assert all(pem._plain_blocks(data) is not None for data in files)  # the path under test is taken
    for data in [*files, b"".join(files), made]:
        split = pem.split(data)
        assert split == _general(data, monkeypatch)
        assert split.blocks and not split.truncated
        assert pem.first_marker(data) == _first_as_before(data)

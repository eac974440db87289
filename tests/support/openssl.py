"""Files written by the openssl command line, for formats and algorithms cryptography will not write."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def openssl(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, cwd=cwd, timeout=120)


def self_signed(
    directory: Path, name: str, *, key: str = "rsa:2048", digest: str = "sha256", days: int = 90
) -> tuple[Path, Path]:
    """(certificate, plaintext private key) made by `openssl req -x509`."""
    cert, private = directory / f"{name}.pem", directory / f"{name}.key"
    openssl(
        "req",
        "-x509",
        f"-{digest}",
        "-newkey",
        key,
        "-nodes",
        "-keyout",
        private,
        "-out",
        cert,
        "-days",
        str(days),
        "-subj",
        f"/CN={name}.example",
    )
    return cert, private


def issued(
    directory: Path, name: str, ca_cert: Path, ca_key: Path, *, digest: str = "sha256", days: int = 90
) -> tuple[Path, Path]:
    """(certificate, plaintext private key) for a new RSA key, signed by a CA with `openssl x509 -req`."""
    cert, private, csr = directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}.csr"
    openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", private, "-out", csr, "-subj", f"/CN={name}.example"
    )
    openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca_cert,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        cert,
        f"-{digest}",
        "-days",
        str(days),
    )
    csr.unlink()
    return cert, private


# -- OpenSSL as the oracle of what a file holds (issue 18 item 10) --------------------------------
_STORE_ITEM = re.compile(r"^\d+: (Certificate|Pkey|Public key)$", re.MULTILINE)


# OpenSSL's own PEM reader is slow on megabytes of repeated markers: those are not asked
ORACLE_MAX_BYTES = 256 * 1024


def openssl_reads_key_or_certificate(path: Path) -> bool:
    """OpenSSL's own loaders (storeutl tries every decoder) find a certificate or key in the file.

    Only files that are PEM or DER from their start are asked: storeutl also digs DER out of the
    middle of a text file after some binary splices (seed 202, mutant 219: openssl.cnf with a
    certificate's tail spliced in), which no format keysweep or a user means by "this file" is.
    """
    data = path.read_bytes()[: ORACLE_MAX_BYTES + 1]
    if len(data) > ORACLE_MAX_BYTES or not (data[:1] == b"\x30" or b"-----BEGIN " in data):
        return False
    try:
        result = subprocess.run(
            ["openssl", "storeutl", "-noout", "-passin", "pass:", str(path)],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return False
    return bool(_STORE_ITEM.search(result.stdout))

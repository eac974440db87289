"""Files written by the openssl command line, for formats and algorithms cryptography will not write."""

from __future__ import annotations

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

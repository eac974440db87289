"""The Debian 12 default-config corpus, laid out in a temporary folder as it is under /etc.

``corpus/debian12/stock`` is a copy of the installed packages' trees; ``hardened`` holds only the
files the hardening changes (see corpus/debian12/README.md). Absolute paths the packages write
(``/etc/nginx/``, ``/etc/ssh/``, ``/etc/ssl/``, ``/usr/share/nginx/``) are moved under the folder:
that relocation is the only change made to the stock text. The snakeoil certificate and key that
Debian's ssl-cert package would generate are generated here, never committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support import pki

CORPUS = Path(__file__).resolve().parent / "corpus" / "debian12"
_MOVED = ("/etc/nginx/", "/etc/ssh/", "/etc/ssl/", "/usr/share/nginx/")


def materialise(variant: str, out: Path) -> Path:
    """The tree for ``variant`` ("stock" or "hardened") under ``out``; returns ``out``."""
    shutil.copytree(CORPUS / "stock", out, symlinks=True, dirs_exist_ok=True)
    if variant == "hardened":
        shutil.copytree(CORPUS / "hardened", out, symlinks=True, dirs_exist_ok=True)
    for path in out.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        text = path.read_bytes().decode("latin-1")
        moved = text
        for prefix in _MOVED:
            moved = moved.replace(prefix, f"{out}{prefix}")
        if moved != text:
            path.write_bytes(moved.encode("latin-1"))
    key = pki.rsa_key(2048)
    cert = pki.certificate(key, "debian-snakeoil.example", days=3650)
    pki.write(out / "etc/ssl/certs/ssl-cert-snakeoil.pem", pki.pem(cert), mode=0o644)
    pki.write(out / "etc/ssl/private/ssl-cert-snakeoil.key", pki.key_pem(key), mode=0o640)
    return out

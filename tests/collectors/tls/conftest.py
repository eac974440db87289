"""The four test servers on 127.0.0.1, started once per test session (per xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tls_servers as ts


@dataclass(frozen=True)
class Lab:
    legacy: ts.Server  # openssl s_server: TLS 1.0 only, every cipher, 1024-bit DH, HTTP without HSTS
    modern: ts.Server  # nginx: TLS 1.2 + 1.3, ECDHE AES-GCM/ChaCha20, HSTS; OpenSSL 3.0, so no ML-KEM
    pq: ts.Server  # pyOpenSSL on OpenSSL 3.5: X25519MLKEM768; certificate for pq.example only
    silent: ts.Server  # accepts and never answers
    modern_cert: Path
    directory: Path


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("tls-lab")
    legacy_cert, legacy_key = ts.server_certificate(directory, "legacy", key=ts.rsa_key())
    modern_cert, modern_key = ts.server_certificate(directory, "modern")
    pq_cert, pq_key = ts.server_certificate(directory, "pq", common_name="pq.example", dns=("pq.example",), ips=())
    started: list[ts.Server] = []
    try:
        started.append(ts.start_legacy_server(directory, legacy_cert, legacy_key))
        started += ts.start_nginx(directory / "nginx", modern_cert, modern_key)
        started.append(ts.start_pq_server(pq_cert, pq_key, hsts=True))
        started.append(ts.start_silent_socket())
        yield Lab(*started, modern_cert=modern_cert, directory=directory)  # type: ignore[misc]
    finally:
        for server in started:
            server.stop()

"""Regenerates corpus/: the JSON that sslyze, testssl.sh and ssh-audit really wrote about servers
started here. Run from the repository root: ``.venv/bin/python -m tests.collectors.imports.make_corpus``.

Servers: nginx (TLS 1.2/1.3, ECDHE only, RSA 2048 certificate), openssl s_server (TLS 1.0 only,
every cipher, 1024-bit DH) and sshd (sshd_config written beside the JSON). The ports are whatever
was free; the importer tests read the host and port from each file.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.support import peer_tools, tls_servers

CORPUS = Path(__file__).resolve().parent / "corpus"


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="keysweep-corpus-"))
    try:
        cert, key = tls_servers.server_certificate(work, "server", key=tls_servers.rsa_key(2048))
        servers = {
            "nginx": tls_servers.start_nginx(work / "nginx", cert, key)[0],
            "legacy": tls_servers.start_legacy_server(work, cert, key),
        }
        try:
            for name, server in servers.items():
                started = time.monotonic()
                peer_tools.sslyze_json(server.target, CORPUS / f"sslyze-{name}.json")
                print(f"sslyze {name}: {time.monotonic() - started:.0f}s", file=sys.stderr)
                started = time.monotonic()
                peer_tools.testssl_json(server.target, CORPUS / f"testssl-{name}.json")
                print(f"testssl {name}: {time.monotonic() - started:.0f}s", file=sys.stderr)
            # the other JSON layout testssl.sh writes, of the same server
            peer_tools.testssl_json(servers["nginx"].target, CORPUS / "testssl-pretty-nginx.json", pretty=True)
        finally:
            for server in servers.values():
                server.stop()
        sshd, config = peer_tools.start_sshd(work / "sshd")
        try:
            peer_tools.ssh_audit_json(sshd.port, CORPUS / "ssh-audit-sshd.json")
            shutil.copy(config, CORPUS / "ssh-audit-sshd.sshd_config")
        finally:
            sshd.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

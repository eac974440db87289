"""The hand-written first flight: reachability check and post-quantum probe against real servers."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.collectors.tls import hello, pq_probe
from scanner.collectors.tls.collector import check_reachable
from scanner.collectors.tls.models import Endpoint
from scanner.inventory import knowledge
from tests.collectors.tls.conftest import Lab
from tests.support import tls_servers as ts


def address(server: ts.Server) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


def accepted(answers: list[pq_probe.GroupAnswer]) -> set[str]:
    return {a.group for a in answers if a.accepted}


def test_probe_finds_the_default_hybrid_group(lab: Lab) -> None:
    answers = pq_probe.probe(address(lab.pq), "127.0.0.1", 5)
    assert accepted(answers) == {"X25519MLKEM768"}
    refused = {a.group: a.detail for a in answers if not a.accepted}
    assert set(refused.values()) == {"alert handshake_failure"}


def test_probe_finds_exactly_the_configured_groups(tmp_path: Path) -> None:
    """OpenSSL 3.5 told (by its config file) to offer SecP384r1MLKEM1024 and pure MLKEM1024 only."""
    conf = tmp_path / "openssl.cnf"
    conf.write_text(
        "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = defaults\n"
        "[defaults]\nGroups = SecP384r1MLKEM1024:MLKEM1024:X25519\n"
    )
    cert, key = ts.server_certificate(tmp_path, "pq")
    server = ts.start_pq_server(cert, key, openssl_conf=conf)
    try:
        answers = pq_probe.probe(address(server), None, 5)
    finally:
        server.stop()
    # a ServerHello selecting the group means the server encapsulated to our ML-KEM key: it was valid
    assert {a.group: a.detail for a in answers if a.accepted} == {
        "SecP384r1MLKEM1024": "ServerHello",
        "MLKEM1024": "ServerHello",
    }


def test_probe_on_a_server_without_pq(lab: Lab) -> None:
    assert accepted(pq_probe.probe(address(lab.modern), None, 5)) == set()


def test_key_shares_have_the_registered_lengths() -> None:
    for group in pq_probe.probed_groups():
        assert len(pq_probe.key_share(group.name)) == group.share_length
    # every ML-KEM coefficient is below q, as FIPS 203's encapsulation-key check demands
    ek = pq_probe.mlkem_encapsulation_key(3)[:-32]
    for i in range(0, len(ek), 3):
        a, b = ek[i] | ((ek[i + 1] & 0x0F) << 8), (ek[i + 1] >> 4) | (ek[i + 2] << 4)
        assert a < 3329 and b < 3329


def test_reachability_reports_the_version_chosen(lab: Lab) -> None:
    assert check_reachable(Endpoint("127.0.0.1", lab.legacy.port), 5).version == "TLSv1.0"
    assert check_reachable(Endpoint("127.0.0.1", lab.modern.port), 5).version == "TLSv1.3"


def test_silent_server_times_out_within_the_timeout(lab: Lab) -> None:
    start = time.monotonic()
    reach = check_reachable(Endpoint("127.0.0.1", lab.silent.port), 0.5)
    assert time.monotonic() - start < 1.5
    assert reach.error == "no TLS answer before the timeout (timeout 0.5s)"


@pytest.fixture
def odd_server() -> Iterator[tuple[int, list[str]]]:
    """Answers the first connection with plain HTTP, resets the second."""
    listener = socket.create_server(("127.0.0.1", 0))
    behaviours = ["http", "reset"]

    def run() -> None:
        for behaviour in list(behaviours):
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(4096)
            if behaviour == "http":
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            else:
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()

    threading.Thread(target=run, daemon=True).start()
    yield int(listener.getsockname()[1]), behaviours
    listener.close()


def test_other_protocol_and_reset_are_errors(odd_server: tuple[int, list[str]]) -> None:
    port, _ = odd_server
    http = check_reachable(Endpoint("127.0.0.1", port), 5)
    assert http.error is not None and http.error.startswith("the server does not speak TLS (it answered 'HTTP/")
    reset = check_reachable(Endpoint("127.0.0.1", port), 5)
    assert reset.error is not None and ("reset" in reset.error or "closed" in reset.error)


def test_hello_retry_request_is_read_as_selecting_the_group() -> None:
    extensions = struct.pack("!HHH", 0x002B, 2, 0x0304) + struct.pack("!HHH", 0x0033, 2, 0x11EC)
    body = struct.pack("!H", 0x0303) + hello.HRR_RANDOM + b"\x00" + struct.pack("!HB", 0x1301, 0)
    body += struct.pack("!H", len(extensions)) + extensions
    reply = hello.parse_server_hello(body)
    assert (reply.kind, reply.version_name, reply.group) == ("hello_retry_request", "TLSv1.3", 0x11EC)
    assert knowledge.tls_group_by_code(reply.group or 0) == knowledge.tls_group("X25519MLKEM768")


def test_collector_module_does_not_load_sslyze(tmp_path: Path) -> None:
    cert, _ = ts.server_certificate(tmp_path, "file-only")
    code = (
        "import sys\n"
        "from scanner.collectors.base import Target\n"
        "from scanner.scan import ScanRequest, run_scan\n"
        "import scanner.collectors.tls.collector\n"
        f"run_scan(ScanRequest(targets=(Target('path', {str(cert)!r}),), packs=()))\n"
        "assert 'sslyze' not in sys.modules and 'nassl' not in sys.modules, 'sslyze was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ts.ROOT)


def test_a_tls_scan_loads_sslyze_only_in_its_workers(lab: Lab) -> None:
    """sslyze and nassl take a while to load: only the workers' fork server imports them."""
    code = (
        "import sys\n"
        "from scanner.collectors.base import Target\n"
        "from scanner.scan import ScanRequest, run_scan\n"
        f"result = run_scan(ScanRequest(targets=(Target('tls', {lab.modern.target!r}),), packs=(), timeout=5))\n"
        "assert result.errors == () and any(a.type.value == 'tls-endpoint' for a in result.assets), result.errors\n"
        "assert 'sslyze' not in sys.modules and 'nassl' not in sys.modules, 'sslyze was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ts.ROOT, timeout=120)


def test_endpoints_already_past_their_deadline_are_errors_without_a_worker() -> None:
    from scanner.collectors.tls import sslyze_pool

    past = time.monotonic() - 1
    outcomes = list(
        sslyze_pool.scan(
            [(Endpoint("127.0.0.1", 1), "127.0.0.1", past), (Endpoint("127.0.0.1", 2), "127.0.0.1", past)],
            timeout=1,
            concurrency=1,
            connections_per_server=1,
        )
    )
    assert [(e.port, o.fatal) for e, o in outcomes] == [
        (1, "no time left for the scan before the target deadline"),
        (2, "no time left for the scan before the target deadline"),
    ]

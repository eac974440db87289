"""keysweep's own ServerHello facts (features_probe): on the real test servers (their equality with
sslyze's commands is in test_enumeration.py), and on two fake peers for what no server here can be:
a Heartbleed-vulnerable OpenSSL 1.0.1 with compression and without EMS (Debian's OpenSSL has
neither heartbeats nor zlib), and its patched twin. The fakes speak raw TLS records in Python."""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

import pytest

from scanner.collectors.tls import features_probe, hello, sslyze_scan
from scanner.collectors.tls.collector import check_reachable
from scanner.collectors.tls.models import Endpoint
from tests.collectors.tls.conftest import Lab
from tests.support import tls_servers as ts

TIMEOUT = 3.0


def _address(server: ts.Server) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


def _probe(server: ts.Server, highest: int) -> features_probe.FeaturesResult:
    return features_probe.probe(_address(server), "localhost", highest, TIMEOUT, time.monotonic() + 30)


def test_tls13_server_facts(lab: Lab) -> None:
    result = _probe(lab.modern, 0x0304)
    assert result == features_probe.FeaturesResult(
        compression=False, extended_master_secret=True, fallback_scsv=True, heartbleed=False
    )


def test_tls10_only_server_facts(lab: Lab) -> None:
    # OpenSSL 3 gives EMS at TLS 1.0 too; the downgrade to SSL 3.0 is refused
    result = _probe(lab.legacy, 0x0301)
    assert result == features_probe.FeaturesResult(
        compression=False, extended_master_secret=True, fallback_scsv=True, heartbleed=False
    )


def test_robot_is_left_out_only_without_rsa_key_transport(lab: Lab) -> None:
    deadline = time.monotonic() + 30
    # nginx with an ECDSA certificate: no RSA key transport; the TLS 1.0 server has every suite
    assert features_probe.rsa_key_transport(_address(lab.modern), "localhost", 0x0304, TIMEOUT, deadline) is False
    assert features_probe.rsa_key_transport(_address(lab.legacy), "localhost", 0x0301, TIMEOUT, deadline) is True
    with pytest.raises(hello.ProbeError, match="before the timeout"):
        features_probe.rsa_key_transport(_address(lab.silent), "localhost", 0x0303, 0.3, deadline)
    full = sslyze_scan.commands_for("keysweep")
    lean = sslyze_scan.commands_for("keysweep", own_features=True, robot=False)
    assert full - lean == sslyze_scan.SERVER_HELLO_COMMANDS | {sslyze_scan.ScanCommand.ROBOT}
    assert sslyze_scan.commands_for("sslyze", own_features=True, robot=False) >= full  # the comparison path


def test_features_apply_from_tls10_to_tls13(lab: Lab) -> None:
    reach = check_reachable(Endpoint("127.0.0.1", lab.legacy.port), TIMEOUT)
    assert reach.version == "TLSv1.0"
    assert [features_probe.applies(v) for v in (None, 0x0300, 0x0301, 0x0303, 0x0304)] == [
        False,
        False,
        True,
        True,
        True,
    ]


def _server_hello(version: int, client_hello: bytes, *, compression: int, extensions: list[int]) -> bytes:
    """A ServerHello choosing the first suite offered, with empty-bodied ``extensions``
    (heartbeat: mode peer_allowed_to_send), then a Certificate-less ServerHelloDone."""
    # record header (5), handshake header (4), version (2), random (32), session id
    offset = 5 + 4 + 2 + 32
    offset += 1 + client_hello[offset]
    suite = struct.unpack("!H", client_hello[offset + 2 : offset + 4])[0]
    encoded = b"".join(
        struct.pack("!HH", kind, 1) + b"\x01" if kind == 0x000F else struct.pack("!HH", kind, 0) for kind in extensions
    )
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00" + struct.pack("!HB", suite, compression)
    body += struct.pack("!H", len(encoded)) + encoded
    handshake = b"\x02" + struct.pack("!I", len(body))[1:] + body + b"\x0e\x00\x00\x00"
    return b"\x16" + struct.pack("!H", version) + struct.pack("!H", len(handshake)) + handshake


def _fake_openssl_101(vulnerable: bool) -> ts.Server:
    """OpenSSL 1.0.1 as old servers ran it: DEFLATE compression, no EMS, heartbeats; the
    vulnerable one echoes a heartbeat request whose payload fills its record, the patched one
    drops it. It accepts any version it is offered (no TLS_FALLBACK_SCSV)."""

    def handle(connection: socket.socket) -> None:
        data = connection.recv(65536)
        if len(data) < 50 or data[0] != 0x16:
            return
        version = struct.unpack("!H", data[9:11])[0]
        offers_deflate = b"\x02\x01\x00" in data  # the compression methods list
        connection.sendall(
            _server_hello(version, data, compression=1 if offers_deflate else 0, extensions=[0xFF01, 0x000F])
        )
        hello_length = 5 + struct.unpack("!H", data[3:5])[0]
        rest = data[hello_length:]
        connection.settimeout(2)
        while len(rest) < 5 + 16384:
            chunk = connection.recv(65536)
            if not chunk:
                return
            rest += chunk
        if vulnerable and rest[0] == 0x18:
            payload = rest[5 + 3 : 5 + 3 + 16381]
            response = b"\x02" + struct.pack("!H", len(payload)) + payload
            connection.sendall(b"\x18" + rest[1:3] + struct.pack("!H", len(response)) + response)
        ts.hold(connection)

    return ts.listen("openssl-1.0.1", handle)


def test_heartbleed_compression_and_missing_ems_on_a_fake_openssl_101() -> None:
    vulnerable, patched = _fake_openssl_101(True), _fake_openssl_101(False)
    try:
        result = _probe(vulnerable, 0x0303)
        assert result == features_probe.FeaturesResult(
            compression=True, extended_master_secret=False, fallback_scsv=False, heartbleed=True
        )
        start = time.monotonic()
        result = _probe(patched, 0x0303)
        # the patched server stays silent after the ServerHelloDone: one timeout, no more
        assert time.monotonic() - start < 2 * TIMEOUT
        assert result.heartbleed is False and result.compression is True and result.errors == ()
    finally:
        vulnerable.stop()
        patched.stop()


def test_silent_server_costs_errors_within_the_deadline(lab: Lab) -> None:
    start = time.monotonic()
    result = features_probe.probe(_address(lab.silent), "localhost", 0x0303, 0.5, time.monotonic() + 3)
    assert time.monotonic() - start < 4
    assert result.compression is None and result.heartbleed is None
    assert any("timeout" in e for e in result.errors), result.errors


def test_hello_offers_what_the_probe_reads() -> None:
    message = hello.client_hello(
        None,
        versions=[0x0303],
        cipher_suites=[0xC02F],
        groups=[0x001D],
        compression_methods=b"\x01\x00",
        extra_extensions=hello.extension(0x000F, b"\x01"),
    )
    assert b"\x02\x01\x00" in message and b"\x00\x0f\x00\x01\x01" in message
    reply = hello.parse_server_hello(_server_hello(0x0303, message, compression=1, extensions=[0x0017])[9:-4])
    assert (reply.compression, reply.extensions, reply.cipher_suite) == (1, (0x0017,), 0xC02F)


def test_the_worker_leaves_out_what_keysweep_answers(lab: Lab) -> None:
    from scanner.collectors.tls import sslyze_pool

    modern = Endpoint("127.0.0.1", lab.modern.port)
    legacy = Endpoint("127.0.0.1", lab.legacy.port)
    jobs = [(e, "127.0.0.1", time.monotonic() + 60) for e in (modern, legacy)]
    lean = dict(
        sslyze_pool.scan(
            jobs,
            timeout=TIMEOUT,
            concurrency=2,
            connections_per_server=5,
            own_features={modern: 0x0304, legacy: 0x0301},
        )
    )
    full = dict(sslyze_pool.scan(jobs[:1], timeout=TIMEOUT, concurrency=1, connections_per_server=5))
    answered_here = {"compression", "extended_master_secret", "fallback_scsv", "heartbleed"}
    for outcome in (*lean.values(), *full.values()):
        assert outcome.fatal is None and outcome.errors == (), outcome
    assert not answered_here & set(lean[modern].properties) and not answered_here & set(lean[legacy].properties)
    assert answered_here <= set(full[modern].properties)
    # ROBOT: not run against the ECDSA server, run against the one with RSA key transport
    assert lean[modern].properties["robot"] == full[modern].properties["robot"] == "NOT_VULNERABLE_RSA_NOT_SUPPORTED"
    assert lean[legacy].properties["robot"] != "NOT_VULNERABLE_RSA_NOT_SUPPORTED"


def test_the_fork_server_loads_what_the_main_script_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from scanner.collectors.tls import sslyze_pool

    script = types.ModuleType("__main__")
    exec("import sys\nfrom scanner.cli import main\n", script.__dict__)  # keysweep's entry point
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert sslyze_pool._main_imports() == ["scanner.cli", "sys"]

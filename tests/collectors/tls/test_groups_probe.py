"""keysweep's own groups and signature-scheme probes against openssl s_server configured with known
lists (the ground truth is the server's command line), including the TLS 1.3 finite-field groups,
and against a deliberately slow single-threaded server: the list is complete or the error is said."""

from __future__ import annotations

import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.collectors.tls import groups_probe, sigalgs_probe
from tests.support import pki
from tests.support import tls_servers as ts


def s_server(directory: Path, *options: str, key: str = "ec") -> ts.Server:
    private = pki.ec_key() if key == "ec" else pki.rsa_key(2048)
    cert = pki.certificate(private, "127.0.0.1", san=["127.0.0.1"])
    cert_file = pki.write(directory / f"{key}-{time.monotonic_ns()}.crt", pki.pem(cert))
    key_file = pki.write(directory / f"{key}-{time.monotonic_ns()}.key", pki.key_pem(private))
    for _ in range(5):
        port = ts.free_port()
        argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert_file)]
        argv += ["-key", str(key_file), "-www", "-quiet", *options]
        try:
            return ts._start("probe", argv, port, stderr=subprocess.DEVNULL)
        except RuntimeError:
            continue
    raise RuntimeError("openssl s_server did not start")


def address(server: ts.Server) -> tuple[str, int]:
    return ("127.0.0.1", server.port)


FFDHE = ("ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192")


def test_tls13_groups_with_every_finite_field_group(tmp_path: Path) -> None:
    configured = ["x25519", "secp384r1", *FFDHE]
    server = s_server(tmp_path, "-groups", ":".join(configured))
    try:
        result = groups_probe.enumerate_tls13(address(server), None, 5, time.monotonic() + 60)
    finally:
        server.stop()
    assert result.error is None
    assert sorted(result.groups) == sorted(configured)


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_tls12_curves_from_the_server_key_exchange(tmp_path: Path, key: str) -> None:
    # with an ECDSA P-256 certificate the server needs P-256 offered to sign at all
    server = s_server(tmp_path, "-tls1_2", "-groups", "P-384:P-256:X25519", key=key)
    try:
        result = groups_probe.enumerate_legacy(address(server), None, 0x0303, 5, time.monotonic() + 30)
    finally:
        server.stop()
    assert (result.version, result.error) == ("TLSv1.2", None)
    assert sorted(result.groups) == ["secp256r1", "secp384r1", "x25519"]


def test_signature_schemes_accepted(tmp_path: Path) -> None:
    server = s_server(tmp_path, "-sigalgs", "ECDSA+SHA256:ECDSA+SHA1", "-cipher", "DEFAULT:@SECLEVEL=0")
    try:
        tls13 = sigalgs_probe.probe(address(server), None, 0x0304, 5, time.monotonic() + 60)
        tls12 = sigalgs_probe.probe(address(server), None, 0x0303, 5, time.monotonic() + 60)
    finally:
        server.stop()
    # TLS 1.3 forbids SHA-1 handshake signatures (RFC 8446 section 4.2.3); TLS 1.2 may use it
    assert (tls13.error, tls13.schemes) == (None, ("ecdsa_secp256r1_sha256",))
    assert (tls12.error, sorted(tls12.schemes)) == (None, ["ecdsa_secp256r1_sha256", "ecdsa_sha1"])


def pipe(client: socket.socket, upstream: socket.socket, idle: float) -> None:
    """Copy both ways until either side closes or nothing passes for ``idle`` seconds."""
    last = time.monotonic()
    while time.monotonic() - last < idle:
        readable, _, _ = select.select([client, upstream], [], [], 0.05)
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (upstream if sock is client else client).sendall(data)
            last = time.monotonic()


class SlowRelay:
    """A single-threaded server: one connection at a time, each delayed, relayed to a real TLS server.

    Connections wait in the listen backlog while another is served, as with a single-threaded
    daemon under load; a client that sends nothing holds the server until ``idle`` passes.
    """

    def __init__(self, backend: int, delay: float, idle: float) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self.listener.getsockname()[1])
        self.backend, self.delay, self.idle = backend, delay, idle
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            time.sleep(self.delay)
            try:
                with client, socket.create_connection(("127.0.0.1", self.backend), timeout=5) as upstream:
                    self.relay(client, upstream)
            except OSError:
                continue

    def relay(self, client: socket.socket, upstream: socket.socket) -> None:
        pipe(client, upstream, self.idle)

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[tuple[SlowRelay, list[str]]]:
    configured = ["x25519", "secp256r1", "ffdhe2048", "ffdhe3072"]
    backend = s_server(tmp_path, "-groups", ":".join(configured))
    relay = SlowRelay(backend.port, delay=0.15, idle=0.6)
    try:
        yield relay, configured
    finally:
        relay.stop()
        backend.stop()


def _hog(port: int, seconds: float, stop: threading.Event) -> None:
    """A client that connects and says nothing, as sslyze's parallel connections keep the server busy."""
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=seconds):
                time.sleep(seconds)
        except OSError:
            time.sleep(0.05)


@pytest.mark.slow
def test_groups_probe_on_a_slow_single_threaded_server_never_silently_incomplete(
    slow_server: tuple[SlowRelay, list[str]],
) -> None:
    relay, configured = slow_server
    stop = threading.Event()
    hogs = [threading.Thread(target=_hog, args=(relay.port, 0.5, stop), daemon=True) for _ in range(2)]
    for hog in hogs:
        hog.start()
    outcomes = []
    try:
        for _ in range(10):
            result = groups_probe.enumerate_tls13(("127.0.0.1", relay.port), None, 1.0, time.monotonic() + 30)
            outcomes.append(result)
    finally:
        stop.set()
    complete = [r for r in outcomes if r.error is None]
    failed = [r for r in outcomes if r.error is not None]
    for result in complete:
        assert sorted(result.groups) == sorted(configured), result
    for result in failed:
        assert "groups probe (TLS 1.3) failed" in (result.error or "") and "attempts" in (result.error or "")
        assert set(result.groups) <= set(configured)
    # the retries carry it through the load most of the time
    assert len(complete) >= 5, outcomes


def test_a_group_negotiated_but_not_listed_is_added_and_reported() -> None:
    from scanner.collectors.tls.collector import _classical_groups
    from scanner.collectors.tls.probes import ProbeResults

    probes = ProbeResults(groups=groups_probe.GroupsResult("TLSv1.3", ("x25519",)))
    ephemeral = {"TLS_AES_128_GCM_SHA256": {"type": "ECDH", "bits": 256, "group": "secp256r1"}}
    groups, complete, errors = _classical_groups(probes, {"ephemeral_keys": ephemeral})
    assert (groups, complete) == (["x25519", "secp256r1"], False)
    assert errors == [
        "groups probe did not list secp256r1, which the server negotiated in a handshake: "
        "added from the negotiated keys; the list may be incomplete"
    ]
    # nothing missed: complete, no error
    assert _classical_groups(
        ProbeResults(groups=groups_probe.GroupsResult("TLSv1.3", ("secp256r1",))), {"ephemeral_keys": ephemeral}
    ) == (["secp256r1"], True, [])


def test_a_server_that_stops_answering_mid_probe_is_an_error_not_a_shorter_list(tmp_path: Path) -> None:
    """Two answers, then silence: the list so far is kept, and the error says the probe failed."""
    backend = s_server(tmp_path, "-groups", "x25519:secp256r1:secp384r1")
    answered = []

    def handle(client: socket.socket) -> None:
        if len(answered) >= 2:
            ts.hold(client)
            return
        answered.append(client)
        with socket.create_connection(("127.0.0.1", backend.port), timeout=5) as upstream:
            pipe(client, upstream, 2.0)

    relay = ts.listen("stops", handle)
    try:
        start = time.monotonic()
        result = groups_probe.enumerate_tls13(("127.0.0.1", relay.port), None, 0.5, time.monotonic() + 30)
        elapsed = time.monotonic() - start
    finally:
        relay.stop()
        backend.stop()
    assert len(result.groups) == 2 and set(result.groups) <= {"x25519", "secp256r1", "secp384r1"}
    assert result.error == ("groups probe (TLS 1.3) failed: no TLS answer before the timeout (after 3 attempts)")
    assert elapsed < 3 * 0.5 + 2

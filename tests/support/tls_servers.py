"""Real TLS servers on 127.0.0.1 for tests and benchmarks: openssl s_server, nginx, pyOpenSSL, and a
socket that accepts and never answers. Each picks a free port and is stopped by its handle."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from scanner.compat import UTC

ROOT = Path(__file__).resolve().parents[2]
PQ_SERVER = ROOT / "sample-targets" / "tls" / "pq_server.py"


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def server_certificate(
    directory: Path,
    stem: str,
    *,
    key: CertificateIssuerPrivateKeyTypes | None = None,
    common_name: str = "localhost",
    dns: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    days: int = 90,
    hash_algorithm: hashes.HashAlgorithm | None = None,
) -> tuple[Path, Path]:
    """A self-signed server certificate and its key, written as PEM files (cert, key)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(UTC) - dt.timedelta(days=1)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(key, hash_algorithm or hashes.SHA256())  # type: ignore[arg-type]
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    stop_hook: list[object] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for hook in self.stop_hook:
            hook()  # type: ignore[operator]


def _start(name: str, argv: list[str], port: int, **kwargs: object) -> Server:
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    try:
        wait_for_port(port, process)
    except RuntimeError:
        process.kill()
        raise
    return Server(name, port, process)


def start_legacy_server(directory: Path, cert: Path, key: Path, *, dh_bits: int = 1024) -> Server:
    """openssl s_server speaking only TLS 1.0, every cipher OpenSSL has, a weak DH group, HTTP (-www)."""
    dhparam = directory / f"dh{dh_bits}.pem"
    if not dhparam.exists():
        subprocess.run(
            ["openssl", "dhparam", "-out", str(dhparam), str(dh_bits)],
            check=True,
            capture_output=True,
        )
    for _ in range(5):
        port = free_port()
        argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key)]
        argv += ["-tls1", "-cipher", "ALL:@SECLEVEL=0", "-dhparam", str(dhparam), "-www", "-quiet"]
        try:
            return _start("legacy", argv, port, stderr=subprocess.DEVNULL)
        except RuntimeError:
            continue
    raise RuntimeError("openssl s_server did not start")


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp-body;
  proxy_temp_path {dir}/tmp-proxy;
  fastcgi_temp_path {dir}/tmp-fastcgi;
  uwsgi_temp_path {dir}/tmp-uwsgi;
  scgi_temp_path {dir}/tmp-scgi;
{servers}
}}
"""

NGINX_SERVER = """
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers {ciphers};
    ssl_prefer_server_ciphers off;
    ssl_ecdh_curve X25519:prime256v1:secp384r1;
    add_header Strict-Transport-Security "max-age=63072000" always;
    location / {{ return 200 "keysweep modern test server\\n"; }}
  }}
"""


MODERN_CIPHERS = ":".join(
    f"ECDHE-{auth}-{cipher}"
    for cipher in ("AES128-GCM-SHA256", "AES256-GCM-SHA384", "CHACHA20-POLY1305")
    for auth in ("ECDSA", "RSA")
)


def start_nginx(directory: Path, cert: Path, key: Path, count: int = 1, ciphers: str = MODERN_CIPHERS) -> list[Server]:
    """One nginx process serving ``count`` modern TLS 1.2/1.3 endpoints (Mozilla intermediate-like)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (scripts/bootstrap.sh installs nginx-light)")
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(5):
        ports = [free_port() for _ in range(count)]
        if len(set(ports)) < count:
            continue
        servers = "".join(NGINX_SERVER.format(port=p, cert=cert, key=key, ciphers=ciphers) for p in ports)
        conf = directory / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=directory, servers=servers))
        argv = [binary, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for port in ports:
                wait_for_port(port, process)
        except RuntimeError:
            process.kill()
            process.wait(5)
            if attempt == 4:
                raise
            continue
        first = Server("nginx", ports[0], process)
        return [first] + [Server("nginx", p) for p in ports[1:]]
    raise RuntimeError("nginx did not start")


def start_pq_server(cert: Path, key: Path, *, hsts: bool = True, openssl_conf: Path | None = None) -> Server:
    """The pyOpenSSL server (OpenSSL 3.5: X25519MLKEM768 by default); prints its port when listening."""
    import os

    env = dict(os.environ)
    if openssl_conf is not None:
        env["OPENSSL_CONF"] = str(openssl_conf)
    argv = [sys.executable, str(PQ_SERVER), str(cert), str(key)] + (["--hsts"] if hsts else [])
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.isdigit():
        process.kill()
        raise RuntimeError(f"pq_server.py did not print its port (got {line!r})")
    return Server("pq", int(line), process)


def listen(name: str, handle: Callable[[socket.socket], None]) -> Server:
    """A listener on a free port that runs ``handle`` on each connection in its own daemon thread."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            handle(connection)

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()

    def stop() -> None:
        stopping.set()
        listener.close()
        for connection in held:
            with contextlib.suppress(OSError):
                connection.close()

    return Server(name, int(listener.getsockname()[1]), stop_hook=[stop])


def hold(connection: socket.socket) -> None:
    """Read and ignore what the client sends, answering nothing, until it closes (or two minutes)."""
    connection.settimeout(120)
    while connection.recv(4096):
        pass


def start_silent_socket() -> Server:
    """A socket that accepts every connection and never sends a byte."""
    return listen("silent", hold)

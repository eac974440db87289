"""Config tokenisers and server-block composition are linear in their input.

Each test times the same work on an input and on one four times larger (the input doubled twice)
in one run, best of five, interleaved: linear work grows about 4x, quadratic work (shlex on a long token,
rebuilding the inherited settings for every server) about 16x. The bound, 8x, leaves room for a
loaded machine while still failing quadratic code; no absolute time is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import apache, nginx, ssh
from scanner.collectors.files.handler import FileSource

GROWTH = 4
BOUND = 8.0


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _growth(make: Callable[[int], object], run: Callable[[object], object], n: int, runs: int = 5) -> float:
    """Best time on the x4 input over best time on the input; runs interleaved so both see the same load.

    A load spike on the shared machine can push one measurement over the bound: it is measured
    again, up to three times. Quadratic code grows ~16x every time, so a retry never hides it.
    """
    small, large = make(n), make(n * GROWTH)
    run(small)  # warm caches and imports outside the timing
    growth = float("inf")
    for _ in range(3):
        small_times, large_times = [], []
        for _ in range(runs):
            small_times.append(_timed(lambda: run(small)))
            large_times.append(_timed(lambda: run(large)))
        growth = min(growth, min(large_times) / min(small_times))
        if growth < BOUND:
            break
    return growth


def _parse(handler: object, path: Path) -> Callable[[object], object]:
    def run(data: object) -> object:
        assert isinstance(data, bytes)
        return handler.parse(FileSource(path, data), CollectContext())  # type: ignore[attr-defined]

    return run


@pytest.mark.parametrize(
    ("name", "make", "run", "n"),
    [
        ("apache word", lambda n: "SSLCipherSuite " + "A" * n, apache.split_words, 200_000),
        ("apache quoted word", lambda n: 'Header "' + 'x\\"' * n + '"', apache.split_words, 60_000),
        ("ssh word", lambda n: "A" * n, ssh.split_args, 200_000),
        ("ssh quoted word", lambda n: '"' + "a\\ " * n + '"', ssh.split_args, 60_000),
        ("ssh keyword", lambda n: "K" * n + " v", ssh._split, 200_000),
    ],
)
def test_tokenisers_are_linear(name: str, make: Callable[[int], str], run: Callable[[str], object], n: int) -> None:
    growth = _growth(make, run, n)  # type: ignore[arg-type]
    assert growth < BOUND, f"{name}: x{GROWTH} input took x{growth:.1f} time"


def test_nginx_server_block_composition_is_linear(tmp_path: Path) -> None:
    def make(n: int) -> bytes:
        http = "".join(f"  ssl_session_timeout {i}m;\n" for i in range(n))
        servers = "".join(f"  server {{ listen 443 ssl; server_name s{i}.example; }}\n" for i in range(n))
        return f"events {{}}\nhttp {{\n  ssl_protocols TLSv1.2;\n{http}{servers}}}\n".encode()

    path = tmp_path / "nginx.conf"
    growth = _growth(make, _parse(nginx.NginxHandler(), path), 1_500)
    assert growth < BOUND, f"nginx servers: x{GROWTH} input took x{growth:.1f} time"


def test_apache_virtual_host_composition_is_linear(tmp_path: Path) -> None:
    def make(n: int) -> bytes:
        server_wide = "".join(f"Define v{i} {i}\n" for i in range(n))
        vhosts = "".join(
            f"<VirtualHost *:443>\n  ServerName h{i}.example\n  SSLEngine on\n</VirtualHost>\n" for i in range(n)
        )
        return f"ServerRoot {tmp_path}\nSSLProtocol -all +TLSv1.2\n{server_wide}{vhosts}".encode()

    path = tmp_path / "httpd.conf"
    growth = _growth(make, _parse(apache.ApacheHandler(), path), 1_500)
    assert growth < BOUND, f"Apache VirtualHosts: x{GROWTH} input took x{growth:.1f} time"


def test_apache_continuation_lines_are_linear(tmp_path: Path) -> None:
    def make(n: int) -> bytes:
        return ("SSLCipherSuite \\\n" + "ECDHE-RSA-AES128-GCM-SHA256:\\\n" * n + "HIGH\n").encode()

    growth = _growth(make, _parse(apache.ApacheHandler(), tmp_path / "ssl.conf"), 10_000)
    assert growth < BOUND, f"Apache continuations: x{GROWTH} input took x{growth:.1f} time"


def test_sshd_config_lines_are_linear(tmp_path: Path) -> None:
    def make(n: int) -> bytes:
        return "".join(f"AcceptEnv VAR{i} 'quoted {i}'\n" for i in range(n)).encode()

    growth = _growth(make, _parse(ssh.SshConfigHandler(), tmp_path / "sshd_config"), 5_000)
    assert growth < BOUND, f"sshd_config: x{GROWTH} input took x{growth:.1f} time"

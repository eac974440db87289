"""Config parsers on the hostile inputs of issue 18: cost against a linear floor, in one run.

Each case builds the input the attack used (a long Apache token, a long sshd token, megabytes of
nginx server blocks, 10,000 Apache VirtualHosts), times the handler's whole parse, and prints it
beside the baseline measured in the same run: decoding the bytes and splitting them into words,
the least any parser must do. The attack measured 131 s, >30 s, 17.7 s / >600 s and >30 s.
Usage: python bench/bench_config_parsers.py [SCALE]   (SCALE 1 = the sizes of the report)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scanner.collectors.base import CollectContext
from scanner.collectors.configs.apache import ApacheHandler
from scanner.collectors.configs.nginx import NginxHandler
from scanner.collectors.configs.ssh import SshConfigHandler
from scanner.collectors.files.handler import FileSource


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def cases(scale: float, folder: Path) -> list[tuple[str, Path, bytes, object]]:
    mib = 1024 * 1024
    servers = int(10 * mib * scale) // 60
    nginx = "events {}\nhttp {\n  ssl_protocols TLSv1.2;\n" + "".join(
        f"  server {{ listen 443 ssl; server_name s{i}.example; }}\n" for i in range(servers)
    )
    vhosts = "".join(
        f"<VirtualHost *:443>\n  ServerName h{i}.example\n  SSLEngine on\n</VirtualHost>\n"
        for i in range(int(10_000 * scale))
    )
    return [
        (
            "Apache 1.6 MB token",
            folder / "ssl.conf",
            b"SSLCipherSuite " + b"A" * int(1.6 * mib * scale),
            ApacheHandler(),
        ),
        ("sshd 1 MB token", folder / "sshd_config", b"Ciphers " + b"a" * int(mib * scale) + b"\n", SshConfigHandler()),
        (
            f"nginx {len(nginx) // mib} MB, {servers} servers",
            folder / "nginx.conf",
            (nginx + "}\n").encode(),
            NginxHandler(),
        ),
        (f"Apache {int(10_000 * scale)} VirtualHosts", folder / "httpd.conf", vhosts.encode(), ApacheHandler()),
    ]


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'case':40} {'baseline s':>10} {'parse s':>10} {'ratio':>7}")
        for name, path, data, handler in cases(scale, Path(tmp)):
            baseline = _timed(lambda d=data: d.decode("latin-1").split())  # type: ignore[misc]
            parse = _timed(lambda d=data, p=path, h=handler: h.parse(FileSource(p, d), CollectContext()))  # type: ignore[misc,attr-defined]
            print(f"{name:40} {baseline:10.3f} {parse:10.3f} {parse / max(baseline, 1e-9):7.0f}x")


if __name__ == "__main__":
    main()

"""A real redis-server for the distributed tests: on 127.0.0.1, a free port, a temp dir, no persistence."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.tls_servers import free_port, wait_for_port


@contextmanager
def running_redis(directory: Path, password: str | None = None) -> Iterator[str]:
    """Yields the broker URL (without the password)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(directory)]
    config = directory / "redis.conf"
    # the password goes into a 0600 config file, never argv
    config.write_text(f"requirepass {password}\n" if password else "")
    config.chmod(0o600)
    process = subprocess.Popen([binary, str(config), *argv[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)

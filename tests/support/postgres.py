"""A real PostgreSQL server for the store tests: the distribution's initdb and pg_ctl, in a temporary
directory, on a free port on 127.0.0.1 (and a socket in the same directory).

PostgreSQL refuses to run as root; when the tests run as root (CI containers) the server runs as the
``postgres`` system user the Debian package creates. Password authentication (scram-sha-256) is on,
and the password reaches every client through ``PGPASSWORD`` only, as keysweep asks of its users.
fsync is off: the data of a test server is thrown away, and it keeps the suite quick.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


def _bindir() -> Path:
    if os.environ.get("KEYSWEEP_PG_BINDIR"):
        return Path(os.environ["KEYSWEEP_PG_BINDIR"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


BINDIR = _bindir()
SUPERUSER = "keysweep"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(argv)
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class PostgresServer:
    root: Path
    port: int
    password: str

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def start(cls) -> PostgresServer:
        root = Path(tempfile.mkdtemp(prefix="keysweep-pg-", dir="/tmp"))
        server = cls(root, _free_port(), secrets.token_urlsafe(18))
        pwfile = root / "pw"
        pwfile.write_text(server.password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (root, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(root, 0o700)
        subprocess.run(
            _as_server_user(
                [
                    str(BINDIR / "initdb"),
                    "-D",
                    str(server.data),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()
        server._pg_ctl("start", "-w", "-t", "60", "-l", str(root / "log"), "-o", server._options())
        return server

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_server_user([str(BINDIR / "pg_ctl"), "-D", str(self.data), *args]), check=True, capture_output=True
        )

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode, "-w")

    def restart(self) -> None:
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.root / "log"), "-o", self._options())

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}

    def new_database(self) -> str:
        """A fresh, empty database; its URL (no password in it)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), password=self.password, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def connect(self, url: str):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(url, password=self.password, autocommit=True)

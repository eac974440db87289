"""The central backend: PostgreSQL through psycopg 3, chosen by a ``postgresql://`` URL.

Credentials come only through libpq's own means (``PGPASSWORD``, ``PGPASSFILE``/``~/.pgpass``, a
service file, a client certificate): a URL that carries a password is refused, because a URL ends
up in argv, shell history and messages. Rows go in with COPY; a scan is one transaction, so a
connection lost half-way leaves nothing of it behind and a retry stores it once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from scanner.store import rows as R
from scanner.store.interface import StoreError, StoreUnreachable
from scanner.store.sql import SqlStore

# any constant: one migrating process at a time, whatever the database
_MIGRATION_LOCK = 0x6B657973
_DEFAULT_CONNECT_TIMEOUT = "10"


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency, but say so plainly if it is missing
        raise StoreError("the PostgreSQL store needs psycopg 3: pip install 'psycopg[binary]'") from None
    return psycopg


def redact(url: str) -> str:
    """The URL without any password, for messages."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:
        return "postgresql://<unparsable URL>"
    user, host, port, db = (params.get(k) or "" for k in ("user", "host", "port", "dbname"))
    return f"postgresql://{f'{user}@' if user else ''}{host}{f':{port}' if port else ''}/{db}"


class PostgresStore(SqlStore):
    placeholder: ClassVar[str] = "%s"
    blob_type: ClassVar[str] = "BYTEA"
    for_update: ClassVar[str] = " FOR UPDATE"

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False, check_schema: bool = True) -> None:
        psycopg = _driver()
        from psycopg.conninfo import conninfo_to_dict

        self.db_errors = (psycopg.Error,)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"not a PostgreSQL URL: {exc}") from None
        super().__init__(redact(url), read_only)
        if "password" in params:
            raise StoreError(
                f"store {self.display}: the URL holds a password; give it through PGPASSWORD, PGPASSFILE"
                " (~/.pgpass) or a service file instead, so that it never shows in argv or logs"
            )
        extra: dict[str, Any] = {"autocommit": True, "application_name": "keysweep"}
        if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
            extra["connect_timeout"] = _DEFAULT_CONNECT_TIMEOUT  # a dead server costs a timeout, never a hang
        try:
            self._db = psycopg.connect(url, **extra)
        except psycopg.OperationalError as exc:
            raise StoreUnreachable(f"store {self.display} is unreachable: {str(exc).strip()}") from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store {self.display}: {str(exc).strip()}") from None
        try:
            if read_only:
                self._db.read_only = True
            self._open_schema(create, check_schema)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def _raw_execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params or None)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._db.transaction():
            yield

    def _lock_schema(self) -> None:
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def _read_version(self) -> int:
        # pg_class read through the statement's snapshot: to_regclass may answer from a catalog cache
        # that does not yet see a table another process just created (concurrent first writers)
        exists = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'keysweep_schema'"
            " AND relnamespace = current_schema()::regnamespace)"
        ).fetchone()[0]
        if not exists:
            return 0
        row = self._db.execute("SELECT max(version) FROM keysweep_schema").fetchone()
        return int(row[0] or 0)

    def _write_version(self, version: int) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS keysweep_schema (version INTEGER NOT NULL)")
        self._db.execute("DELETE FROM keysweep_schema")
        self._db.execute("INSERT INTO keysweep_schema VALUES (%s)", (version,))

    def _insert_many(self, table: str, columns: Sequence[str], rows: Sequence[R.Row]) -> None:
        if not rows:
            return
        with self._db.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def backend_pid(self) -> int:
        """The server process serving this connection (tests end it to simulate a lost connection)."""
        return int(self._db.info.backend_pid)

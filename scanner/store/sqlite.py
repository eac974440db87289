"""The embedded default backend: one SQLite file, nothing to set up.

Each scan is written in one transaction (WAL journal, synchronous=FULL): a process killed while
writing leaves the previous scans intact and the half-written one absent. Read-only use (``history``
on a file, directory or filesystem that cannot be written) opens the file read-only and, when even
the WAL index cannot be created beside it, as an immutable file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from scanner.store import rows as R
from scanner.store.interface import StoreError
from scanner.store.sql import SqlStore

_PAGE_SIZE = 16384


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/path``, ``sqlite:relative`` or a plain path."""
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://") :]).expanduser()
    if url.startswith("sqlite:"):
        return Path(url[len("sqlite:") :]).expanduser()
    return Path(url).expanduser()


class SqliteStore(SqlStore):
    placeholder: ClassVar[str] = "?"
    blob_type: ClassVar[str] = "BLOB"
    for_update: ClassVar[str] = ""
    db_errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    upgrades_on_open: ClassVar[bool] = True

    def __init__(
        self, url: str | Path, *, create: bool = True, read_only: bool = False, check_schema: bool = True
    ) -> None:
        self.path = sqlite_path(str(url))
        super().__init__(str(self.path), read_only)
        if (read_only or not create) and not self.path.is_file():
            raise StoreError(f"history store {self.path} does not exist")
        try:
            self._db = self._connect(create)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open history store {self.path}: {exc}") from None
        try:
            self._open_schema(create, check_schema)
        except BaseException:
            self._db.close()
            raise

    def _connect(self, create: bool) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: every write opens its own explicit transaction
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        # a new file only (an existing one keeps its page size): rows are kilobytes of JSON text, and
        # 16 KiB pages hold them in fewer pages, about halve the commit's work and make the file 10% smaller
        db.execute(f"PRAGMA page_size={_PAGE_SIZE}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def _connect_read_only(self) -> sqlite3.Connection:
        uri = f"file:{quote(str(self.path.absolute()))}"
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            # a WAL database in a directory we cannot write: no -shm can be made, so read it as an
            # immutable file (no other process may be writing it then, which read-only media ensure)
            db.close()
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30, isolation_level=None)

    def close(self) -> None:
        self._db.close()

    def _raw_execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock at once: writers queue instead of failing mid-way
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:  # also KeyboardInterrupt: nothing half-written stays
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _lock_schema(self) -> None:
        pass  # BEGIN IMMEDIATE already holds the only write lock

    def _read_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _write_version(self, version: int) -> None:
        self._db.execute(f"PRAGMA user_version={int(version)}")

    @contextmanager
    def _bulk(self, kinds: Sequence[str]) -> Iterator[None]:
        """Rows written into a kind's table that holds no row yet (a new store's first save), with
        that table's indexes built once over the rows written instead of updated row by row: about
        0.3 s less of a 20,000-file first save. The transaction holds the only write lock, and a
        rollback brings the indexes back as they were."""
        deferred = [index for kind in kinds for index in self._indexes_if_empty(kind)]
        for name, _ in deferred:
            self._db.execute(f'DROP INDEX "{name}"')
        yield
        for _, create in deferred:
            self._db.execute(create)

    def _indexes_if_empty(self, kind: str) -> list[tuple[str, str]]:
        """The indexes (name, CREATE statement) of the kind's row-set table when it holds no row."""
        table = R.KINDS[kind][0]
        if self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return []
        found = self._db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
            " ORDER BY name",
            (table,),
        )
        return [(str(name), str(create)) for name, create in found.fetchall()]

    def _insert_many(self, table: str, columns: Sequence[str], rows: Sequence[R.Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        self._db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")

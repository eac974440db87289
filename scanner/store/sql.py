"""What every SQL backend shares: the queries, the chain, the migrations; a backend adds the driver.

A backend subclass supplies a connection (DB-API cursors through ``_execute``), its transaction and
its locks, and how it writes many rows at once. Queries are written with ``?`` placeholders and
translated to the driver's style once.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import chain, repeat
from operator import add
from typing import Any, ClassVar

from scanner.compat import UTC
from scanner.inventory.model import TrendPoint, freeze
from scanner.plurals import noun, plural
from scanner.store import deflate
from scanner.store import rows as R
from scanner.store import streamed as S
from scanner.store.bodies import chunk_bounds, chunk_list, listed
from scanner.store.interface import (
    AssetRow,
    ChainHead,
    ChainProblem,
    Damaged,
    DamagedScan,
    Listing,
    LocationRow,
    RelationRow,
    SaveOutcome,
    SaveStatus,
    SchemaError,
    Store,
    StoredScan,
    StoreError,
    Verification,
)
from scanner.store.read_aside import READ_ASIDE_ASSETS, ReadAside
from scanner.store.schema import BODIES_VERSION, BUCKETS_VERSION, CHUNKS_VERSION, LATEST, MIGRATIONS

_LIST_COLUMNS = (
    "id, started_at, finished_at, targets, assets, findings, open_findings, readiness, by_severity, scope, host"
)
_CHAIN_COLUMNS_NO_REPORT = ", ".join(R.SCAN_FIELDS) + ", content_digest, rows_digest, prev_digest, chain_digest"
# what verify reads of a scan: its chain link, its report (head and body) and how its rows are digested
_CHAIN_COLUMNS = (
    _CHAIN_COLUMNS_NO_REPORT
    + ", report, report_body, rows_form, body_digest, "
    + ", ".join(f"{kind}_set" for kind in R.KINDS)
)
# rows are read for this many scans per query: bounded memory, few round trips
_ID_CHUNK = 50
# sets looked up or registered per query (up to 3 parameters each: SQLite's older builds allow 999)
_SET_CHUNK = 300
# buckets of a kind written at once: their rows are held until then (a streamed save holds no more)
_BUCKET_BATCH = 64


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# what inflating a damaged stored blob raises (a blob of another type: TypeError)
_DAMAGED: tuple[type[Exception], ...] = (*deflate.ERRORS, TypeError)
# what reading a stored scan may raise besides the database's errors
_UNREADABLE: tuple[type[Exception], ...] = (OSError, *deflate.ERRORS)
# what leaves a stored scan's rows underived in a migration (it stays as it is)
_NOT_DERIVED: tuple[type[Exception], ...] = (StoreError, *deflate.ERRORS)


def _sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _chunks(view: memoryview, cuts: Sequence[int]) -> list[tuple[str, memoryview]]:
    """The body's chunks (from each cut to the next, the last to the end) with their digests."""
    ends = [*cuts[1:], len(view)]
    return [(_sha256(view[a:b]), view[a:b]) for a, b in zip(cuts, ends, strict=True)]


def _compress_each(parts: Sequence[memoryview]) -> list[bytes]:
    return [deflate.compress(part) for part in parts]


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


_SHARED = "the stored report's body (shared by every scan that names it)"


class _Bodies:
    """What verify learnt of the shared report bodies: each is checked once, however many scans
    name it, and the last one read is kept for the next scan (a scope's scans come in order, and
    consecutive unchanged scans name the same body)."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}
        self.last: tuple[str, bytes] = ("", b"")
        self.chunks: dict[str, bool] = {}  # chunks of bodies stored as chunks: intact?

    def read(self, store: SqlStore, digest: str) -> tuple[bytes, str]:
        """The body's bytes, or what is wrong with it (said the same way on every scan naming it)."""
        if self.last[0] == digest:
            return self.last[1], ""
        known = self.problems.get(digest)
        if known:
            return b"", known
        found = store._stored_bodies([digest], "body")
        body, problem = b"", ""
        if digest not in found:
            problem = f"{_SHARED} is missing"
        else:
            try:
                body = deflate.decompress(found[digest])
            except _DAMAGED as exc:
                problem = f"{_SHARED} is damaged: {exc}"
            else:
                chunk_ids = listed(body)
                if chunk_ids is not None:
                    body, problem = self._assemble(store, chunk_ids)
                if not problem and known is None and _sha256(body) != digest:  # known == "": digested before
                    problem = f"{_SHARED} was altered (its digest does not match)"
        self.problems[digest] = problem
        if not problem:
            self.last = (digest, body)
        return body, problem

    def _assemble(self, store: SqlStore, chunk_ids: Sequence[str]) -> tuple[bytes, str]:
        """A chunked body's bytes, or what is wrong with its first bad chunk (each digested once)."""
        stored = store._stored_bodies(chunk_ids, "body")
        parts: list[bytes] = []
        for chunk_id in chunk_ids:
            named = f"its chunk {chunk_id[:16]}"
            if chunk_id not in stored:
                return b"", f"{_SHARED} is missing {named}"
            try:
                part = deflate.decompress(stored[chunk_id])
            except _DAMAGED as exc:
                return b"", f"{_SHARED} is damaged: {named}: {exc}"
            if chunk_id not in self.chunks:
                self.chunks[chunk_id] = _sha256(part) == chunk_id
            if not self.chunks[chunk_id]:
                return b"", f"{_SHARED} was altered ({named} does not match its digest)"
            parts.append(part)
        return b"".join(parts), ""


class _Sets:
    """What verify learnt of the shared row sets: each is digested once, however many scans name it."""

    def __init__(self) -> None:
        self.named: dict[str, bool] = {}  # sets schema 3 and 4 scans name: intact?
        self.buckets: dict[str, bool] = {}  # buckets of manifests: intact?
        self.manifests: dict[str, list[str]] = {}  # manifests: what of them is damaged

    @staticmethod
    def digest_matches(kind: str, set_id: str, rows: Sequence[R.Row]) -> bool:
        try:
            return R.set_digest(kind, rows) == set_id
        except TypeError:  # values of other types than keysweep writes: not the set it was
            return False


class _WriterDone(Exception):
    """The writer thread is done before the rows are all derived (a duplicate scan, or an error)."""


@dataclass(frozen=True, slots=True)
class _Written:
    """What a save writes besides the rows, each asked for when its transaction needs it (a save
    that derives the rows while its report is read aside waits there for the reading)."""

    content_digest: Callable[[], str]
    head: Callable[[], bytes]  # the report's head, compressed (or the whole report, unsplit)
    parts: Callable[[], list[tuple[str, bytes | None, memoryview]]]  # the body's parts to write
    body_id: Callable[[], str | None]


class _Handover:
    """What the deriving thread hands a writer thread: each kind's set as it is derived, then the
    scan's rows; None when deriving failed (the writer then rolls back)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[R.RowSet | R.ScanRows | None] = queue.SimpleQueue()

    def put(self, item: R.RowSet | R.ScanRows | None) -> None:
        self._queue.put(item)

    def _next(self) -> R.RowSet | R.ScanRows:
        item = self._queue.get()
        if item is None:
            raise StoreError("the report's rows could not be derived")  # the deriving thread raises its own
        return item

    def sets(self) -> Iterator[R.RowSet]:
        for _kind in R.KINDS:
            item = self._next()
            assert isinstance(item, R.RowSet)
            yield item

    def scan_rows(self) -> R.ScanRows:
        item = self._next()
        assert isinstance(item, R.ScanRows)
        return item


class SqlStore(Store):
    placeholder: ClassVar[str] = "?"
    blob_type: ClassVar[str] = "BLOB"
    # a key the database numbers itself (schema.py writes SERIAL_KEY)
    serial_key: ClassVar[str] = "INTEGER PRIMARY KEY"
    for_update: ClassVar[str] = ""
    db_errors: tuple[type[BaseException], ...] = ()
    # an older schema migrated when a writer opens the store (an embedded file), or only by `store upgrade`
    upgrades_on_open: ClassVar[bool] = False
    # a first save of its targets reads the report's bytes in a forked process (read_aside.ReadAside)
    reads_aside: ClassVar[bool] = True
    # buckets per kind a save splits rows into (the bench tries others)
    buckets: int = R.BUCKETS
    # a first save's rows written by a thread of their own, each kind while the next is derived: for
    # a driver that hands rows over in few calls, the database working in another process (COPY).
    # SQLite's executemany lets go of the GIL at every row: beside a thread deriving rows it waits
    # for the GIL at every row and writes several times slower
    writes_aside: ClassVar[bool] = False

    def __init__(self, display: str, read_only: bool) -> None:
        self.display = display
        self.read_only = read_only
        self._version = 0

    # -- what a backend supplies ----------------------------------------------------------------
    @abstractmethod
    def _raw_execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[None]:
        """One write transaction, rolled back on any exception."""

    @abstractmethod
    def _lock_schema(self) -> None:
        """Inside a transaction: one migrating process at a time."""

    @abstractmethod
    def _read_version(self) -> int: ...

    @abstractmethod
    def _write_version(self, version: int) -> None: ...

    @abstractmethod
    def _insert_many(self, table: str, columns: Sequence[str], rows: Sequence[R.Row]) -> None: ...

    # -- helpers --------------------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return self._raw_execute(sql, params)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except self.db_errors as exc:
            raise StoreError(f"cannot {action} {self.display}: {str(exc).strip()}") from None
        except _UNREADABLE as exc:
            raise StoreError(f"cannot {action} {self.display}: {exc}") from None

    def _open_schema(self, create: bool, check: bool = True) -> None:
        """Check the schema on opening: a new store is created at the latest version, an old one is
        upgraded as a scan opens it where the backend allows (SQLite, the user's own file) and must
        be upgraded explicitly elsewhere (a shared database: `keysweep store upgrade`), and a newer
        one is refused (its data would be misread)."""
        with self._guard("open"):
            version = self._read_version()
        if version == 0 and create and not self.read_only:
            self.upgrade()
            return
        self._version = version
        if not check:
            return  # `store upgrade` and `store version` open a store whatever its version
        if version > LATEST:
            raise SchemaError(
                f"store {self.display} has schema version {version}; this keysweep knows up to {LATEST}:"
                " upgrade keysweep"
            )
        if 0 < version < LATEST and create and not self.read_only and self.upgrades_on_open:
            self.upgrade()  # an embedded store is the user's own file: migrated as a scan opens it
            return
        if 0 < version < LATEST:
            raise SchemaError(
                f"store {self.display} has schema version {version}, this keysweep needs {LATEST}:"
                f" run `keysweep store upgrade --store {self.display}` first"
            )

    @property
    def _empty(self) -> bool:
        return self._version == 0

    # -- schema ---------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._guard("read"):
            return self._read_version()

    def upgrade(self) -> tuple[int, int]:
        if self.read_only:
            raise StoreError(f"store {self.display} is open read-only")
        with self._guard("upgrade"), self._transaction():
            self._lock_schema()
            start = self._read_version()
            if start > LATEST:
                raise SchemaError(f"store {self.display} has schema version {start}; this keysweep knows {LATEST}")
            for migration in MIGRATIONS:
                if migration.version <= start:
                    continue
                for statement in migration.statements:
                    self._execute(statement.replace("BLOB", self.blob_type).replace("SERIAL_KEY", self.serial_key))
                if migration.backfill:
                    self._backfill()
                if migration.split_reports:
                    self._split_reports()
                self._write_version(migration.version)
        self._version = LATEST
        return start, LATEST

    def _backfill(self) -> None:
        """Scans stored before rows and chains existed get them, in the order they were taken (in
        schema 2's tables: migration 3 then moves them into row sets like every other scan's)."""
        old = self._execute("SELECT id, report FROM scans ORDER BY finished_at, id").fetchall()
        heads: dict[str, tuple[int, str]] = {}
        for _scan_id, blob in old:
            try:
                report_json = deflate.decompress(blob)
                derived = R.derive(report_json, buckets=None)
            except _NOT_DERIVED:
                continue  # a damaged scan stays as it is: verify and load name it
            scope = derived.scan["scope"]
            seq, head = heads.get(scope, (0, ""))
            heads[scope] = (seq + 1, self._backfill_rows(derived, seq + 1, head))
        for scope, (seq, digest) in heads.items():
            self._execute("INSERT INTO scopes VALUES (?, ?, ?)", (scope, seq, digest))

    def _split_reports(self) -> None:
        """Scans stored whole before report bodies were shared keep their head in ``report`` and name
        their body in ``report_bodies``: the same bytes, so their content digests and chain links
        stay as they were. A report that is damaged or does not match its digest stays whole (verify
        names it as before); one scan's report in memory at a time."""
        ids = [str(r[0]) for r in self._execute("SELECT id FROM scans WHERE report_body IS NULL").fetchall()]
        for scan_id in ids:
            blob, content = self._execute(
                "SELECT report, content_digest FROM scans WHERE id = ?", (scan_id,)
            ).fetchall()[0]
            try:
                report_json = deflate.decompress(blob)
            except _DAMAGED:
                continue
            at = R.body_start(report_json)
            if at < 0 or _sha256(report_json) != content:
                continue
            digest = R.body_digest(report_json, at)
            self._write_body(digest, None, memoryview(report_json)[at:])
            self._execute(
                "UPDATE scans SET report = ?, report_body = ? WHERE id = ?",
                (deflate.compress(report_json[:at]), digest, scan_id),
            )

    def _write_body(self, digest: str, compressed: bytes | None, body: memoryview) -> None:
        """Inside a write transaction: the report body stored once, by the first save that has it.

        ``compressed`` is None when the body was found stored before the transaction (it is then
        compressed only if it went missing since). A concurrent writer of the same body waits on the
        key and then finds it taken, or free again when the first one rolled back.
        """
        if compressed is None:
            if self._stored_bodies([digest]):
                return
            compressed = deflate.compress(body)
        self._execute(
            "INSERT INTO report_bodies (body_digest, body) VALUES (?, ?) ON CONFLICT (body_digest) DO NOTHING",
            (digest, compressed),
        )

    def _backfill_rows(self, derived: R.ScanRows, seq: int, previous: str) -> str:
        scan_id = derived.scan["id"]
        tables = [R.scan_rows(scan_id, row_set.rows) for row_set in derived.sets]
        scan = {**derived.scan, "scope_seq": seq}
        rows_digest = R.rows_digest(*tables)
        extra = {
            "stored_at": _now(),
            "content_digest": derived.content_digest,
            "rows_digest": rows_digest,
            "prev_digest": previous,
            "chain_digest": R.chain_digest(scan, derived.content_digest, rows_digest, previous),
        }
        columns = {k: v for k, v in {**scan, **extra}.items() if k != "id"}
        assignments = ", ".join(f"{name} = ?" for name in columns)
        self._execute(f"UPDATE scans SET {assignments} WHERE id = ?", (*columns.values(), scan_id))
        for kind, rows in zip(R.KINDS, tables, strict=True):
            self._insert_many(kind, ("scan_id", *R.KINDS[kind][1]), rows)
        return str(extra["chain_digest"])

    # -- writing --------------------------------------------------------------------------------
    def _write_rows(
        self, derived: R.ScanRows, seq: int, previous: str, blob: bytes, body: str | None, written: bool = False
    ) -> str:
        """The scan's row, and its rows unless found stored or ``written`` already (as they were derived)."""
        scan = {**derived.scan, "scope_seq": seq}
        link = R.chain_digest(scan, derived.content_digest, derived.rows_digest, previous)
        columns = {
            **scan,
            "stored_at": _now(),
            "content_digest": derived.content_digest,
            "rows_digest": derived.rows_digest,
            "prev_digest": previous,
            "chain_digest": link,
            "rows_form": derived.rows_form,
            "body_digest": derived.body_digest or None,
            **{f"{row_set.kind}_set": row_set.set_id for row_set in derived.sets},
            "report": blob,
            # a store not yet at BODIES_VERSION has no such column: its reports are whole
            **({} if body is None else {"report_body": body}),
        }
        marks = ", ".join("?" for _ in columns)
        self._execute(f"INSERT INTO scans ({', '.join(columns)}) VALUES ({marks})", tuple(columns.values()))
        if derived.reused or written:
            return link
        if derived.rows_form == R.ROWS_FORM_BUCKETS:
            self._write_manifests(derived.sets)
        else:  # a store not yet at schema 5: one set per kind
            for row_set in derived.sets:
                key = self._register(row_set.set_id, row_set.kind, row_set.count())
                if key is not None:
                    self._write_set_rows(row_set, key)
        return link

    def _register(self, set_id: str, kind: str, count: int) -> int | None:
        """The set's new key when this save registers it first; None when it is registered already.

        The registry's unique set_id decides inside the transaction: a concurrent writer of the same
        set waits on it and then finds it taken (or free again, when the first one rolled back). The
        save that registers a set writes its rows (or a manifest's members); every other one names it.
        """
        # fetchall: the statement is done (SQLite commits no transaction with a statement running)
        taken = self._execute(
            "INSERT INTO row_sets (set_id, kind, row_count) VALUES (?, ?, ?) ON CONFLICT (set_id) DO NOTHING"
            " RETURNING set_key",
            (set_id, kind, count),
        ).fetchall()
        return int(taken[0][0]) if taken else None

    def _write_set_rows(self, row_set: R.RowSet, key: int) -> None:
        table, columns = R.KINDS[row_set.kind]
        self._insert_many(table, ("set_key", *columns), [(key, *row) for row in row_set.rows])

    def _set_keys(self, set_ids: Sequence[str]) -> dict[str, int]:
        """The keys of those sets already registered (in few queries: a manifest names hundreds)."""
        keys: dict[str, int] = {}
        for start in range(0, len(set_ids), _SET_CHUNK):
            chunk = set_ids[start : start + _SET_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            found = self._execute(f"SELECT set_id, set_key FROM row_sets WHERE set_id IN ({marks})", chunk)
            keys.update((str(i), int(k)) for i, k in found.fetchall())
        return keys

    def _register_many(self, row_sets: Sequence[R.RowSet]) -> dict[str, int]:
        """:meth:`_register` for many sets, a few statements in all: the keys of those this save took."""
        taken: dict[str, int] = {}
        for start in range(0, len(row_sets), _SET_CHUNK):
            chunk = row_sets[start : start + _SET_CHUNK]
            marks = ", ".join("(?, ?, ?)" for _ in chunk)
            params = [value for s in chunk for value in (s.set_id, s.kind, len(s.rows))]
            found = self._execute(
                f"INSERT INTO row_sets (set_id, kind, row_count) VALUES {marks} ON CONFLICT (set_id) DO NOTHING"
                " RETURNING set_id, set_key",
                params,
            )
            taken.update((str(i), int(k)) for i, k in found.fetchall())
        return taken

    def _write_manifests(self, manifests: Sequence[R.RowSet]) -> None:
        """Each kind's manifest and the buckets it names that no save stored before: their rows only."""
        with self._bulk([manifest.kind for manifest in manifests if manifest.rows]):
            for manifest in manifests:
                self._write_kind(manifest.kind, manifest.buckets, manifest.set_id)

    def _bulk(self, kinds: Sequence[str]) -> AbstractContextManager[None]:
        """Around the writing of these kinds' rows: what makes many rows quicker to write (SQLite)."""
        return nullcontext()

    def _write_kind(self, kind: str, buckets: Iterable[R.RowSet], manifest_id: str | None = None) -> R.RowSet:
        """A kind's buckets as they come, by number, each stored with its rows unless a save stored
        it before; then the manifest naming them (``manifest_id``, else its digest of them). Returns
        the manifest, without its rows. The buckets are held a few at a time (:data:`_BUCKET_BATCH`).

        Sets are registered in one order by every writer (kinds in KINDS' order, a kind's buckets
        by number, then its manifest), so concurrent PostgreSQL writers wait on each other and never
        deadlock. A manifest registered before names buckets stored before: none is written again.
        """
        table, columns = R.KINDS[kind]
        keys: dict[str, int] = {}
        count = 0

        def write(batch: Sequence[R.RowSet]) -> None:
            known = self._set_keys([b.set_id for b in batch])
            taken = self._register_many([b for b in batch if b.set_id not in known])
            # each row with its bucket's key in front, the tuples joined in C (map with add)
            rows = list(
                chain.from_iterable(map(add, repeat((taken[b.set_id],)), b.rows) for b in batch if b.set_id in taken)
            )
            self._insert_many(table, ("set_key", *columns), rows)
            known.update(taken)
            # registered by a concurrent writer since the lookup above: its rows are there
            known.update(self._set_keys([b.set_id for b in batch if b.set_id not in known]))
            keys.update(known)

        ids: list[str] = []
        batch: list[R.RowSet] = []
        for bucket in buckets:
            ids.append(bucket.set_id)
            count += bucket.count()
            batch.append(bucket)
            if len(batch) == _BUCKET_BATCH:
                write(batch)
                batch = []
        if batch:
            write(batch)
        set_id = R.manifest_digest(kind, ids) if manifest_id is None else manifest_id
        key = self._register(set_id, kind, count)
        if key is not None:
            self._insert_many("set_members", ("manifest_key", "bucket_key"), [(key, keys[i]) for i in ids])
        return R.RowSet(kind, set_id, [], row_count=count)

    def _derive(
        self,
        report_json: bytes,
        content: Future[str],
        body: Future[str] | None,
        parsed: Callable[[Mapping[str, Any]], object] | None = None,
        each: Callable[[R.RowSet], object] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> R.ScanRows:
        """The report's rows, or, when a stored scan has the same body, its row sets by name.

        A re-scan that found what the last scan found differs from it only in its head (id, times):
        its body's digest finds that scan, whose sets are then named again, unparsed and unsorted.
        Only a scan whose row reads as verify would pass it (rows digest and chain link) is used.
        ``parsed``, ``each`` and ``values`` are :func:`R.derive`'s, used only when the rows are derived.
        """
        # a store not yet at schema 5 (opened by `store upgrade` or a test) keeps one set per kind
        buckets = self.buckets if self._version >= BUCKETS_VERSION else None
        form = R.ROWS_FORM_SETS if buckets is None else R.ROWS_FORM_BUCKETS
        at = R.body_start(report_json)
        head = None if body is None else R.parse_head(report_json, at)
        derive = partial(R.derive, report_json, buckets=buckets, parsed=parsed, each=each, values=values)
        if head is None or body is None:
            return derive(content_digest=content.result(), body="")
        body_digest = body.result()

        def derived() -> R.ScanRows:
            # a body new to the store is looked through for a "scan" of its own here, once: a scan
            # names its body's digest (and later saves find it) only when the body decides the rest
            body_id = body_digest if R.split_head(report_json, at) is not None else ""
            return derive(content_digest=content.result(), body=body_id)

        found = self._stored_rows(body_digest, head, form, content.result)
        return derived() if found is None else found

    def _stored_rows(
        self, body_digest: str, head: Mapping[str, Any], form: int, content: Callable[[], str]
    ) -> R.ScanRows | None:
        """The rows of a report with this body and head, named by a stored scan with the same body
        (read as verify would pass it: rows digest and chain link); None when no such scan is stored.
        ``content`` gives the report's digest."""
        set_columns = ", ".join(f"{kind}_set" for kind in R.KINDS)
        with self._guard("read"):
            found = self._execute(
                f"SELECT {', '.join(R.BODY_COLUMNS)}, {set_columns}, {_CHAIN_COLUMNS_NO_REPORT} FROM scans"
                " WHERE body_digest = ? AND rows_form = ? ORDER BY finished_at DESC LIMIT 1",
                (body_digest, form),
            ).fetchone()
            if found is not None:
                set_ids = [str(v) for v in found[len(R.BODY_COLUMNS) : len(R.BODY_COLUMNS) + len(R.KINDS)]]
                marks = ", ".join("?" for _ in set_ids)
                registered = self._execute(
                    f"SELECT count(*) FROM row_sets WHERE set_id IN ({marks})", set_ids
                ).fetchone()[0]
        if found is None or registered != len(set(set_ids)):
            return None
        stored = found[len(R.BODY_COLUMNS) + len(R.KINDS) :]
        scan = dict(zip(R.SCAN_FIELDS, stored[: len(R.SCAN_FIELDS)], strict=True))
        content_digest, rows_digest, prev, link = stored[len(R.SCAN_FIELDS) :]
        if rows_digest != R.sets_digest(body_digest, set_ids) or link != R.chain_digest(
            scan, str(content_digest), str(rows_digest), str(prev)
        ):
            # an altered scan row: verify names it; this scan derives its own rows
            return None
        columns = {**R.head_columns(head), **dict(zip(R.BODY_COLUMNS, found, strict=False))}
        return R.ScanRows(
            scan=columns,
            content_digest=content(),
            sets=tuple(R.RowSet(kind, set_id, []) for kind, set_id in zip(R.KINDS, set_ids, strict=True)),
            body_digest=body_digest,
            rows_digest=R.sets_digest(body_digest, set_ids),
            reused=True,
            rows_form=form,
        )

    def save(self, report_json: bytes, report: Mapping[str, Any] | None = None) -> SaveOutcome:
        if self.read_only:
            raise StoreError(f"store {self.display} is open read-only")
        # a quick level (deflate.py): reports are repetitive JSON (about 9x smaller) and large scans stay
        # quick to save; deflate and sha256 let go of the GIL, so the report compresses and is digested in threads
        # while its rows are derived. The body is compressed only when no stored scan has it
        at = R.body_start(report_json)
        split = at >= 0 and self._version >= BODIES_VERSION
        view = memoryview(report_json)
        with (
            ThreadPoolExecutor(max_workers=3, thread_name_prefix="keysweep-store") as aside,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="keysweep-store-writer") as writing,
        ):
            content = aside.submit(_sha256, report_json)
            body = None if at < 0 else aside.submit(R.body_digest, report_json, at)
            compressed = aside.submit(deflate.compress, view[:at] if split else report_json)
            body_id: str | None = None
            whole: Future[bytes] | None = None
            chunks: Future[list[tuple[str, memoryview]]] | None = None
            if split and body is not None:
                # _derive waits for the body's digest first thing too: no time lost
                body_id = body.result()
                if body_id not in self._bodies_stored([body_id]):
                    # schema 5 keeps a body as chunks: a changed report stores the chunks that changed
                    cuts = chunk_bounds(report_json, at) if self._version >= CHUNKS_VERSION else [at]
                    if len(cuts) > 1:
                        chunks = aside.submit(_chunks, view, cuts)
                    else:
                        whole = aside.submit(deflate.compress, view[at:])
            started: list[Callable[[], list[tuple[str, bytes | None, memoryview]]]] = []
            handover = _Handover()
            writer: list[Future[SaveOutcome]] = []

            def parts() -> list[tuple[str, bytes | None, memoryview]]:
                return started[0]() if started else []

            def start() -> None:
                # once the report is parsed (or its rows found stored): the chunks' digests are
                # ready by then, and the new ones compress while the rows are derived
                if body_id is not None and not started:
                    started.append(self._body_parts(aside, body_id, view[at:], whole, chunks))

            def parsed(scan: Mapping[str, Any]) -> None:
                start()
                if self.writes_aside and self._version >= BUCKETS_VERSION:
                    # from here on the writer alone uses the connection: it takes the scope's lock
                    # and writes each kind's rows as they come, then the body
                    written = _Written(content.result, compressed.result, parts, lambda: body_id)
                    writer.append(
                        writing.submit(self._write_scan, str(scan["id"]), str(scan["scope"]), written, handover)
                    )

            def each(row_set: R.RowSet) -> None:
                if writer:
                    if writer[0].done():  # a duplicate, or failed: deriving more is of no use
                        raise _WriterDone
                    handover.put(row_set)

            try:
                derived = self._derive(report_json, content, body, parsed=parsed, each=each, values=report)
            except _WriterDone:
                return writer[0].result()
            except BaseException:
                handover.put(None)  # a writer started rolls back (the executor waits for it)
                raise
            if writer:
                handover.put(derived)
                return writer[0].result()
            start()
            scan_id, scope = str(derived.scan["id"]), str(derived.scan["scope"])
            written = _Written(lambda: derived.content_digest, compressed.result, parts, lambda: body_id)
            return self._write_scan(scan_id, scope, written, derived)

    def save_report(self, source: S.ReportSource) -> SaveOutcome:
        """:meth:`save` for a report read in pieces (scanner.store.streamed): the same scan, chain,
        body and rows, without the whole report, its values or all its rows in memory at once."""
        if self.read_only:
            raise StoreError(f"store {self.display} is open read-only")
        if self._version < BUCKETS_VERSION:  # a store that keeps whole bodies and sets: saved whole
            return self.save(*source.whole())
        if self._reads_aside(source):
            try:
                reading = ReadAside(source)
            except OSError:  # no process to read in (fork refused): read in line
                pass
            else:
                return self._save_reading_aside(source, reading)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="keysweep-store") as aside:
            # the chunks compress in this thread while the rows are derived, and are written after
            # them; the items are walked only if the rows are derived (not for a body stored before)
            read = S.read(source, self._bodies_stored, aside, items=False)
            if read is None:
                return self.save(*source.whole())
            try:
                return self._save_pieces(source, lambda: read, read.text, rows_first=False)
            except S.NotInPieces:  # what the rows wrote is rolled back
                return self.save(*source.whole())

    def _reads_aside(self, source: S.ReportSource) -> bool:
        """Whether the report's bytes are read in a forked process while the rows are derived: for a
        first save of its targets (no scan of them stored: its body is new, its rows are derived),
        up to READ_ASIDE_ASSETS assets (the reading process copies ~1.5 kB of the scan's memory per
        asset, as it touches the inventory it shares: 300 MB for the 100,000-file bench tree)."""
        if not (self.reads_aside and hasattr(os, "fork") and R.HAS_ORJSON):
            return False
        if len(source.keys("assets")) > READ_ASIDE_ASSETS:
            return False
        scan = source.member("scan")
        key = R.targets_key([str(t) for t in scan["targets"]], bool(scan.get("projection")))
        with self._guard("read"):
            return self._execute("SELECT 1 FROM scans WHERE targets_key = ? LIMIT 1", (key,)).fetchone() is None

    def _save_reading_aside(self, source: S.ReportSource, aside: ReadAside) -> SaveOutcome:
        """A first save of its targets: the bytes read in a forked process (ReadAside) while this one
        derives and writes the rows, told string by string how its text is written (S.text).
        What the pieces cannot stand for rolls the rows back and is saved whole."""

        def read() -> S.Read:
            found = aside.result()
            if found is None:
                raise S.NotInPieces
            return found

        try:
            return self._save_pieces(source, read, S.text, rows_first=True)
        except S.NotInPieces:  # what the rows wrote is rolled back
            return self.save(*source.whole())
        finally:
            aside.stop()

    def _save_pieces(
        self, source: S.ReportSource, read: Callable[[], S.Read], text: Callable[[Any], str], rows_first: bool
    ) -> SaveOutcome:
        """A report read in pieces saved in one transaction. A save whose body a stored scan has
        names that scan's rows: looked up before deriving them, or (``rows_first``: the bytes are
        still being read) after, when every set derived was found registered and none was written."""
        columns = S.columns(source, text)

        def stored_rows() -> R.ScanRows | None:
            done = read()
            return self._stored_rows(
                done.body_digest, done.head_values, R.ROWS_FORM_BUCKETS, lambda: done.content_digest
            )

        found = None if rows_first else stored_rows()

        def rows() -> R.ScanRows:
            if found is not None:
                return found
            buckets = S.Buckets(source, text, self.buckets, walk=not rows_first)
            with self._bulk(list(R.KINDS)):
                sets = tuple(self._write_kind(kind, buckets.sets(kind)) for kind in R.KINDS)
            named = stored_rows() if rows_first else None
            if named is not None:
                return named
            body_id = read().body_digest
            return R.ScanRows(
                scan=columns,
                content_digest=read().content_digest,
                sets=sets,
                body_digest=body_id,
                rows_digest=R.sets_digest(body_id, [s.set_id for s in sets]),
            )

        written = _Written(
            lambda: read().content_digest,
            lambda: deflate.compress(read().head),
            lambda: self._body_parts_read(read()),
            lambda: read().body_digest,
        )
        return self._write_scan(str(columns["id"]), str(columns["scope"]), written, rows)

    def _body_parts_read(self, read: S.Read) -> list[tuple[str, bytes | None, memoryview]]:
        """:meth:`_body_parts` for a body read in pieces: its new chunks by digest, then its list."""
        body_id = read.body_digest
        if body_id in self._stored_bodies([body_id]):
            return []
        if len(read.chunks) == 1:  # stored whole; a chunk found stored is this body, stored
            whole = read.chunks[0][1]
            return [] if whole is None else [(body_id, whole.result(), memoryview(b""))]
        fresh = sorted((digest, part.result()) for digest, part in read.chunks if part is not None)
        listing = (body_id, deflate.compress(chunk_list([digest for digest, _ in read.chunks])))
        return [(digest, part, memoryview(b"")) for digest, part in [*fresh, listing]]

    def _write_scan(
        self,
        scan_id: str,
        scope: str,
        written: _Written,
        rows: R.ScanRows | _Handover | Callable[[], R.ScanRows],
    ) -> SaveOutcome:
        """The save's one transaction: the scope's next link, the rows, the body's parts, the scan.

        ``rows`` are the derived rows, or what a writer thread is handed as they are derived (each
        kind's sets, written as they come, then the scan's rows), or what writes them in the
        transaction and returns the scan's rows (a streamed save).
        """
        with self._guard("write to"), self._transaction():
            # the scope's row is the lock that orders its chain: concurrent writers of one scope queue here
            self._execute("INSERT INTO scopes VALUES (?, 0, '') ON CONFLICT (scope) DO NOTHING", (scope,))
            seq, head = self._execute(
                f"SELECT head_seq, head_digest FROM scopes WHERE scope = ?{self.for_update}", (scope,)
            ).fetchone()
            existing = self._execute("SELECT content_digest FROM scans WHERE id = ?", (scan_id,)).fetchone()
            if existing is not None:
                if existing[0] == written.content_digest():
                    return SaveOutcome(scan_id, scope, SaveStatus.DUPLICATE)
                raise StoreError(f"store {self.display} already holds a different scan with id {scan_id}")
            if isinstance(rows, _Handover):
                for manifest in rows.sets():
                    self._write_manifests([manifest])
                derived, stored = rows.scan_rows(), True
            elif callable(rows):
                derived, stored = rows(), True
            else:
                derived, stored = rows, False
            # the body after the rows (it compresses meanwhile): every writer stores sets, then body parts
            for digest, compressed_part, data in written.parts():
                self._write_body(digest, compressed_part, data)
            link = self._write_rows(derived, seq + 1, head, written.head(), written.body_id(), stored)
            self._execute("UPDATE scopes SET head_seq = ?, head_digest = ? WHERE scope = ?", (seq + 1, link, scope))
        return SaveOutcome(scan_id, scope, SaveStatus.STORED)

    def _body_parts(
        self,
        aside: ThreadPoolExecutor,
        body_id: str,
        body: memoryview,
        whole: Future[bytes] | None,
        chunks: Future[list[tuple[str, memoryview]]] | None,
    ) -> Callable[[], list[tuple[str, bytes | None, memoryview]]]:
        """What of the body this save writes, in the order it writes them (digest, compressed, bytes),
        once compressed (the call waits): the body whole (compressed None: found stored before,
        checked again in the transaction), or its chunks not stored yet, by digest (every writer in
        one order), then its chunk list.

        The chunks compress in one thread, while the rows are derived: each compression gives the
        GIL back to the thread deriving them, and one compressing thread beside it keeps two cores
        busy where three would queue for them."""
        if chunks is None:
            return lambda: [(body_id, None if whole is None else whole.result(), body)]
        pieces = chunks.result()
        stored = self._bodies_stored([d for d, _ in pieces])
        fresh = {d: c for d, c in pieces if d not in stored}
        written = [*((d, fresh[d]) for d in sorted(fresh)), (body_id, memoryview(chunk_list([d for d, _ in pieces])))]
        compressing = aside.submit(_compress_each, [data for _, data in written])
        return lambda: [(d, c, data) for (d, data), c in zip(written, compressing.result(), strict=True)]

    def _bodies_stored(self, digests: Sequence[str]) -> set[str]:
        with self._guard("read"):
            return set(self._stored_bodies(digests))

    def _stored_bodies(self, digests: Sequence[str], column: str = "1") -> dict[str, Any]:
        """The stored entries of report_bodies among these digests: digest -> ``column``."""
        found: dict[str, Any] = {}
        unique = sorted(set(digests))
        for start in range(0, len(unique), _SET_CHUNK):
            chunk = unique[start : start + _SET_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            rows = self._execute(
                f"SELECT body_digest, {column} FROM report_bodies WHERE body_digest IN ({marks})", chunk
            )
            found.update((str(d), v) for d, v in rows.fetchall())
        return found

    # -- reading --------------------------------------------------------------------------------
    def listing(
        self, limit: int | None = None, targets: Sequence[str] | None = None, scope: str | None = None
    ) -> Listing:
        if self._empty:
            return Listing(())
        query = f"SELECT {_LIST_COLUMNS} FROM scans"
        where: list[str] = []
        params: list[Any] = []
        if targets is not None:
            where.append("targets_key = ?")
            params.append(R.targets_key(targets))
        if scope is not None:
            where.append("scope = ?")
            params.append(scope)
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY finished_at DESC, scope_seq DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._guard("read"):
            fetched = self._execute(query, params).fetchall()
        scans: list[StoredScan] = []
        damaged: list[Damaged] = []
        for row in fetched:
            try:
                scans.append(self._stored(row))
            except (ValueError, TypeError, AttributeError) as exc:
                damaged.append(Damaged(str(row[0]), f"{type(exc).__name__}: {exc}"))
        return Listing(tuple(scans), tuple(damaged))

    @staticmethod
    def _stored(row: Sequence[Any]) -> StoredScan:
        targets = json.loads(row[3])
        by_severity = json.loads(row[8])
        if not isinstance(targets, list) or not isinstance(by_severity, dict):
            raise ValueError("targets or severity counts are not what a scan row holds")
        _parse_time(row[2])  # a scan whose time cannot be read cannot be ordered or trended
        return StoredScan(
            id=str(row[0]),
            started_at=str(row[1]),
            finished_at=str(row[2]),
            targets=tuple(str(t) for t in targets),
            assets=int(row[4]),
            findings=int(row[5]),
            open_findings=int(row[6]),
            readiness=None if int(row[7]) == R.NOT_ASSESSED else int(row[7]),
            by_severity={str(k): int(v) for k, v in by_severity.items()},
            scope=str(row[9]),
            host=str(row[10]),
        )

    def resolve(self, ref: str) -> str:
        if self._empty:
            raise StoreError(f"no scan {ref!r} in store {self.display}")
        pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._guard("read"):
            found = self._execute(
                "SELECT id FROM scans WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 2", (ref, pattern)
            ).fetchall()
        ids = {str(r[0]) for r in found}
        if ref in ids:
            return ref
        if not ids:
            raise StoreError(f"no scan {ref!r} in store {self.display}")
        if len(ids) > 1:
            raise StoreError(f"scan id prefix {ref!r} is ambiguous in store {self.display}")
        return ids.pop()

    def load_bytes(self, ref: str) -> bytes:
        """The report as it was saved, byte for byte: its head and its shared body, or it whole."""
        scan_id = self.resolve(ref)
        with self._guard("read"):
            row = self._execute(
                "SELECT s.report, s.report_body, b.body FROM scans s"
                " LEFT JOIN report_bodies b ON b.body_digest = s.report_body WHERE s.id = ?",
                (scan_id,),
            ).fetchone()
        try:
            head = deflate.decompress(row[0])
            if row[1] is None:
                return head
            if row[2] is None:
                raise DamagedScan(f"scan {scan_id} in store {self.display} is damaged: its report's body is missing")
            body = deflate.decompress(row[2])
            chunk_ids = listed(body)
            if chunk_ids is None:
                return head + body
            with self._guard("read"):
                stored = self._stored_bodies(chunk_ids, "body")
            if any(d not in stored for d in chunk_ids):
                raise DamagedScan(
                    f"scan {scan_id} in store {self.display} is damaged: a chunk of its report's body is missing"
                )
            return head + b"".join(deflate.decompress(stored[d]) for d in chunk_ids)
        except _DAMAGED as exc:
            raise DamagedScan(f"scan {scan_id} in store {self.display} is damaged: {exc}") from None

    def trend(self, targets: Sequence[str], limit: int = 12, exclude: str | None = None) -> tuple[TrendPoint, ...]:
        points = [
            TrendPoint(
                scan_id=s.id,
                finished_at=_parse_time(s.finished_at),
                readiness=s.readiness,
                assets=s.assets,
                open_findings=s.open_findings,
                by_severity=freeze(s.by_severity),
            )
            for s in self.scans(limit=limit + 1, targets=targets)
            if s.id != exclude
        ]
        return tuple(reversed(points[:limit]))

    def latest_per_scope(self) -> list[StoredScan]:
        if self._empty:
            return []
        query = (
            f"SELECT {_LIST_COLUMNS} FROM scans s WHERE NOT EXISTS (SELECT 1 FROM scans t WHERE t.scope = s.scope"
            " AND (t.finished_at > s.finished_at OR (t.finished_at = s.finished_at AND t.scope_seq > s.scope_seq)))"
            " ORDER BY scope"
        )
        with self._guard("read"):
            fetched = self._execute(query).fetchall()
        latest: list[StoredScan] = []
        for row in fetched:
            try:
                latest.append(self._stored(row))
            except (ValueError, TypeError, AttributeError):
                continue  # listed as damaged by `history`; a fleet view does without it
        return latest

    def verify(self) -> Verification:
        if self._empty:
            return Verification((), ())
        with self._guard("read"):
            heads = {str(s): (int(n), str(d)) for s, n, d in self._execute("SELECT * FROM scopes").fetchall()}
            scopes = sorted(
                {str(r[0]) for r in self._execute("SELECT DISTINCT scope FROM scans").fetchall()} | set(heads)
            )
            problems: list[ChainProblem] = []
            summary: list[ChainHead] = []
            # a shared row set or report body is digested once, however many scans name it
            sets = _Sets()
            bodies = _Bodies()
            for scope in scopes:
                found, last = self._verify_scope(scope, heads.get(scope), problems, sets, bodies)
                summary.append(ChainHead(scope, found, last))
        return Verification(tuple(summary), tuple(problems))

    def _verify_scope(
        self,
        scope: str,
        head: tuple[int, str] | None,
        problems: list[ChainProblem],
        sets: _Sets,
        bodies: _Bodies,
    ) -> tuple[int, str]:
        chain = self._execute(f"SELECT {_CHAIN_COLUMNS} FROM scans WHERE scope = ? ORDER BY scope_seq", (scope,))
        previous, expected_seq, count = "", 1, 0
        for row in chain.fetchall():
            count += 1
            scan = dict(zip(R.SCAN_FIELDS, row[: len(R.SCAN_FIELDS)], strict=True))
            content, rows_digest, prev, link, blob, report_body, form, body, *set_ids = row[len(R.SCAN_FIELDS) :]
            scan_id, seq = str(scan["id"]), scan["scope_seq"]

            def note(problem: str, scan_id: str = scan_id) -> None:
                problems.append(ChainProblem(scope, scan_id, problem))

            if not isinstance(seq, int):
                note("the scan has no place in its scope's chain (sequence number missing)")
                continue
            if seq != expected_seq:
                missing = seq - expected_seq
                note(
                    f"{plural(missing, 'scan')} before this one {noun(missing, 'is', 'are')} missing from the chain "
                    "(deleted?)"
                )
            if prev != previous:
                note("the link to the previous scan does not match (a scan before it was altered or deleted)")
            report_problem = self._report_problem(blob, report_body, content, bodies)
            if report_problem:
                note(report_problem)
            rows_problem = self._rows_problem(scan_id, form, body, set_ids, rows_digest, sets)
            if rows_problem:
                note(rows_problem)
            if R.chain_digest(scan, str(content), str(rows_digest), str(prev)) != link:
                note("the scan row was altered (its chain digest does not match)")
            previous, expected_seq = str(link), seq + 1
        if head is not None:
            head_seq, head_digest = head
            if head_seq >= expected_seq:
                problems.append(
                    ChainProblem(
                        scope,
                        "",
                        f"the latest {plural(head_seq - expected_seq + 1, 'scan')} of the scope "
                        f"{noun(head_seq - expected_seq + 1, 'is', 'are')} missing",
                    )
                )
            elif head_seq == expected_seq - 1 and head_digest != previous:
                problems.append(ChainProblem(scope, "", "the scope's head does not match its latest scan"))
        return count, previous

    def _report_problem(self, blob: Any, report_body: Any, content: Any, bodies: _Bodies) -> str:
        """What is wrong with a scan's stored report ("" when nothing): its body, then the whole's digest."""
        try:
            digest = hashlib.sha256(deflate.decompress(blob))
        except _DAMAGED as exc:
            return f"the stored report is damaged: {exc}"
        if report_body is not None:
            body, problem = bodies.read(self, str(report_body))
            if problem:
                return problem
            digest.update(body)
        return "" if digest.hexdigest() == content else "the stored report was altered (its digest does not match)"

    def _rows_problem(
        self, scan_id: str, form: Any, body: Any, set_ids: Sequence[Any], rows_digest: Any, sets: _Sets
    ) -> str:
        """What is wrong with a scan's rows ("" when nothing): its sets' digests, then its own."""
        altered = "its asset, location, relation or finding rows were altered"
        if form not in (R.ROWS_FORM_SETS, R.ROWS_FORM_BUCKETS):
            return "" if self._rows_digest(scan_id) == rows_digest else altered
        damaged: list[str] = []
        for kind, set_id in zip(R.KINDS, set_ids, strict=True):
            if form == R.ROWS_FORM_SETS:
                damaged += [] if self._named_set_intact(kind, set_id, sets) else [f"{kind} row set"]
            else:
                damaged += self._manifest_damage(kind, set_id, sets)
        if damaged:
            many = len(damaged) > 1
            shown = damaged if len(damaged) <= 6 else [*damaged[:5], f"{len(damaged) - 5} more"]
            return (
                f"{altered} (its {' and '.join(shown)}, shared by every scan that names"
                f" {'them' if many else 'it'}, {'do' if many else 'does'} not match"
                f" {'their' if many else 'its'} digest)"
            )
        if R.sets_digest(str(body or ""), [str(s) for s in set_ids]) != rows_digest:
            return f"{altered} (it names other row sets than it was saved with)"
        return ""

    def _named_set_intact(self, kind: str, set_id: Any, sets: _Sets) -> bool:
        """A set a schema 3 or 4 scan names, read as the views read it (from schema 5: as a manifest
        of itself, through set_members)."""
        if not isinstance(set_id, str):
            return False
        if set_id not in sets.named:
            table, columns = R.KINDS[kind]
            source = (
                f"row_sets k JOIN set_members m ON m.manifest_key = k.set_key"
                f" JOIN {table} r ON r.set_key = m.bucket_key"
                if self._version >= BUCKETS_VERSION
                else f"{table} r JOIN row_sets k ON k.set_key = r.set_key"
            )
            rows = self._execute(
                f"SELECT {', '.join('r.' + c for c in columns)} FROM {source} WHERE k.set_id = ?", (set_id,)
            ).fetchall()
            sets.named[set_id] = sets.digest_matches(kind, set_id, rows)
        return sets.named[set_id]

    def _manifest_damage(self, kind: str, manifest_id: Any, sets: _Sets) -> list[str]:
        """What of a schema 5 scan's manifest does not match its digest: the list of its buckets, or
        each bucket (digested once, however many manifests name it)."""
        if not isinstance(manifest_id, str):
            return [f"{kind} manifest"]
        if manifest_id not in sets.manifests:
            members = self._execute(
                "SELECT b.set_id, b.set_key FROM row_sets k JOIN set_members m ON m.manifest_key = k.set_key"
                " JOIN row_sets b ON b.set_key = m.bucket_key WHERE k.set_id = ?",
                (manifest_id,),
            ).fetchall()
            damage: list[str] = []
            if R.manifest_digest(kind, [str(m[0]) for m in members]) != manifest_id:
                damage.append(f"{kind} manifest (the list of its buckets)")
            table, columns = R.KINDS[kind]
            for bucket_id, key in members:
                if bucket_id not in sets.buckets:
                    rows = self._execute(f"SELECT {', '.join(columns)} FROM {table} WHERE set_key = ?", (key,))
                    sets.buckets[bucket_id] = sets.digest_matches(kind, bucket_id, rows.fetchall())
                if not sets.buckets[bucket_id]:
                    damage.append(f"{kind} row set bucket {str(bucket_id)[:16]}")
            sets.manifests[manifest_id] = damage
        return sets.manifests[manifest_id]

    def _rows_digest(self, scan_id: str) -> str:
        tables = []
        for table, columns in (
            ("assets", R.ASSET_COLUMNS),
            ("locations", R.LOCATION_COLUMNS),
            ("relations", R.RELATION_COLUMNS),
            ("findings", R.FINDING_COLUMNS),
        ):
            tables.append(
                self._execute(f"SELECT {', '.join(columns)} FROM {table} WHERE scan_id = ?", (scan_id,)).fetchall()
            )
        return R.rows_digest(*tables)

    # -- rows for the fleet view ----------------------------------------------------------------
    def _rows(self, table: str, columns: Sequence[str], scan_ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        if self._empty:
            return
        for start in range(0, len(scan_ids), _ID_CHUNK):
            chunk = list(scan_ids[start : start + _ID_CHUNK])
            marks = ", ".join("?" for _ in chunk)
            with self._guard("read"):
                fetched = self._execute(
                    f"SELECT {', '.join(columns)} FROM {table} WHERE scan_id IN ({marks})", chunk
                ).fetchall()
            yield from fetched

    def asset_rows(self, scan_ids: Sequence[str]) -> Iterator[AssetRow]:
        for row in self._rows("assets", R.ASSET_COLUMNS, scan_ids):
            yield AssetRow(*row)

    def location_rows(self, scan_ids: Sequence[str]) -> Iterator[LocationRow]:
        for row in self._rows("locations", R.LOCATION_COLUMNS, scan_ids):
            yield LocationRow(*row)

    def relation_rows(self, scan_ids: Sequence[str]) -> Iterator[RelationRow]:
        for row in self._rows("relations", R.RELATION_COLUMNS, scan_ids):
            yield RelationRow(*row)


__all__ = ["DamagedScan", "SqlStore"]

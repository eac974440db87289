"""Incremental re-scans: what parsing each file yielded, kept by the file's identity.

An entry is used only while the file's (device, inode, size, mtime_ns, ctime_ns) are those it was
stored with and the parser version (keysweep, cryptography, the file handlers) is unchanged, so an
unchanged file is neither read nor parsed again; a changed, new or removed file is noticed. Only the
parse is kept: the file asset (mode, owner, who can read it) is built from a fresh ``stat`` every
scan, and rules always run again (the as-of date moves).

Values are JSON (the observations codec), never pickle, each with a digest checked on read: a
damaged cache is discarded with a warning, never trusted. A scan given passwords does not use the
cache (what an encrypted file yields depends on them, and no trace of a password is ever stored).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import stat
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, Final

try:
    import orjson
except ImportError:  # pragma: no cover - a dependency; without it the json module writes every value
    orjson = None  # type: ignore[assignment]

from scanner.collectors.base import CollectContext
from scanner.collectors.files.handler import FileHandler, ParsedFile
from scanner.inventory import codec, jsonio

log = logging.getLogger(__name__)

# 2: the CA directories a configuration names are kept too; 3: codec.pack's compact arrays
CACHE_FORMAT: Final = 3
FILE_NAME: Final = "files.sqlite3"
# the collect option naming the cache directory (set by `keysweep scan --cache DIR`)
OPTION: Final = "file_cache"
# a file written within this long before the scan can change again within the same mtime tick
# unseen (git's "racily clean" case): it is parsed, not cached, until it has been quiet that long
RACY_NS: Final = 2_000_000_000
_BATCH: Final = 500
_first = itemgetter(0)
# the first byte of a value the json module wrote (see dumps); orjson's start with "[" or "n"
_BY_JSON: Final = b"j"
# as jsonio's: datetimes and dataclasses are refused (default=None), never written as text
_ORJSON_OPTIONS: Final = 0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class Miss:
    __slots__ = ()


MISS: Final = Miss()
# what a lookup gives: the cached parse, None (no handler knew the file), or MISS
Lookup = ParsedFile | None | Miss

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    digest BLOB, value BLOB
);
CREATE TABLE IF NOT EXISTS whole_sweeps (
    sweep BLOB PRIMARY KEY, identity BLOB NOT NULL, followed BLOB NOT NULL, parts INTEGER, digest BLOB
);
CREATE TABLE IF NOT EXISTS whole_sweep_parts (
    sweep BLOB NOT NULL, n INTEGER NOT NULL, digest BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (sweep, n)
);
"""


class CorruptCache(Exception):
    """An entry or the cache file that cannot be trusted."""


def parser_version(handlers: Sequence[FileHandler]) -> str:
    """What decides a parse besides the bytes: keysweep, the parsing libraries, the handlers."""
    import asn1crypto
    import cryptography

    from scanner import __version__

    named = ",".join(f"{h.name}:{type(h).__module__}:{getattr(h, 'version', '')}" for h in handlers)
    libraries = f"cryptography {cryptography.__version__}|asn1crypto {asn1crypto.__version__}"
    return f"{CACHE_FORMAT}|{__version__}|{libraries}|{named}"


def file_identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _digest(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=16).digest()


def encode(parsed: ParsedFile | None, path: str | None = None) -> bytes:
    """A parse of the file at ``path`` as JSON (``codec.pack``'s compact form); TypeError when
    something in it is not plain JSON (then it is not cached)."""
    if parsed is None:
        return b"null"
    value = [
        parsed.format,
        parsed.emit_file_asset,
        dict(parsed.file_properties),
        [str(p) for p in parsed.follow],
        [str(p) for p in parsed.follow_dirs],
        codec.pack(parsed.observations, path),
    ]
    return dumps(value)


def dumps(value: Any) -> bytes:
    if orjson is not None:
        try:
            return orjson.dumps(value, option=_ORJSON_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            pass
    # what orjson refuses (a lone surrogate, an integer past 64 bits) the json module writes, and reads
    # back: orjson would read such an integer as a float
    return _BY_JSON + jsonio.dumps(value, default=None)


def loads(data: bytes) -> Any:
    if data[:1] == _BY_JSON:
        return json.loads(data[1:])
    return jsonio.loads(data)


def decode(data: bytes, path: str | None = None) -> ParsedFile | None:
    """What ``encode`` wrote for the file at ``path``; CorruptCache for anything else."""
    try:
        value = loads(data)
        if value is None:
            return None
        if type(value) is not list:
            raise TypeError("not a parse")
        form, emit_file_asset, file_properties, follow, follow_dirs, packed = value
        if type(form) is not str or type(emit_file_asset) is not bool or type(file_properties) is not dict:
            raise TypeError("a parse's fields")
        return ParsedFile(
            format=form,
            observations=codec.unpack(packed, path),
            file_properties=file_properties,
            follow=tuple(Path(p) for p in follow) if follow else (),
            follow_dirs=tuple(Path(p) for p in follow_dirs) if follow_dirs else (),
            emit_file_asset=emit_file_asset,
        )
    # CodecError is a ValueError; RecursionError: the json module's answer to a value nested too deep
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CorruptCache(f"{type(exc).__name__}: {exc}") from None


class FileCache:
    """One scan's use of the cache directory: lookups during the sweep, writes in batches."""

    def __init__(self, directory: Path, version: str, *, started_ns: int | None = None) -> None:
        self.path = directory / FILE_NAME
        self._started_ns = time.time_ns() if started_ns is None else started_ns
        self.version = version
        self._pending: list[tuple[Any, ...]] = []
        self._seen: set[bytes] = set()
        self.hits = self.misses = 0
        self._db: sqlite3.Connection | None = None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = self._open()

    # -- opening, and throwing away what cannot be trusted ----------------------------------------
    def _open(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except (sqlite3.Error, CorruptCache) as exc:
            self._discard(f"cannot be read ({exc})")
        try:
            return self._connect()
        except (sqlite3.Error, CorruptCache) as exc:
            log.warning("file cache %s unusable, scanning without it: %s", self.path, exc)
            return None

    def _connect(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        if fresh:  # the inventory of a host is not for every user of it to read
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE name = 'version'").fetchone()
            if row is None or row[0] != self.version:
                if row is not None:
                    log.info("file cache %s: parser changed, every file is parsed again", self.path)
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM files")
                db.execute("DELETE FROM whole_sweeps")
                db.execute("DELETE FROM whole_sweep_parts")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (self.version,))
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def _discard(self, reason: str) -> None:
        log.warning("file cache %s %s: discarded, every file is parsed again", self.path, reason)
        if self._db is not None:
            self._db.close()
            self._db = None
        self._pending.clear()
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def _restart(self, reason: str) -> None:
        self._discard(reason)
        self._db = self._open()

    # -- the sweep --------------------------------------------------------------------------------
    def lookup(self, path: str, info: os.stat_result) -> Lookup:
        return self.lookup_many([(path, info)])[0]

    def lookup_many(self, files: Sequence[tuple[str, os.stat_result]]) -> list[Lookup]:
        """Each file's cached parse (or MISS), read in one query: a SELECT per file cost more than
        decoding its answer."""
        # os.fsencode's own work, without its call per file
        encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
        keys = [path.encode(encoding, errors) for path, _ in files]
        self._seen.update(keys)
        found: list[Lookup] = [MISS] * len(files)
        if self._db is None or not files:
            return found
        rows: dict[bytes, tuple[Any, ...]] = {}
        try:
            for start in range(0, len(keys), _BATCH):
                part = keys[start : start + _BATCH]
                query = f"SELECT path, dev, ino, size, mtime_ns, ctime_ns, digest, value FROM files WHERE path IN ({','.join('?' * len(part))})"  # noqa: E501
                found_rows = self._db.execute(query, part).fetchall()
                # by path, without a Python step per row
                rows.update(zip(map(_first, found_rows), found_rows, strict=True))
        except sqlite3.Error as exc:
            self._restart(f"cannot be read ({exc})")
            return found
        for n, ((path, info), key) in enumerate(zip(files, keys, strict=True)):
            row = rows.get(key)
            if row is None or row[1:6] != file_identity(info):
                self.misses += 1
                continue
            try:
                if _digest(row[7]) != row[6]:
                    raise CorruptCache("an entry does not match its digest")
                found[n] = decode(row[7], path)
            except CorruptCache as exc:
                self._restart(f"holds a damaged entry for {path!r} ({exc})")
                self.misses += len(files) - n
                return found  # the cache is empty now: the rest are misses too
            self.hits += 1
        return found

    def store(self, path: str, info: os.stat_result, parsed: ParsedFile | None) -> None:
        if self._db is None:
            return
        try:
            value = encode(parsed, path)
        except (TypeError, ValueError):
            return  # a third-party handler's non-JSON value: parsed every time, still correct
        self.store_encoded(path, info, value)

    def racy(self, changed_ns: int) -> bool:
        """Whether something changed at ``changed_ns`` may change again unseen within the same tick."""
        return changed_ns > self._started_ns - RACY_NS

    def store_encoded(self, path: str, info: os.stat_result, value: bytes) -> None:
        """A parse already encoded for ``path`` (by a worker of the parallel sweep)."""
        if self._db is None or not stat.S_ISREG(info.st_mode):
            return
        if self.racy(info.st_mtime_ns):
            return  # written just now: could change again unseen within the same tick
        self._pending.append((os.fsencode(path), *file_identity(info), _digest(value), value))
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._db is None or not self._pending:
            self._pending.clear()
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._pending)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:  # locked by a concurrent scan, disk full: this scan is still right
            log.warning("file cache %s not updated: %s", self.path, exc)
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        self._pending.clear()

    # -- whole sweeps (see whole.py) -----------------------------------------------------------------
    def sweep(self, sweep: bytes) -> tuple[bytes, bytes] | None:
        """The identity of the sweep kept under ``sweep``, and what configurations named in it."""
        row = self._kept_row("identity, followed", sweep)
        return None if row is None else (bytes(row[0]), bytes(row[1]))

    def sweep_parts(self, sweep: bytes) -> Iterator[bytes] | None:
        """The parts of the inventory kept of the sweep under ``sweep``, one at a time, each checked
        against its digest as it is read (CorruptCache for a damaged, missing or extra part, raised
        when it is met); None when only its identity is kept."""
        row = self._kept_row("parts, digest", sweep)
        if row is None or row[0] is None or self._db is None:
            return None
        return self._parts(self._db, sweep, int(row[0]), bytes(row[1]))

    def _kept_row(self, columns: str, sweep: bytes) -> tuple[Any, ...] | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(f"SELECT {columns} FROM whole_sweeps WHERE sweep = ?", (sweep,)).fetchone()
        except sqlite3.Error as exc:
            self._restart(f"cannot be read ({exc})")
            return None
        return None if row is None else tuple(row)

    @staticmethod
    def _parts(db: sqlite3.Connection, sweep: bytes, count: int, whole: bytes) -> Iterator[bytes]:
        digests = hashlib.blake2b(digest_size=16)
        n = 0
        query = "SELECT n, digest, value FROM whole_sweep_parts WHERE sweep = ? ORDER BY n"
        try:
            for index, digest, value in db.execute(query, (sweep,)):
                if index != n or _digest(value) != digest:
                    raise CorruptCache(f"part {n} of a kept sweep does not match its digest")
                digests.update(digest)
                n += 1
                yield bytes(value)
        except sqlite3.Error as exc:
            raise CorruptCache(f"a kept sweep cannot be read ({exc})") from None
        if n != count or digests.digest() != whole:
            raise CorruptCache(f"a kept sweep has {n} of its {count} parts")

    def damaged(self, reason: str) -> None:
        """The cache holds something that cannot be trusted: discarded, with a warning saying what."""
        self._restart(f"holds a damaged sweep ({reason})")

    def keep_sweep(self, sweep: bytes, identity: bytes, followed: bytes, parts: Iterable[bytes] | None) -> None:
        """A sweep's identity, with its inventory's parts (None: the identity only); in one
        transaction. A part that cannot be made (TypeError, ValueError: a value that is not JSON)
        keeps the identity only."""
        if self._db is None:
            return
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM whole_sweep_parts WHERE sweep = ?", (sweep,))
            count, whole = None, None
            if parts is not None:
                digests = hashlib.blake2b(digest_size=16)
                try:
                    for n, value in enumerate(parts):
                        digest = _digest(value)
                        digests.update(digest)
                        db.execute("INSERT INTO whole_sweep_parts VALUES (?, ?, ?, ?)", (sweep, n, digest, value))
                        count = n + 1
                    whole = digests.digest()
                except (TypeError, ValueError):  # a third-party handler's value that is not JSON
                    db.execute("DELETE FROM whole_sweep_parts WHERE sweep = ?", (sweep,))
                    count, whole = None, None
            db.execute(
                "INSERT OR REPLACE INTO whole_sweeps VALUES (?, ?, ?, ?, ?)", (sweep, identity, followed, count, whole)
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:  # as in _flush: this scan is right without it
            log.warning("file cache %s not updated: %s", self.path, exc)
            if db.in_transaction:
                db.execute("ROLLBACK")

    def finish(self, roots: Sequence[str], *, met: bool = True) -> None:
        """Write what is pending and forget files under ``roots`` this scan did not meet (removed);
        ``met`` False: the sweep was kept whole and met no file one by one (none is forgotten)."""
        log.info("file cache %s: %d files unchanged (not read), %d parsed", self.path, self.hits, self.misses)
        self._flush()
        if self._db is None:
            return
        if not met:
            self._db.close()
            self._db = None
            return
        prefixes = [os.fsencode(r.rstrip(os.sep) + os.sep) for r in roots]
        exact = {os.fsencode(r) for r in roots}
        try:
            gone = [
                (path,)
                for (path,) in self._db.execute("SELECT path FROM files")
                if path not in self._seen and (path in exact or any(path.startswith(p) for p in prefixes))
            ]
            if gone:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("DELETE FROM files WHERE path = ?", gone)
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("file cache %s not pruned: %s", self.path, exc)
        finally:
            self._db.close()
            self._db = None


def open_for(context: CollectContext, handlers: Sequence[FileHandler]) -> FileCache | None:
    """The cache a scan asked for (``--cache DIR``), or None: none asked, or passwords given."""
    directory = context.options.get(OPTION)
    if not directory or context.passwords:
        return None
    try:
        return FileCache(Path(directory), parser_version(handlers))
    except OSError as exc:
        log.warning("file cache in %s unusable, scanning without it: %s", directory, exc.strerror or exc)
        return None

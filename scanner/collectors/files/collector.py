"""The file collector: walks --path targets and hands each file to the handler that knows it.

With ``--cache DIR`` a file unchanged since the last scan is neither read nor parsed: its parse
comes from the cache (``cache.py``), and only the file asset is built again from a fresh fstat.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from scanner import plugins
from scanner.collectors.base import CollectContext, ItemProgress, Target
from scanner.collectors.files import access, cache
from scanner.collectors.files.handler import FileHandler, FileSource, ParsedFile
from scanner.collectors.package_data import package_data_reason
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Observation,
    SweepCounts,
    freeze,
)

# a certificate, key or config is small; a larger file is a disk image, a log or a database
MAX_FILE_BYTES = 10 * 1024 * 1024
_SNIFF_BYTES = 4096
# directories that never hold keys worth a scan's time, and can hold millions of files
# the most entries read from one CA directory a config names (Debian's /etc/ssl/certs holds ~300)
MAX_CA_DIRECTORY_ENTRIES = 4096
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox"})
SKIPPED_DIRS = _SKIPPED_DIRS  # the remote sweep skips the same


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


_SKIPPED = SweepCounts(examined=1, skipped=1)
_FAILED = SweepCounts(examined=1, failed=1)
_RECOGNISED = SweepCounts(examined=1, recognised=1)


@dataclass(frozen=True, slots=True)
class _FileResult:
    observations: tuple[Observation, ...]
    # files a configuration names: collected next, as "named by a config"
    follow: tuple[Path, ...] = ()
    follow_dirs: tuple[Path, ...] = ()  # CA directories a configuration names
    counts: SweepCounts = _SKIPPED


# how a configuration's reference is followed
_NAMED, _CA_DIRECTORY, _IN_CA_DIRECTORY = "named", "ca-directory", "in-ca-directory"


def _followed(result: _FileResult) -> Iterator[tuple[Path | str, str]]:
    yield from ((path, _NAMED) for path in result.follow)
    yield from ((path, _CA_DIRECTORY) for path in result.follow_dirs)


def _outcome(observations: Sequence[Observation]) -> SweepCounts:
    if any(isinstance(item, Asset) for item in observations):
        return _RECOGNISED
    if any(isinstance(item, CollectionError) for item in observations):
        return _FAILED
    return _SKIPPED  # a handler took it and found nothing (a CRL, a config with no TLS in it)


_FILE_KINDS = (
    (stat.S_ISDIR, "directory"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


FILE_KINDS = _FILE_KINDS  # how the remote sweep names a special file too


def _kind_of(info: os.stat_result) -> str:
    return next((name for test, name in _FILE_KINDS if test(info.st_mode)), "special file")


@contextmanager
def _opened(fd: int) -> Iterator[tuple[int, os.stat_result]]:
    try:
        yield fd, os.fstat(fd)
    finally:
        os.close(fd)


def _open_checked(path: str) -> AbstractContextManager[tuple[int, os.stat_result]]:
    """Open first, then judge what was opened (fstat): a path checked and then opened can be swapped.

    O_NONBLOCK: a FIFO swapped in after the stat never blocks the open; O_NOFOLLOW: a file met in
    the walk is opened as itself. A symbolic link is still followed on purpose (a link to a key is still a key, and its
    target's mode is what counts), with the same fstat check on whatever it led to.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        fd = os.open(path, flags)
    return _opened(fd)


def _read(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        try:
            chunk = os.read(fd, min(remaining, 1 << 20))
        except BlockingIOError:  # only special files block, and they are not read
            break
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class FileCollector:
    name: ClassVar[str] = "files"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"path"})

    def __init__(self, handlers: Sequence[FileHandler] | None = None) -> None:
        if handlers is None:
            handlers = [cls() for cls in plugins.load_all(plugins.FILE_HANDLERS).values()]
        self._handlers = sorted(handlers, key=lambda h: (h.priority, h.name))
        self._owners: dict[int, str] = {}
        self._cache: cache.FileCache | None = None

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        seen: set[str] = set()
        # per-file progress for a terminal's progress bar, when the observer takes it
        items = context.progress if isinstance(context.progress, ItemProgress) else None
        counts = SweepCounts()
        roots = [os.path.abspath(os.path.expanduser(t.value)) for t in targets]
        self._cache = cache.open_for(context, self._handlers)
        for target in targets:
            context.progress.target_started(self.name, target.value)
            root = os.path.abspath(os.path.expanduser(target.value))
            if not os.path.lexists(root):
                yield CollectionError(target.value, self.name, "no such file or directory")
                context.progress.target_finished(self.name, target.value, False)
                continue
            paths = [p for p in self._walk(root) if p not in seen]
            seen.update(paths)
            if items is not None:
                items.items_found(self.name, len(paths))
            # what configs name: a file (read as that one file), a CA directory, or a file in one
            follow: deque[tuple[Path | str, str]] = deque()
            for path in paths:
                result = self._collect_file(path, context, named_by_config=False)
                yield from result.observations
                counts += result.counts
                follow.extend(_followed(result))
                if items is not None:
                    items.item_done(self.name, path)
            while follow:
                item, how = follow.popleft()
                path = os.path.abspath(item)
                if path in seen:
                    continue
                seen.add(path)
                if how == _CA_DIRECTORY and os.path.isdir(path):
                    entries, problem = self._ca_directory(path)
                    yield from problem
                    follow.extend((entry, _IN_CA_DIRECTORY) for entry in entries)
                    continue
                # a file a config names outside every --path: read as that one file, and said so
                outside = not any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
                # a file in a CA directory is read like one of a walk: a README beside the certificates is no error
                named = how != _IN_CA_DIRECTORY
                result = self._collect_file(path, context, named_by_config=named, outside=outside)
                yield from result.observations
                counts += result.counts
                follow.extend(_followed(result))
            context.progress.target_finished(self.name, target.value, True)
        if self._cache is not None:
            self._cache.finish(roots)
            self._cache = None
        yield counts

    def _ca_directory(self, path: str) -> tuple[list[str], list[CollectionError]]:
        """The files directly in a CA directory a config names (Apache SSLCACertificatePath), bounded.

        Never a walk below it (`SSLCACertificatePath /` must not read the whole filesystem): its
        subdirectories are not entered, and past MAX_CA_DIRECTORY_ENTRIES names the rest is an error.
        """
        try:
            with os.scandir(path) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return [], [CollectionError(path, self.name, f"named as a CA directory, but cannot be listed: {reason}")]
        problems: list[CollectionError] = []
        if len(names) > MAX_CA_DIRECTORY_ENTRIES:
            message = (
                f"named as a CA directory, but holds {len(names)} entries; only the first "
                f"{MAX_CA_DIRECTORY_ENTRIES} by name were read"
            )
            problems.append(CollectionError(path, self.name, message))
        files = [os.path.join(path, n) for n in names[:MAX_CA_DIRECTORY_ENTRIES]]
        return [f for f in files if not os.path.isdir(f)], problems

    def _walk(self, root: str) -> Iterator[str]:
        if not os.path.isdir(root):
            yield root
            return
        errors: list[OSError] = []
        for directory, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
            for filename in sorted(filenames):
                yield os.path.join(directory, filename)
        for error in errors:
            # an unreadable directory is reported by the file step as an error naming it
            yield str(error.filename)

    def _collect_file(
        self, path: str, context: CollectContext, *, named_by_config: bool, outside: bool = False
    ) -> _FileResult:
        try:
            # a special file is never opened: opening a device can act on it (a tape rewinds on close)
            special = self._special(path, os.stat(path), named_by_config)
            if special is not None:
                return special
            opened = _open_checked(path)
        except OSError as exc:
            return self._error(path, f"cannot read file: {exc.strerror or type(exc).__name__}")
        with opened as (fd, info):
            # what was opened is judged, not what the path was a moment before (it may be swapped)
            special = self._special(path, info, named_by_config)
            if special is not None:
                return special
            if stat.S_ISDIR(info.st_mode):
                return self._error(path, "directory could not be listed")
            if info.st_size > MAX_FILE_BYTES:
                if named_by_config or self._oversize_is_error(fd, path):
                    return self._error(path, f"file is larger than {MAX_FILE_BYTES} bytes")
                return _FileResult((), counts=_SKIPPED)
            parsed = cache.MISS if self._cache is None else self._cache.lookup(path, info)
            if isinstance(parsed, cache.Miss):
                try:
                    # sized by fstat: read(n) allocates n bytes up front, and MAX_FILE_BYTES per file adds up
                    data = _read(fd, min(MAX_FILE_BYTES + 1, info.st_size + 65536))
                except OSError as exc:
                    return self._error(path, f"cannot read file: {exc.strerror or type(exc).__name__}")
                parsed = self._parse(Path(path), data, context)
                if self._cache is not None:
                    self._cache.store(path, info, parsed)

        if parsed is None:
            if named_by_config:
                return self._error(path, "named by a configuration, but its content is not recognised")
            return _FileResult((), counts=_SKIPPED)
        observations: list[Observation] = []
        if parsed.emit_file_asset:
            extra = {"outside_scanned_paths": True, "reason": "named by a configuration"} if outside else {}
            observations.append(self._file_asset(path, info, parsed, extra))
        observations.extend(parsed.observations)
        return _FileResult(tuple(observations), parsed.follow, parsed.follow_dirs, _outcome(observations))

    def _special(self, path: str, info: os.stat_result, named_by_config: bool) -> _FileResult | None:
        """The result for a FIFO, socket or device (or a directory a config names); None otherwise."""
        if named_by_config and not stat.S_ISREG(info.st_mode):
            # never walked (`ssl_certificate /;` once walked the whole filesystem), never read
            # (a FIFO blocks, a device never ends): an error that says what it is
            return self._error(path, f"named by a configuration, but is a {_kind_of(info)}, not a file")
        if stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode):
            return None
        return _FileResult((), counts=_SKIPPED)  # nothing to read

    def _parse(self, path: Path, data: bytes, context: CollectContext) -> ParsedFile | None:
        """The handler's parse of the file; None when no handler knows it."""
        handler = self._handler_for(path, data)
        if handler is None:
            return None
        try:
            # cryptography warns about malformed-but-loadable input; for a scanner that is the normal
            # case, and what matters about such a file is in its assets or its error entries
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return handler.parse(FileSource(path, data), context)
        except Exception as exc:  # handlers report per-item errors; this is a file unreadable as a whole
            text = str(exc).split("\n", 1)[0]
            error = CollectionError(str(path), self.name, f"{handler.name}: {type(exc).__name__}: {text}")
            return ParsedFile(format=handler.name, observations=(error,), emit_file_asset=False)

    # the seam for the remote collector (scanner/collectors/remote): the same dispatch, bytes read elsewhere
    def parse_content(self, path: Path, data: bytes, context: CollectContext) -> ParsedFile | None:
        return self._parse(path, data, context)

    def oversize_recognised(self, path: Path, head: bytes) -> bool:
        handler = self._sniff_head(path, head)
        return handler is not None and bool(getattr(handler, "oversize_is_error", False))

    def _error(self, path: str, message: str) -> _FileResult:
        return _FileResult((CollectionError(path, self.name, message),), counts=_FAILED)

    def _oversize_is_error(self, fd: int, path: str) -> bool:
        """A huge file whose head a config handler recognises is reported; other huge files are skipped.

        Only files over the limit pay for this one extra 4 KiB read, so a large walk stays cheap.
        """
        try:
            head = os.pread(fd, _SNIFF_BYTES, 0)
        except OSError:
            return True  # unreadable and over the limit: an error naming it, not a silent skip
        handler = self._sniff_head(Path(path), head)
        return handler is not None and bool(getattr(handler, "oversize_is_error", False))

    def _handler_for(self, path: Path, data: bytes) -> FileHandler | None:
        """The first handler whose sniff knows the head; else one that finds its format further in."""
        handler = self._sniff_head(path, data[:_SNIFF_BYTES])
        if handler is not None or len(data) <= _SNIFF_BYTES:
            return handler
        for candidate in self._handlers:
            sniff_whole = getattr(candidate, "sniff_whole", None)
            try:
                if sniff_whole is not None and sniff_whole(path, data):
                    return candidate
            except Exception:  # as below: a faulty sniff must not stop the walk
                continue
        return None

    def _sniff_head(self, path: Path, head: bytes) -> FileHandler | None:
        for handler in self._handlers:
            try:
                if handler.sniff(path, head):
                    return handler
            except Exception:  # a faulty third-party sniff must not stop the walk
                continue
        return None

    def _file_asset(
        self, path: str, info: os.stat_result, parsed: ParsedFile, extra: dict[str, object] | None = None
    ) -> Asset:
        owner = self._owners.get(info.st_uid)
        if owner is None:
            owner = self._owners[info.st_uid] = _owner(info.st_uid)
        properties = {
            "path": path,
            "format": parsed.format,
            "mode": format(stat.S_IMODE(info.st_mode), "04o"),
            "owner": owner,
            "size": info.st_size,
            **parsed.file_properties,
            **(extra or {}),
        }
        if parsed.file_properties.get("contains_plaintext_private_key"):
            # who else can read it, and whether a package shipped it: see private_key_permissions
            if info.st_mode & 0o040:
                properties.update(access.facts(path, info))
            shipped = package_data_reason(path)
            if shipped is not None:
                properties["package_data_reason"] = shipped
        return Asset(
            id=f"file:{path}",
            type=AssetType.FILE,
            properties=freeze(properties),
            locations=(Location("file", path),),
        )

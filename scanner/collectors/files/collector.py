"""The file collector: walks --path targets and hands each file to the handler that knows it.

With ``--cache DIR`` a file unchanged since the last scan is neither read nor parsed: its parse
comes from the cache (``cache.py``), and only the file asset is built again from a fresh stat.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import pwd
import stat
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from scanner import plugins
from scanner.collectors.base import CollectContext, ItemProgress, Target
from scanner.collectors.files import access, cache, mounts, pool, whole
from scanner.collectors.files.handler import FileHandler, FileSource, ParsedFile
from scanner.collectors.files.named import NamedFiles
from scanner.collectors.package_data import package_data_reason
from scanner.inventory import codec, trust
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    FrozenProperties,
    Location,
    Observation,
    Relation,
    SweepCounts,
)

log = logging.getLogger(__name__)

# a certificate, key or config is small; a larger file is a disk image, a log or a database
MAX_FILE_BYTES = 10 * 1024 * 1024
_SNIFF_BYTES = 4096
# a file is read this far first; past it only when a handler knows its head or may find its format
# further in: /usr's libraries and images were read whole (2.3 of a 14 s sweep) to be found unknown
_FIRST_READ_BYTES = 65536
# directories that never hold keys worth a scan's time, and can hold millions of files
# the most entries read from one CA directory a config names (Debian's /etc/ssl/certs holds ~300)
MAX_CA_DIRECTORY_ENTRIES = 4096
# the collect option with the number of worker processes (`keysweep scan --workers N`); unset: one per
# usable core for a walk of at least pool.MIN_FILES files, else this process alone
WORKERS_OPTION = "file_workers"
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
    # why the file could not be opened or read (missing, permission denied), when that is the result
    unreadable: str | None = None


@dataclass(frozen=True, slots=True)
class _Reached:
    """One real file and every path the sweep reached it by: a symlink is another path to its target.

    It is read and parsed once, by its own path when the sweep met it, else by the first link to it;
    its ``file:`` id is the real path, and each path it was reached by is a location.
    """

    real: str
    paths: tuple[str, ...]  # in walk order

    @property
    def path(self) -> str:
        return self.real if self.real in self.paths else self.paths[0]


def _real_path(path: str) -> str:
    """``os.path.realpath``, or the path itself when a link on the way cannot be read (readlink of
    another user's /proc/<pid>/cwd is refused, even to root without ptrace rights): the walk goes
    on, and the file step names the path and why it could not be opened."""
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.abspath(path)


def _grouped(walked: Sequence[tuple[str, str]]) -> list[_Reached]:
    """(path, real path) pairs as one entry per real file, in the order each was first met."""
    paths: dict[str, list[str]] = {}
    for path, real in walked:
        paths.setdefault(real, []).append(path)
    return [_Reached(real, tuple(found)) for real, found in paths.items()]


# what reading one file gave: its final result (an error, a skip), or its fstat and parse (None: not known)
_Read = _FileResult | tuple[os.stat_result, ParsedFile | None]

# how a configuration's reference is followed
_NAMED, _CA_DIRECTORY, _IN_CA_DIRECTORY = "named", "ca-directory", "in-ca-directory"


def _followed(result: _FileResult) -> Iterator[tuple[tuple[str, ...] | Path, str]]:
    yield from ((path, _NAMED) for path in result.follow)
    yield from ((path, _CA_DIRECTORY) for path in result.follow_dirs)


def _total(tally: Sequence[SweepCounts]) -> SweepCounts:
    return SweepCounts(
        sum(c.examined for c in tally),
        sum(c.recognised for c in tally),
        sum(c.skipped for c in tally),
        sum(c.failed for c in tally),
    )


def _outcome(observations: Sequence[Observation]) -> SweepCounts:
    failed = False
    for item in observations:  # a loop, not any(): this runs for every file of a sweep
        if isinstance(item, Asset):
            return _RECOGNISED
        failed = failed or isinstance(item, CollectionError)
    # else a handler took it and found nothing (a CRL, a config with no TLS in it)
    return _FAILED if failed else _SKIPPED


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
        self._modes: dict[int, str] = {}  # st_mode -> "0644"
        self._cache: cache.FileCache | None = None
        # the kernel's virtual filesystems a walk does not enter (mounts.py)
        self._left_out = mounts.LeftOut({})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        roots = [os.path.abspath(os.path.expanduser(t.value)) for t in targets]
        self._cache = cache.open_for(context, self._handlers)
        directories: list[str] = []  # every directory the walks listed
        self._left_out = mounts.LeftOut(mounts.this_systems_virtual_mounts())
        walks = [list(self._walk(root, directories)) if os.path.lexists(root) else None for root in roots]
        if note := self._left_out.note():
            log.info("%s", note)
        graph = context.graph if context.graph is not None and context.graph.is_empty() else None
        kept = None if graph is None else self._kept_sweep(roots, context, walks, directories)
        if kept is not None and graph is not None and self._failing_alike(kept.failed) and kept.restore(graph):
            for target, walk in zip(targets, walks, strict=True):
                context.progress.target_started(self.name, target.value)
                context.progress.target_finished(self.name, target.value, walk is not None)
            self._finish_cache(roots, met=False)
            return
        followed: list[str] = []  # what configurations named: part of the sweep's identity
        failed: list[tuple[str, str]] = []  # what could not be opened or listed, and why
        yield from self._sweep(targets, context, roots, walks, followed, failed)
        if kept is not None:
            # the graph holds what this sweep yielded, and nothing else (it was empty before)
            kept.keep(followed, failed, graph)
        self._finish_cache(roots, met=True)

    @staticmethod
    def _failing_alike(failed: Sequence[tuple[str, str]]) -> bool:
        """Whether each file that could not be opened, or directory listed, by the kept sweep still
        cannot, for the same reason: a passing fault (a busy mount, an I/O error) is tried again, as
        the file cache never keeps a file it could not read. Nothing is read, only opened or listed;
        a file that opens now (one whose read failed half-way, too) sends the tree file by file."""
        for path, reason in failed:
            try:
                info = os.stat(path)
                if stat.S_ISDIR(info.st_mode):
                    with os.scandir(path):
                        return False
                if not stat.S_ISREG(info.st_mode):
                    return False  # something else now: never opened (a device acts on open)
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY))
                return False
            except OSError as exc:
                now = _DIRECTORY_UNLISTED if os.path.isdir(path) else _unreadable(path, exc)
            if now != reason:
                return False
        return True

    def _kept_sweep(
        self,
        roots: Sequence[str],
        context: CollectContext,
        walks: Sequence[Sequence[tuple[str, str]] | None],
        directories: Sequence[str],
    ) -> whole.KeptSweep | None:
        """The sweep kept whole in the cache for these targets (see whole.py), when one may be."""
        if self._cache is None:
            return None
        key = whole.sweep_key(roots, context, self._cache.version)
        if key is None:
            return None
        met = [path for walk in walks if walk is not None for path, _ in walk]
        return whole.KeptSweep(self._cache, key, whole.identity([*met, *directories], extra=walks))

    def _finish_cache(self, roots: Sequence[str], *, met: bool) -> None:
        if self._cache is not None:
            self._cache.finish(roots, met=met)
            self._cache = None

    def _sweep(
        self,
        targets: Sequence[Target],
        context: CollectContext,
        roots: Sequence[str],
        walks: Sequence[Sequence[tuple[str, str]] | None],
        followed: list[str],
        failed: list[tuple[str, str]],
    ) -> Iterator[Observation]:
        """Every target's files one by one (``walks``: each target's walk, None for a missing one);
        the paths configurations name are added to ``followed``, and what could not be opened or
        listed to ``failed`` with the reason."""
        seen: set[str] = set()
        done: set[str] = set()  # real paths read so far
        # per-file progress for a terminal's progress bar, when the observer takes it
        items = context.progress if isinstance(context.progress, ItemProgress) else None
        # each file's counts, added once at the end (not a new SweepCounts per file)
        tally: list[SweepCounts] = []
        # who names each file a config names: a missing one is reported with them, or not at all
        namers = NamedFiles(self.name)
        for target, walk in zip(targets, walks, strict=True):
            context.progress.target_started(self.name, target.value)
            if walk is None:
                yield CollectionError(target.value, self.name, "no such file or directory")
                context.progress.target_finished(self.name, target.value, False)
                continue
            walked = [(p, real) for p, real in walk if p not in seen]
            seen.update(p for p, _ in walked)
            groups = _grouped(walked)
            if items is not None:
                items.items_found(self.name, len(groups))
            # what configs name: files (read as that one file), a CA directory, or files in one
            follow: deque[tuple[tuple[str, ...] | Path, str]] = deque()
            for group, result in zip(groups, self._collect_walked(groups, context), strict=True):
                yield from result.observations
                if result.unreadable is not None:
                    failed.append((group.path, result.unreadable))
                # a file met again by another path (another --path, a config naming a link to it) is
                # one file: its new path is a location, and it is counted once
                if group.real not in done:
                    tally.append(result.counts)
                done.add(group.real)
                if result.follow or result.follow_dirs:
                    follow.extend(_followed(result))
                    namers.note(result.observations)
                if items is not None:
                    items.item_done(self.name, group.path)
            while follow:
                item, how = follow.popleft()
                paths = tuple(os.path.abspath(p) for p in item) if isinstance(item, tuple) else (os.path.abspath(item),)
                paths = tuple(p for p in paths if p not in seen)
                if not paths:
                    continue
                seen.update(paths)
                followed.extend(paths)
                if how == _CA_DIRECTORY and os.path.isdir(paths[0]):
                    entries, problem, unlisted = self._ca_directory(paths[0])
                    if unlisted is not None:
                        namers.unreadable(paths[0], unlisted)
                    yield from problem
                    follow.extend((entry, _IN_CA_DIRECTORY) for entry in entries)
                    continue
                group = _Reached(_real_path(paths[0]), paths)
                # a file a config names outside every --path: read as that one file, and said so
                outside = not any(_under(group.path, r) for r in roots)
                # a file in a CA directory is read like one of a walk: a README beside the certificates is no error
                named = how != _IN_CA_DIRECTORY
                result = self._collect_file(group, context, named_by_config=named, outside=outside)
                if result.unreadable is not None:
                    failed.append((group.path, result.unreadable))
                if named and result.unreadable is not None:
                    # reported at the end, once every config naming it is known, and counted there
                    namers.unreadable(group.path, result.unreadable)
                    done.add(group.real)
                    continue
                yield from result.observations
                if group.real not in done:
                    tally.append(result.counts)
                done.add(group.real)
                if result.follow or result.follow_dirs:
                    follow.extend(_followed(result))
                    namers.note(result.observations)
            context.progress.target_finished(self.name, target.value, True)
        # named files that could not be read: errors when a config in effect names them, and
        # missing_references on every config naming them
        for outcome in namers.finish():
            if isinstance(outcome, SweepCounts):
                tally.append(outcome)
            else:
                yield outcome
        yield _total(tally)

    def _ca_directory(self, path: str) -> tuple[list[tuple[str, ...]], list[CollectionError], str | None]:
        """The files directly in a CA directory a config names (Apache SSLCACertificatePath), bounded.

        Never a walk below it (`SSLCACertificatePath /` must not read the whole filesystem): its
        subdirectories are not entered, and past MAX_CA_DIRECTORY_ENTRIES names the rest is an error.
        Links to one file (``<hash>.0 -> name.pem``) come as one group: the file is read once.
        The last value says why the directory could not be listed (None when it was).
        """
        try:
            with os.scandir(path) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return [], [], f"named as a CA directory, but cannot be listed: {reason}"
        problems: list[CollectionError] = []
        if len(names) > MAX_CA_DIRECTORY_ENTRIES:
            message = (
                f"named as a CA directory, but holds {len(names)} entries; only the first "
                f"{MAX_CA_DIRECTORY_ENTRIES} by name were read"
            )
            problems.append(CollectionError(path, self.name, message))
        files = [os.path.join(path, n) for n in names[:MAX_CA_DIRECTORY_ENTRIES]]
        groups = _grouped([(f, _real_path(f)) for f in files if not os.path.isdir(f)])
        return [group.paths for group in groups], problems, None

    def _walk(self, root: str, directories: list[str]) -> Iterator[tuple[str, str]]:
        """(path, real path) of each file below root, depth first and sorted, directory links not
        entered; each directory listed is added to ``directories``."""
        real_root = _real_path(root)
        left_out = self._left_out
        if not os.path.isdir(root):
            yield root, real_root
            return
        errors: list[str] = []
        stack = [root]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError:
                # an unreadable directory is reported by the file step as an error naming it
                errors.append(directory)
                continue
            directories.append(directory)
            # below root no directory link is followed, so a real path is the real root plus the rest
            real_dir = real_root + directory[len(root) :]
            subdirs: list[str] = []
            for entry in entries:
                if entry.is_symlink():
                    # a link to a file is that file, reached once more; one to a directory is not walked
                    # (its files are reached through their own paths, and a loop never ends)
                    if not os.path.isdir(entry.path):  # False for a loop or a dangling link
                        yield entry.path, _real_path(entry.path)
                elif entry.is_dir():
                    # /proc, /sys, an autofs mount point are not entered: see mounts.py
                    if entry.name in _SKIPPED_DIRS:
                        continue
                    if left_out.enters(os.path.join(real_dir, entry.name), entry.path):
                        subdirs.append(entry.path)
                else:
                    yield entry.path, os.path.join(real_dir, entry.name)
            stack.extend(reversed(subdirs))
        for error in errors:
            yield error, _real_path(error)

    def _collect_walked(self, groups: Sequence[_Reached], context: CollectContext) -> Iterator[_FileResult]:
        """The results of walked files in walk order: in this process, or read by a pool of workers."""
        asked = context.options.get(WORKERS_OPTION)
        workers = int(asked) if asked else (pool.usable_cores() if len(groups) >= pool.MIN_FILES else 1)
        if workers <= 1 or multiprocessing.current_process().daemon:  # a daemon process may not fork a pool
            for start in range(0, len(groups), pool.CHUNK):
                chunk = groups[start : start + pool.CHUNK]
                for group, cached in zip(chunk, self._cached_many(chunk), strict=True):
                    if cached is None:
                        yield self._collect_file(group, context, named_by_config=False, cached=False)
                    else:
                        yield self._finish(group, cached, named_by_config=False, outside=False)
            return
        chunks: deque[tuple[Sequence[_Reached], dict[int, _Read]]] = deque()

        def batches() -> Iterator[list[str]]:
            # the parent answers from the cache; only the files to read go to the workers
            for start in range(0, len(groups), pool.CHUNK):
                chunk = groups[start : start + pool.CHUNK]
                hits: dict[int, _Read] = {
                    i: read for i, read in enumerate(self._cached_many(chunk)) if read is not None
                }
                chunks.append((chunk, hits))
                yield [group.path for i, group in enumerate(chunk) if i not in hits]

        with pool.FilePool(lambda path: self._answer(path, context), workers) as files:
            for answers in files.answers(batches()):
                chunk, hits = chunks.popleft()
                remaining = iter(answers)
                for i, group in enumerate(chunk):
                    read = hits[i] if i in hits else self._from_answer(group.path, next(remaining), context)
                    yield self._finish(group, read, named_by_config=False, outside=False)

    def _answer(self, path: str, context: CollectContext) -> pool.Answer:
        """In a worker: one walked file read and parsed, as compact values (see pool.py)."""
        read = self._read_parse(path, context, named_by_config=False)
        if isinstance(read, _FileResult):
            return ("done", pool.encode_error(read.observations), codec.encode(read.counts))
        info, parsed = read
        try:
            value = cache.encode(parsed, path)
        except (TypeError, ValueError):
            return ("local",)  # a third-party handler's value that is not JSON: parsed in the parent
        return ("parsed", pool.stat_fields(info), value)

    def _from_answer(self, path: str, answer: pool.Answer, context: CollectContext) -> _Read:
        """In the parent: a worker's answer as the read step's value, stored in the cache as a parse made here."""
        if answer[0] == "done":
            counts = codec.decode(answer[2])
            observations = tuple(codec.decode(item) for item in answer[1])
            return _FileResult(observations, counts=counts if isinstance(counts, SweepCounts) else _FAILED)
        if answer[0] == "failed":
            return self._error(path, str(answer[1]))
        if answer[0] == "parsed":
            info = os.stat_result(answer[1])
            try:
                parsed = cache.decode(answer[2], path)
            except cache.CorruptCache:
                pass  # never expected of a worker's own encoding: read again here
            else:
                if self._cache is not None:
                    self._cache.store_encoded(path, info, answer[2])
                return info, parsed
        read = self._read_parse(path, context, named_by_config=False)
        if self._cache is not None and not isinstance(read, _FileResult):
            self._cache.store(path, *read)
        return read

    def _collect_file(
        self,
        group: _Reached,
        context: CollectContext,
        *,
        named_by_config: bool,
        outside: bool = False,
        cached: bool = True,
    ) -> _FileResult:
        """One file's result: from the cache when unchanged (unless ``cached`` is False: asked already)."""
        read: _Read | None = self._cached_many([group])[0] if cached else None
        if read is None:
            read = self._read_parse(group.path, context, named_by_config)
            if self._cache is not None and not isinstance(read, _FileResult):
                self._cache.store(group.path, *read)
        return self._finish(group, read, named_by_config=named_by_config, outside=outside)

    def _cached_many(self, groups: Sequence[_Reached]) -> list[tuple[os.stat_result, ParsedFile | None] | None]:
        """Each regular file's parse from the cache when its identity is unchanged (neither opened nor
        read), else None; one cache query for them all."""
        if self._cache is None:
            return [None] * len(groups)
        found: list[tuple[os.stat_result, ParsedFile | None] | None] = [None] * len(groups)
        asked: list[tuple[int, str, os.stat_result]] = []
        for n, group in enumerate(groups):
            try:
                info = os.stat(group.path)
            except OSError:
                continue  # the read step reports it
            if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FILE_BYTES:
                asked.append((n, group.path, info))
        answers = self._cache.lookup_many([(path, info) for _, path, info in asked])
        for (n, _, info), parsed in zip(asked, answers, strict=True):
            if not isinstance(parsed, cache.Miss):
                found[n] = (info, parsed)
        return found

    def _read_parse(self, path: str, context: CollectContext, named_by_config: bool) -> _Read:
        """Open, judge, read and parse one file: its final result (an error, a skip), or (fstat, parse)."""
        try:
            # a special file is never opened: opening a device can act on it (a tape rewinds on close)
            special = self._special(path, os.stat(path), named_by_config)
            if special is not None:
                return special
            opened = _open_checked(path)
        except OSError as exc:
            return self._unreadable_result(path, _unreadable(path, exc))
        with opened as (fd, info):
            # what was opened is judged, not what the path was a moment before (it may be swapped)
            special = self._special(path, info, named_by_config)
            if special is not None:
                return special
            if stat.S_ISDIR(info.st_mode):
                return self._unreadable_result(path, _DIRECTORY_UNLISTED)
            if info.st_size > MAX_FILE_BYTES:
                if named_by_config or self._oversize_is_error(fd, path):
                    return self._error(path, f"file is larger than {MAX_FILE_BYTES} bytes")
                return _FileResult((), counts=_SKIPPED)
            try:
                # sized by fstat: read(n) allocates n bytes up front, and MAX_FILE_BYTES per file adds up
                limit = min(MAX_FILE_BYTES + 1, info.st_size + 65536)
                data = _read(fd, min(limit, _FIRST_READ_BYTES))
                handler = None
                more = len(data) == _FIRST_READ_BYTES < limit
                if more:  # read on only if a handler knows the head or may find its format further in
                    handler = self._sniff_head(Path(path), data[:_SNIFF_BYTES])
                    if handler is None and not self._may_find_further(data[:_SNIFF_BYTES]):
                        return info, None  # a large binary no handler knows (a library, an image)
                    data += _read(fd, limit - len(data))
            except OSError as exc:
                return self._unreadable_result(path, f"cannot read file: {exc.strerror or type(exc).__name__}")
        if not more:  # the whole file in one read: the usual case
            return info, self._parse(Path(path), data, context)
        handler = handler or self._sniff_further(Path(path), data)  # the head was sniffed above
        return info, None if handler is None else self._parsed_by(handler, Path(path), data, context)

    def _finish(
        self,
        group: _Reached,
        read: _Read,
        *,
        named_by_config: bool,
        outside: bool,
    ) -> _FileResult:
        if isinstance(read, _FileResult):
            return read
        info, parsed = read
        if parsed is None:
            if named_by_config:
                return self._error(group.path, "named by a configuration, but its content is not recognised")
            return _FileResult((), counts=_SKIPPED)
        # shaped for speed: this runs for every recognised file, a cache hit or a worker's answer
        paths = group.paths
        plain = len(paths) == 1 and paths[0] == group.real  # _plain(group), without the call
        found = parsed.observations if plain else _as_reached(group, parsed)
        if not parsed.emit_file_asset:
            return _FileResult(tuple(found), parsed.follow, parsed.follow_dirs, _outcome(found))
        extra: dict[str, object] | None = None
        if outside:
            extra = {"outside_scanned_paths": True, "reason": "named by a configuration"}
        if not plain and len(found) > len(parsed.observations):  # trust stores by the links' locations
            extra = {**extra, "trust_store": True} if extra else {"trust_store": True}
        # the file asset comes first: an asset, so the file is recognised (what _outcome would say)
        observations = (self._file_asset(group, info, parsed, extra), *found)
        return _FileResult(observations, parsed.follow, parsed.follow_dirs, _RECOGNISED)

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
        return None if handler is None else self._parsed_by(handler, path, data, context)

    def _parsed_by(self, handler: FileHandler, path: Path, data: bytes, context: CollectContext) -> ParsedFile:
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

    def _unreadable_result(self, path: str, message: str) -> _FileResult:
        """A file that could not be opened or read: an error (a file a config names: see named.py)."""
        return _FileResult((CollectionError(path, self.name, message),), counts=_FAILED, unreadable=message)

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
        return self._sniff_head(path, data[:_SNIFF_BYTES]) or self._sniff_further(path, data)

    def _sniff_further(self, path: Path, data: bytes) -> FileHandler | None:
        """A handler that finds its format past the head, in a file no sniff knew by its head."""
        if len(data) <= _SNIFF_BYTES:
            return None
        for candidate in self._handlers:
            sniff_whole = getattr(candidate, "sniff_whole", None)
            try:
                if sniff_whole is not None and sniff_whole(path, data):
                    return candidate
            except Exception:  # as below: a faulty sniff must not stop the walk
                continue
        return None

    def _may_find_further(self, head: bytes) -> bool:
        """Whether a handler's ``sniff_whole`` may claim a file beginning with ``head`` that no sniff
        claimed (see FileHandler): else the rest of a large file is never read."""
        for handler in self._handlers:
            if getattr(handler, "sniff_whole", None) is None:
                continue
            further = getattr(handler, "may_find_further", None)
            try:
                if further is None or further(head):
                    return True
            except Exception:  # a faulty third-party method: read the file whole, as without it
                return True
        return False

    def _sniff_head(self, path: Path, head: bytes) -> FileHandler | None:
        for handler in self._handlers:
            try:
                if handler.sniff(path, head):
                    return handler
            except Exception:  # a faulty third-party sniff must not stop the walk
                continue
        return None

    def _file_asset(
        self, group: _Reached, info: os.stat_result, parsed: ParsedFile, extra: dict[str, object] | None = None
    ) -> Asset:
        # shaped for speed: built for every recognised file, cache hit or not
        path = group.real
        owner = self._owners.get(info.st_uid)
        if owner is None:
            owner = self._owners[info.st_uid] = _owner(info.st_uid)
        mode = self._modes.get(info.st_mode)
        if mode is None:
            mode = self._modes[info.st_mode] = format(stat.S_IMODE(info.st_mode), "04o")
        properties: dict[str, Any] = {
            "path": path,
            "format": parsed.format,
            "mode": mode,
            "owner": owner,
            "size": info.st_size,
        }
        file_properties = parsed.file_properties
        if file_properties:
            properties.update(file_properties)
        if extra:
            properties.update(extra)
        if file_properties.get("contains_plaintext_private_key") and info.st_mode & 0o040:
            # who else can read it: see private_key_permissions
            properties.update(access.facts(path, info))
        if parsed.observations:
            # whether a package shipped it (documentation, examples, test fixtures, an unchanged
            # package file): what is found only there is judged as such (scanner.inventory.trust)
            shipped = package_data_reason(path)
            if shipped is not None:
                properties["package_data_reason"] = shipped
        paths = group.paths
        return Asset(
            id=f"file:{path}",
            type=AssetType.FILE,
            properties=FrozenProperties(properties),
            locations=(Location("file", paths[0]),) if len(paths) == 1 else tuple(Location("file", p) for p in paths),
        )


def _plain(group: _Reached) -> bool:
    """A file reached once, by its real path: its parse is its report as it is."""
    return len(group.paths) == 1 and group.paths[0] == group.real


def _as_reached(group: _Reached, parsed: ParsedFile) -> list[Asset | Relation | CollectionError]:
    """A parse made by one path, told for every path the file was reached by.

    A location at the parsed path becomes one per path; a relation to the parsed path's file asset
    goes to the real one; each link that a trust location makes a store (``/etc/ssl/certs/<hash>.0``
    -> ``/usr/share/ca-certificates/...``) makes that store too, as the crypto handler does by path.
    """
    parsed_at, file_id, real_id = group.path, f"file:{group.path}", f"file:{group.real}"
    out: list[Asset | Relation | CollectionError] = []
    certificates: list[Asset] = []
    for item in parsed.observations:
        if isinstance(item, Asset):
            if any(loc.ref == parsed_at for loc in item.locations):
                locations: list[Location] = []
                for loc in item.locations:
                    if loc.kind == "file" and loc.ref == parsed_at:
                        locations.extend(Location("file", p, loc.detail) for p in group.paths)
                    else:
                        locations.append(loc)
                item = replace(item, locations=tuple(dict.fromkeys(locations)))
            if item.type == AssetType.CERTIFICATE:
                certificates.append(item)
        elif isinstance(item, Relation) and file_id in (item.source, item.target):
            item = replace(
                item,
                source=real_id if item.source == file_id else item.source,
                target=real_id if item.target == file_id else item.target,
            )
        out.append(item)
    if certificates and not parsed.file_properties.get("contains_private_key"):
        for path in group.paths:
            if path != parsed_at:
                out.extend(trust.for_file(path, certificates))
    return out


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


_DIRECTORY_UNLISTED = "directory could not be listed"


def _unreadable(path: str, exc: OSError) -> str:
    message = f"cannot read file: {exc.strerror or type(exc).__name__}"
    if os.path.islink(path):  # a dangling link, a loop: say where it leads
        try:
            return f"{message} (a symbolic link to {os.readlink(path)!r})"
        except OSError:
            pass
    return message

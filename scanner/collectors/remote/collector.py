"""The agentless remote collector: --remote USER@HOST[:PORT]:PATH[,PATH...] swept over SFTP.

Per host: one SSH login (strict known_hosts, key auth: session.py), then a walk of the paths as the
local sweep walks them (the same skipped directories, size limit and special-file rule; symbolic
links to directories are not entered, so a link loop is no loop), each file read once and given to
the same handlers by the same dispatch as a local sweep (``FileCollector.parse_content``), with the
handlers' own reads (includes, server roots) sent through the SFTP filesystem (``files/fs.py``).
Nothing is written and, without --remote-exec, no command is run on the host.
"""

from __future__ import annotations

import logging
import os
import posixpath
import stat
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import fs, mounts
from scanner.collectors.files.collector import (
    FILE_KINDS,
    MAX_CA_DIRECTORY_ENTRIES,
    MAX_FILE_BYTES,
    SKIPPED_DIRS,
    FileCollector,
)
from scanner.collectors.files.fs import FileInfo
from scanner.collectors.files.handler import ParsedFile
from scanner.collectors.files.named import NamedFiles
from scanner.collectors.remote import IDENTITY_ENV, KNOWN_HOSTS_ENV, PASSPHRASE_ENV, remote_exec
from scanner.collectors.remote.naming import RemoteNames
from scanner.collectors.remote.session import Credentials, RemoteError, Session
from scanner.collectors.remote.sftpfs import Fetched, SftpFileSystem
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Observation, SweepCounts, freeze
from scanner.secrets import secret_from_env
from scanner.targets import RemoteSpec, TargetError, parse_remote

log = logging.getLogger(__name__)

NAME = "remote"
_SNIFF_BYTES = 4096
# files read in one round of concurrent SFTP requests (sftp-server answers them in order, pipelined)
_BATCH_FILES = 32
_BATCH_BYTES = 16 * 1024 * 1024
_SKIPPED = SweepCounts(examined=1, skipped=1)
_FAILED = SweepCounts(examined=1, failed=1)
_RECOGNISED = SweepCounts(examined=1, recognised=1)


def _kind_of(mode: int) -> str:
    return next((name for test, name in FILE_KINDS if test(mode)), "special file")


def credentials(options: Any) -> Credentials:
    """From the scan's options; else (a distributed sweep's worker, to which the coordinator's
    options and secrets never travel) from the worker's own environment."""
    identity = options.get("ssh_identity") or os.environ.get(IDENTITY_ENV)
    known = options.get("ssh_known_hosts") or os.environ.get(KNOWN_HOSTS_ENV)
    passphrase = options.get("ssh_passphrase") if "ssh_passphrase" in options else secret_from_env(PASSPHRASE_ENV)
    return Credentials(
        identity=Path(identity) if identity else None,
        passphrase=passphrase,
        known_hosts=Path(known) if known else None,
    )


@dataclass
class _Result:
    observations: list[Observation]
    counts: SweepCounts
    follow: tuple[Path, ...] = ()
    follow_dirs: tuple[Path, ...] = ()
    # why the file could not be stat'ed or read (missing, permission denied), when that is the result
    unreadable: str | None = None


class RemoteCollector:
    name: ClassVar[str] = NAME
    target_kinds: ClassVar[frozenset[str]] = frozenset({"remote"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        counts = SweepCounts()
        for target in targets:
            context.progress.target_started(self.name, target.value)
            try:
                spec = parse_remote(target.value)
            except TargetError as exc:
                yield CollectionError(target.value, self.name, str(exc))
                context.progress.target_finished(self.name, target.value, False)
                continue
            host = _HostSweep(spec, target, context)
            yield from host.run()
            counts += host.counts
            context.progress.target_finished(self.name, target.value, host.ok)
        yield counts


class _HostSweep:
    """One host: log in, walk, read, parse, follow what configs name; errors are values."""

    def __init__(self, spec: RemoteSpec, target: Target, context: CollectContext) -> None:
        self.spec, self.target, self.context = spec, target, context
        self.names = RemoteNames(spec)
        self.counts = SweepCounts()
        self.ok = False
        # fresh handlers per host: what they cache (server roots, the installed server's version)
        # belongs to that host
        self.files = FileCollector()
        self.seen: set[str] = set()
        # who names each file a config names, as a local sweep keeps it (files/named.py)
        self.namers = NamedFiles(NAME)
        # the host's virtual filesystems a walk does not enter (files/mounts.py)
        self.left_out = mounts.LeftOut({})

    def _error(self, path: str, message: str) -> CollectionError:
        return CollectionError(self.names.url(path), NAME, message)

    def run(self) -> Iterator[Observation]:
        session = Session(self.spec, self.context.timeout)
        try:
            try:
                session.open(credentials(self.context.options))
            except RemoteError as exc:
                yield CollectionError(self.target.value, NAME, f"{self.spec.endpoint}: {exc}")
                return
            self.ok = True
            sfs = SftpFileSystem(session)
            self.left_out = mounts.LeftOut(self._virtual_mounts(sfs))
            for root in self.spec.paths:
                yield from self._root(sfs, root)
                if session.broken is not None:
                    break
            if note := self.left_out.note():
                log.info("%s: %s", self.spec.endpoint, note)
            if session.broken is None and self.context.options.get("remote_exec"):
                with fs.using(sfs):  # collected inside, yielded outside: the seam never spans a yield
                    executed = list(remote_exec.observations(session, self.context))
                yield from (self.names.observation(o) for o in executed)
            if session.broken is not None:
                self.ok = False
                yield CollectionError(self.target.value, NAME, f"{self.spec.endpoint}: {session.broken}")
            else:
                yield from self._named_outcomes()
        finally:
            session.close()

    @staticmethod
    def _virtual_mounts(sfs: SftpFileSystem) -> dict[str, str]:
        """The host's virtual filesystems, from the mount table its SFTP server sees; none where it
        cannot be read (not Linux): then each is walked, as before."""
        try:
            return mounts.virtual_mounts(sfs.read(mounts.MOUNTINFO, 1 << 20))
        except OSError:
            return {}

    def _named_outcomes(self) -> Iterator[Observation]:
        """Named files that could not be read: errors when a config in effect names them, and
        missing_references on every config naming them (decided once every config is known)."""
        for outcome in self.namers.finish():
            if isinstance(outcome, SweepCounts):
                self.counts += outcome
            elif isinstance(outcome, CollectionError):
                yield self.names.observation(outcome)  # its target as ssh://HOST/PATH
            else:
                yield outcome  # a config asset as noted: already named for this host

    def _root(self, sfs: SftpFileSystem, root: str) -> Iterator[Observation]:
        root = posixpath.normpath(root)
        try:
            info = sfs.stat(root)
        except OSError as exc:
            if sfs.broken:
                return
            yield self._error(root, f"cannot read: {exc.strerror or exc}")
            return
        follow: deque[tuple[Path, str]] = deque()
        walked = list(self._walk(sfs, root)) if stat.S_ISDIR(info.st_mode) else [(root, info, None)]
        prefetched: dict[str, Fetched] = {}
        fetched_until = 0
        for index, (path, found, unlisted) in enumerate(walked):
            if index >= fetched_until:
                prefetched, fetched_until = _prefetch(sfs, walked, index)
            if unlisted is not None:
                self.counts += _FAILED
                yield self._error(path, unlisted)
                continue
            if path in self.seen:
                continue
            self.seen.add(path)
            stated, data = prefetched.pop(path, (found, None))
            result = self._file(sfs, path, stated, named=False, outside=False, data=data)
            yield from self._emit(result, sfs, follow)
            if sfs.broken:
                return
        while follow:
            item, how = follow.popleft()
            path = posixpath.normpath(str(item))
            if path in self.seen:
                continue
            self.seen.add(path)
            if how == "ca-directory" and _isdir(sfs, path):
                yield from self._ca_directory(sfs, path, follow)
                continue
            outside = not any(path == r or path.startswith(r.rstrip("/") + "/") for r in self.spec.paths)
            named = how != "in-ca-directory"
            result = self._file(sfs, path, None, named=named, outside=outside)
            if named and result.unreadable is not None and not sfs.broken:
                self.namers.unreadable(path, result.unreadable)  # reported at the end of the host
                continue
            yield from self._emit(result, sfs, follow)
            if sfs.broken:
                return

    def _emit(self, result: _Result, sfs: SftpFileSystem, follow: deque[tuple[Path, str]]) -> Iterator[Observation]:
        if sfs.broken:  # the host-level error says it once
            return
        self.counts += result.counts
        yield from result.observations
        if result.follow or result.follow_dirs:
            follow.extend((p, "named") for p in result.follow)
            follow.extend((p, "ca-directory") for p in result.follow_dirs)
            self.namers.note(result.observations)

    def _ca_directory(self, sfs: SftpFileSystem, path: str, follow: deque[tuple[Path, str]]) -> Iterator[Observation]:
        """The files directly in a CA directory a config names, bounded, never a walk below it."""
        try:
            entries = sfs.scandir(path)
        except OSError as exc:
            if not sfs.broken:
                self.namers.unreadable(path, f"named as a CA directory, but cannot be listed: {exc.strerror or exc}")
            return
        if len(entries) > MAX_CA_DIRECTORY_ENTRIES:
            message = (
                f"named as a CA directory, but holds {len(entries)} entries; only the first "
                f"{MAX_CA_DIRECTORY_ENTRIES} by name were read"
            )
            yield self._error(path, message)
        for name, info in entries[:MAX_CA_DIRECTORY_ENTRIES]:
            if not stat.S_ISDIR(info.st_mode):
                follow.append((Path(posixpath.join(path, name)), "in-ca-directory"))

    def _walk(self, sfs: SftpFileSystem, root: str) -> Iterator[tuple[str, FileInfo | None, str | None]]:
        """(path, lstat, None) of every file below root, sorted as os.walk (lstat None: stat it then);
        (directory, None, problem) for a directory that cannot be listed."""
        pending = [root]
        while pending:
            directory = pending.pop()
            try:
                entries = sfs.scandir(directory)
            except OSError as exc:
                if sfs.broken:
                    return
                yield directory, None, f"cannot list directory: {exc.strerror or exc}"
                continue
            subdirs: list[str] = []
            for name, info in entries:
                full = posixpath.join(directory, name)
                if stat.S_ISDIR(info.st_mode):
                    # /proc, /sys, an autofs mount point are not entered: see files/mounts.py
                    if name not in SKIPPED_DIRS and self.left_out.enters(full, full):
                        subdirs.append(full)
                elif stat.S_ISLNK(info.st_mode):
                    yield full, None, None  # followed: a link to a key is a key (a link to a directory is not entered)
                else:
                    yield full, info, None
            pending.extend(reversed(subdirs))

    def _file(
        self,
        sfs: SftpFileSystem,
        path: str,
        found: FileInfo | None,
        *,
        named: bool,
        outside: bool,
        data: bytes | OSError | None = None,
    ) -> _Result:
        try:
            info = found if found is not None else sfs.stat(path)
        except OSError as exc:
            return self._unreadable(path, f"cannot read file: {exc.strerror or exc}")
        if stat.S_ISDIR(info.st_mode) and not named:
            return _Result([], SweepCounts())  # a link to a directory: not entered, as locally
        if not stat.S_ISREG(info.st_mode):
            # a special file is never opened: opening a device can act on it
            if named:
                return self._failed(path, f"named by a configuration, but is a {_kind_of(info.st_mode)}, not a file")
            return _Result([], _SKIPPED)
        if info.st_size > MAX_FILE_BYTES:
            try:
                recognised = named or self.files.oversize_recognised(Path(path), sfs.read(path, _SNIFF_BYTES))
            except OSError:
                recognised = True  # unreadable and over the limit: an error naming it
            if recognised:
                return self._failed(path, f"file is larger than {MAX_FILE_BYTES} bytes")
            return _Result([], _SKIPPED)
        try:
            if data is None:
                data = sfs.read(path, _read_limit(info))
            elif isinstance(data, OSError):
                raise data
        except OSError as exc:
            return self._unreadable(path, f"cannot read file: {exc.strerror or exc}")
        with fs.using(sfs):  # only around the parse: never across a yield
            parsed = self.files.parse_content(Path(path), data, self.context)
        if parsed is None:
            if named:
                return self._failed(path, "named by a configuration, but its content is not recognised")
            return _Result([], _SKIPPED)
        observations: list[Observation] = []
        if parsed.emit_file_asset:
            observations.append(self._file_asset(path, info, parsed, outside))
        observations.extend(parsed.observations)
        renamed = [self.names.observation(o) for o in observations]
        return _Result(renamed, _outcome(renamed), parsed.follow, parsed.follow_dirs)

    def _failed(self, path: str, message: str) -> _Result:
        return _Result([self._error(path, message)], _FAILED)

    def _unreadable(self, path: str, message: str) -> _Result:
        return _Result([self._error(path, message)], _FAILED, unreadable=message)

    def _file_asset(self, path: str, info: FileInfo, parsed: ParsedFile, outside: bool) -> Asset:
        owner = info.owner or (str(info.st_uid) if info.st_uid is not None else None)
        properties: dict[str, Any] = {
            "path": path,
            "host": self.spec.host,
            "format": parsed.format,
            "mode": format(stat.S_IMODE(info.st_mode), "04o"),
            "owner": owner,
            "size": info.st_size,
            **parsed.file_properties,
        }
        if outside:
            properties.update({"outside_scanned_paths": True, "reason": "named by a configuration"})
        return Asset(
            id=f"file:{path}",  # named for the host with the rest (naming.py)
            type=AssetType.FILE,
            properties=freeze(properties),
            locations=(Location("file", path),),
        )


def _read_limit(info: FileInfo) -> int:
    return min(MAX_FILE_BYTES + 1, info.st_size + 65536)


def _to_read(info: FileInfo) -> int | None:
    """How much of a file to read; None: not read (a special file, a directory, over the limit)."""
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        return None
    return _read_limit(info)


def _prefetch(
    sfs: SftpFileSystem, entries: Sequence[tuple[str, FileInfo | None, str | None]], start: int
) -> tuple[dict[str, Fetched], int]:
    """The next files of the walk (links: where they lead) read in one round of concurrent requests.

    One file at a time costs several round trips each (open, fstat, read, close): on a WAN link
    that is the whole sweep's time. Bounded in count and bytes; a special file is never opened.
    """
    chosen: list[tuple[str, FileInfo | None]] = []
    total, end = 0, start
    for path, info, unlisted in entries[start : start + _BATCH_FILES]:
        if unlisted is None:
            size = info.st_size if info is not None and _to_read(info) is not None else 0
            if chosen and total + size > _BATCH_BYTES:
                break
            chosen.append((path, info))
            total += size
        end += 1
    try:
        return (sfs.fetch_many(chosen, _to_read) if chosen else {}), end
    except OSError:  # a stall: the session is broken, and the walk ends with one error
        return {}, end


def _isdir(sfs: SftpFileSystem, path: str) -> bool:
    try:
        return stat.S_ISDIR(sfs.stat(path).st_mode)
    except OSError:
        return False


def _outcome(observations: Sequence[Observation]) -> SweepCounts:
    if any(isinstance(item, Asset) for item in observations):
        return _RECOGNISED
    if any(isinstance(item, CollectionError) for item in observations):
        return _FAILED
    return _SKIPPED

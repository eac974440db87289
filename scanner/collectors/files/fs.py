"""The filesystem the file handlers read through: the local one, or a remote host's over SFTP.

A handler is given one file's bytes; what it reads beyond them (a config's includes, the server root
above a snippet, the files beside it, the installed server binary for compiled-in defaults) it reads
through ``current()``. A local sweep never sets it, so it is the local filesystem; the remote
collector sets its SFTP filesystem around each parse (``using``), and the same handler code then
resolves an include on the remote host, never on the scanning one.
"""

from __future__ import annotations

import contextvars
import errno
import glob as _glob
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What a stat says, named as ``os.stat_result`` names it, whichever filesystem answered."""

    st_mode: int
    st_size: int
    st_mtime_ns: int
    st_uid: int | None = None
    st_gid: int | None = None
    owner: str | None = None  # the owner's name, when the filesystem gives it (SFTP v4+)


class FileSystem(Protocol):
    """Read-only operations on absolute paths; failures raise OSError with an errno, as ``os`` does."""

    def stat(self, path: str) -> FileInfo:
        """Follows symbolic links."""
        ...

    def lstat(self, path: str) -> FileInfo: ...

    def read(self, path: str, limit: int) -> bytes:
        """At most ``limit`` bytes of a regular file; anything else is never opened (OSError)."""
        ...

    def listdir(self, path: str) -> list[str]: ...

    def realpath(self, path: str) -> str: ...

    def glob(self, pattern: str) -> list[str]:
        """Paths matching a shell pattern, sorted; no match is an empty list."""
        ...


def _info(result: os.stat_result) -> FileInfo:
    return FileInfo(result.st_mode, result.st_size, result.st_mtime_ns, result.st_uid, result.st_gid)


class LocalFileSystem:
    def stat(self, path: str) -> FileInfo:
        return _info(os.stat(path))

    def lstat(self, path: str) -> FileInfo:
        return _info(os.lstat(path))

    def read(self, path: str, limit: int) -> bytes:
        # O_NONBLOCK: a FIFO swapped in after a stat never blocks the open; judged by fstat after
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            with os.fdopen(os.dup(fd), "rb") as handle:
                return handle.read(limit)
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def glob(self, pattern: str) -> list[str]:
        return sorted(_glob.glob(pattern))


LOCAL = LocalFileSystem()
_CURRENT: contextvars.ContextVar[FileSystem] = contextvars.ContextVar("keysweep_filesystem", default=LOCAL)


def current() -> FileSystem:
    return _CURRENT.get()


@contextmanager
def using(filesystem: FileSystem) -> Iterator[FileSystem]:
    """Handlers called inside read through ``filesystem``."""
    token = _CURRENT.set(filesystem)
    try:
        yield filesystem
    finally:
        _CURRENT.reset(token)


def is_remote() -> bool:
    return current() is not LOCAL


def isdir(path: str) -> bool:
    try:
        return stat.S_ISDIR(current().stat(path).st_mode)
    except OSError:
        return False


def isfile(path: str) -> bool:
    try:
        return stat.S_ISREG(current().stat(path).st_mode)
    except OSError:
        return False


def lexists(path: str) -> bool:
    try:
        current().lstat(path)
    except OSError:
        return False
    return True


def getsize(path: str) -> int:
    return current().stat(path).st_size


def has_magic(pattern: str) -> bool:
    return _glob.has_magic(pattern)


def expanduser(path: str) -> str:
    """``~`` is the scanning user's home only on the local filesystem; a remote one keeps it as written."""
    return path if is_remote() else os.path.expanduser(path)

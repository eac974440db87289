"""The filesystem seam (``files/fs.py``) over SFTP: read-only requests, never a write or a command.

Only stat, lstat, readdir, realpath and open-for-reading are sent. A file is opened only after a
stat says it is a regular file, and judged again by the handle's own stat (fstat) before a byte is
read: a FIFO or device swapped in between is never read.
"""

from __future__ import annotations

import asyncio
import errno
import posixpath
import stat
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncssh

from scanner.collectors.files.fs import FileInfo
from scanner.collectors.remote.session import Session, sftp_oserror

T = TypeVar("T")
# a file's stat (None: it could not be taken) and its content, or why it could not be read
Fetched = tuple[FileInfo | None, bytes | OSError | None]
_CHUNK = 256 * 1024


def file_info(attrs: asyncssh.SFTPAttrs) -> FileInfo:
    mtime_ns = (attrs.mtime or 0) * 1_000_000_000 + (attrs.mtime_ns or 0)
    return FileInfo(attrs.permissions or 0, attrs.size or 0, mtime_ns, attrs.uid, attrs.gid, attrs.owner)


class SftpFileSystem:
    def __init__(self, session: Session) -> None:
        self._session = session
        assert session.sftp is not None
        self._sftp: asyncssh.SFTPClient = session.sftp

    @property
    def broken(self) -> bool:
        """True once a request timed out: the host's sweep ends with one error."""
        return self._session.broken is not None

    def _run(self, coro: Awaitable[T], what: str, path: str) -> T:
        try:
            return self._session.run(coro, f"{what} {path}")
        except asyncssh.SFTPError as exc:
            raise sftp_oserror(exc, path) from None
        except (asyncssh.Error, ConnectionError) as exc:  # the connection went away
            raise OSError(errno.EIO, f"SSH connection lost: {exc}", path) from None

    def stat(self, path: str) -> FileInfo:
        return file_info(self._run(self._sftp.stat(path), "stat of", path))

    def lstat(self, path: str) -> FileInfo:
        return file_info(self._run(self._sftp.lstat(path), "lstat of", path))

    def read(self, path: str, limit: int) -> bytes:
        return self._run(self._read(path, limit), "reading", path)

    def fetch_many(
        self, files: Sequence[tuple[str, FileInfo | None]], limit_of: Callable[[FileInfo], int | None]
    ) -> dict[str, Fetched]:
        """Files read concurrently, within one timeout: per path, its stat (a link's is taken first,
        where it leads) and its content, or the error; no content when ``limit_of`` says not to read."""

        async def one(path: str, info: FileInfo | None) -> Fetched:
            try:
                if info is None:
                    info = file_info(await self._sftp.stat(path))
                limit = limit_of(info)
                return info, None if limit is None else await self._read(path, limit)
            except asyncssh.SFTPError as exc:
                return info, sftp_oserror(exc, path)
            except OSError as exc:
                return info, exc

        async def every() -> list[Fetched]:
            return list(await asyncio.gather(*(one(path, info) for path, info in files)))

        found = self._run(every(), "reading", f"{len(files)} files from {files[0][0]}")
        return {path: fetched for (path, _), fetched in zip(files, found, strict=True)}

    async def _read(self, path: str, limit: int) -> bytes:
        async with self._sftp.open(path, "rb") as handle:
            # judged by what was opened (fstat), not by the stat before the open
            opened = await handle.stat()
            if not stat.S_ISREG(opened.permissions or 0):
                raise OSError(errno.EINVAL, "not a regular file", path)
            chunks: list[bytes] = []
            size, remaining = opened.size or 0, limit
            while remaining > 0:
                asked = min(remaining, _CHUNK)
                chunk = await handle.read(asked)
                if not chunk:
                    break
                assert isinstance(chunk, bytes)
                chunks.append(chunk)
                remaining -= len(chunk)
                if len(chunk) < asked and limit - remaining >= size:
                    break  # a short read at the opened file's size is its end: no request just to hear EOF
            return b"".join(chunks)

    def scandir(self, path: str) -> list[tuple[str, FileInfo]]:
        """(name, lstat) of every entry, sorted by name; one request per batch, not one per entry."""
        names = self._run(self._sftp.readdir(path), "listing", path)
        entries = [(str(n.filename), file_info(n.attrs)) for n in names if n.filename not in (".", "..", b".", b"..")]
        return sorted(entries)

    def listdir(self, path: str) -> list[str]:
        return [name for name, _ in self.scandir(path)]

    def realpath(self, path: str) -> str:
        return str(self._run(self._sftp.realpath(path), "resolving", path))

    def glob(self, pattern: str) -> list[str]:
        try:
            found = self._run(self._sftp.glob(pattern), "matching", pattern)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return []  # no match is not an error for a glob
            raise
        return sorted(posixpath.normpath(str(p)) for p in found)

"""Where a rendered report goes, without ever destroying what is at the path.

- ``-`` is standard output.
- ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` and ``/proc/self/fd/N`` are written to that
  already open descriptor (a shell's ``>(jq .)``, ``>> log``: its offset and append mode are kept).
- Anything else that is not a regular file (a character device, a FIFO) is opened and written
  through; a FIFO with no reader is an error, never a hang.
- A symlink is followed: its target is written, the link stays.
- Only a regular file, or a path that does not exist yet, is replaced atomically (a temporary file
  beside it, then a rename), so a reader never sees half a report; the new file keeps the old
  file's mode, or follows the umask when there was none. (A writable file in a directory the user
  cannot write to is rewritten in place instead: no temporary file can be made beside it.)

:func:`check_outputs` finds every problem before the scan starts (a directory, a missing or
unwritable parent, two formats to one path); :func:`write_output` raises :class:`OutputError`
naming the path, so that the caller writes the other outputs and reports this one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

STDOUT = "-"

_FD_PATH = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")
_STD_PATHS = {"/dev/stdout": 1, "/dev/stderr": 2}


class OutputError(OSError):
    """An output that cannot be written; the message names the path and the reason."""


@dataclass(frozen=True, slots=True)
class Output:
    format: str
    path: str  # a path, or "-" for standard output

    @property
    def to_stdout(self) -> bool:
        return self.path == STDOUT


def check_outputs(outputs: Sequence[Output]) -> list[str]:
    """Every reason the outputs cannot be written, each naming its path; empty when all can be."""
    problems: list[str] = []
    claimed: dict[tuple[object, ...], Output] = {}
    for output in outputs:
        try:
            identity = _check(output.path)
        except OutputError as exc:
            problems.append(str(exc))
            continue
        earlier = claimed.setdefault(identity, output)
        if earlier is not output:
            where = "standard output" if output.to_stdout else output.path
            problems.append(f"{where}: both the {earlier.format} and the {output.format} report would be written here")
    return problems


def write_output(path: str, content: bytes, stdout: BinaryIO | None = None) -> None:
    """Write one report to ``path`` as the module docstring describes; OutputError on failure."""
    write_output_chunks(path, (content,), stdout)


def write_output_chunks(
    path: str,
    content: Iterable[bytes],
    stdout: BinaryIO | None = None,
    temporary: Callable[[str], None] | None = None,
) -> None:
    """:func:`write_output` of a report produced piece by piece (never held whole in memory).

    A regular file is still replaced atomically: the pieces go to the temporary file, which is
    removed if producing them fails (``temporary`` is told its path once made, for a caller that
    may be killed before it can remove it). A device, pipe or standard output receives them as
    they come.
    """
    way, st = _way(path)
    if way == _STDOUT_WAY:
        _write_stream(stdout or sys.stdout.buffer, content, "standard output")
    elif way == _DESCRIPTOR:
        fd = _descriptor(path)
        assert fd is not None  # what made it this way
        _write_fd(fd, content, path)
    elif way == _IN_PLACE:
        _rewrite_in_place(os.path.realpath(path), content, path)
    elif way == _REPLACE:
        _replace(os.path.realpath(path), content, st, path, temporary)
    else:
        assert st is not None  # a device, FIFO or socket: what made it this way
        _write_through(path, content, st)


# how a report reaches its path (_way)
_STDOUT_WAY, _DESCRIPTOR, _REPLACE, _IN_PLACE, _THROUGH = "stdout", "descriptor", "replace", "in place", "through"


def _temporary_file(directory: str, name: str, temporary: Callable[[str], None] | None) -> tuple[int, str]:
    """A new temporary file beside the report (made as ``tempfile.mkstemp`` makes one: exclusive,
    0600), its path told to ``temporary`` before the file exists: a process killed at any moment
    after leaves no file that nobody was told of (told after, a kill in between left one for ever)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        if temporary is not None:
            temporary(tmp)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", directory)


def _way(path: str) -> tuple[str, os.stat_result | None]:
    """How a report reaches ``path``, and what ``stat`` found there (None: nothing, or not asked):
    standard output or an open descriptor as it is produced; a regular file (or a new one) replaced
    atomically, or rewritten in place in a directory this user cannot write to; anything else (a
    device, a FIFO) written through as it is produced. OutputError when the path cannot be looked at."""
    if path == STDOUT:
        return _STDOUT_WAY, None
    if _descriptor(path) is not None:
        return _DESCRIPTOR, None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _REPLACE, None
    except OSError as exc:
        raise OutputError(f"{path}: {_reason(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        return _THROUGH, st
    if not os.access(os.path.dirname(os.path.realpath(path)), os.W_OK | os.X_OK):
        return _IN_PLACE, st
    return _REPLACE, st


def replaced_whole(path: str) -> bool:
    """Whether a report written to ``path`` replaces a regular file atomically (or makes a new one),
    as opposed to going through a device, a pipe or an open descriptor as it is produced."""
    try:
        return _way(path)[0] == _REPLACE
    except OutputError:
        return False


def _check(path: str) -> tuple[object, ...]:
    """The identity of what ``path`` names (to catch two formats to one place), or OutputError."""
    if path == STDOUT:
        return _fd_identity(_stdout_fileno(), path) or ("stdout",)
    if not path:
        raise OutputError("an output path is empty")
    fd = _descriptor(path)
    if fd is not None:
        identity = _fd_identity(fd, path)
        if identity is None:
            raise OutputError(f"{path}: file descriptor {fd} is not open")
        return identity
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return _check_new(path)
    except OSError as exc:
        raise OutputError(f"{path}: {_reason(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a directory; give a file name")
    if stat.S_ISBLK(st.st_mode):
        raise OutputError(f"{path}: is a block device; a report is never written over a disk")
    if stat.S_ISSOCK(st.st_mode):
        raise OutputError(f"{path}: is a socket, which cannot be opened for writing")
    if not os.access(path, os.W_OK):
        raise OutputError(f"{path}: permission denied")
    # a regular file in a directory we cannot write to is rewritten in place (not atomically)
    return ("inode", st.st_dev, st.st_ino)


def _check_new(path: str) -> tuple[object, ...]:
    target = os.path.realpath(path)  # a dangling symlink: its target is created
    _check_directory(os.path.dirname(target), path)
    return ("new", target)


def _check_directory(directory: str, path: str) -> None:
    if not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise OutputError(f"{path}: {directory} is not a directory")
        raise OutputError(f"{path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: directory {directory} is not writable")


def _descriptor(path: str) -> int | None:
    if path in _STD_PATHS:
        return _STD_PATHS[path]
    match = _FD_PATH.fullmatch(path)
    return int(match.group(1)) if match else None


def _fd_identity(fd: int | None, path: str) -> tuple[object, ...] | None:
    if fd is None:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path}: is a directory")
    return ("inode", st.st_dev, st.st_ino)


def _stdout_fileno() -> int | None:
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test runner or closed
        return None


def _write_stream(stream: BinaryIO, content: Iterable[bytes], name: str) -> None:
    try:
        for chunk in content:
            stream.write(chunk)
        stream.flush()
    except OSError as exc:
        raise OutputError(f"{name}: {_reason(exc)}") from None


def _write_fd(fd: int, content: Iterable[bytes], path: str) -> None:
    try:
        for chunk in content:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:
        raise OutputError(f"{path}: {_reason(exc)}") from None


def _write_through(path: str, content: Iterable[bytes], st: os.stat_result) -> None:
    """A device or FIFO: open it as it is (never create, never replace) and write."""
    flags = os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC
    if stat.S_ISFIFO(st.st_mode):
        flags |= os.O_NONBLOCK  # no reader: ENXIO at once instead of blocking forever
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{path}: no process is reading this pipe") from None
        raise OutputError(f"{path}: {_reason(exc)}") from None
    try:
        if flags & os.O_NONBLOCK:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        _write_fd(fd, content, path)
    finally:
        os.close(fd)


def _replace(
    target: str,
    content: Iterable[bytes],
    st: os.stat_result | None,
    path: str,
    temporary: Callable[[str], None] | None = None,
) -> None:
    directory, name = os.path.split(target)
    try:
        fd, tmp = _temporary_file(directory, name, temporary)
    except OSError as exc:
        raise OutputError(f"{path}: {_reason(exc)}") from None
    try:
        try:
            os.fchmod(fd, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask())
            if st is not None and os.geteuid() == 0:
                os.fchown(fd, st.st_uid, st.st_gid)  # root rewriting a user's report keeps it theirs
            _write_fd(fd, content, path)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OutputError:
        _unlink_quietly(tmp)
        raise
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(f"{path}: {_reason(exc)}") from None
    except BaseException:  # interrupted: nothing half-written stays behind
        _unlink_quietly(tmp)
        raise


def _rewrite_in_place(target: str, content: Iterable[bytes], path: str) -> None:
    """A report file the user may write in a directory they may not (e.g. a web root): truncate
    and write, keeping the file, its mode and owner."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError(f"{path}: {_reason(exc)}") from None
    try:
        _write_fd(fd, content, path)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)

"""The file collector: walks --path targets and hands each file to the handler that knows it.

Files are parsed in-process. A pool of forked workers was measured on 20,000 certificates and
gained nothing: pickling a file's observations back costs about as much as parsing the file.
"""

from __future__ import annotations

import os
import pwd
import stat
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from scanner import plugins
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import access
from scanner.collectors.files.handler import FileHandler, FileSource, ParsedFile
from scanner.collectors.package_data import package_data_reason
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Observation, freeze

# a certificate, key or config is small; a larger file is a disk image, a log or a database
MAX_FILE_BYTES = 10 * 1024 * 1024
_SNIFF_BYTES = 4096
# directories that never hold keys worth a scan's time, and can hold millions of files
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".tox"})


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@dataclass(frozen=True, slots=True)
class _FileResult:
    observations: tuple[Observation, ...]
    # files a configuration names: collected next, as "named by a config"
    follow: tuple[Path, ...] = ()


class FileCollector:
    name: ClassVar[str] = "files"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"path"})

    def __init__(self, handlers: Sequence[FileHandler] | None = None) -> None:
        if handlers is None:
            handlers = [cls() for cls in plugins.load_all(plugins.FILE_HANDLERS).values()]
        self._handlers = sorted(handlers, key=lambda h: (h.priority, h.name))
        self._owners: dict[int, str] = {}

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        seen: set[str] = set()
        for target in targets:
            context.progress.target_started(self.name, target.value)
            root = os.path.abspath(os.path.expanduser(target.value))
            if not os.path.lexists(root):
                yield CollectionError(target.value, self.name, "no such file or directory")
                context.progress.target_finished(self.name, target.value, False)
                continue
            paths = [p for p in self._walk(root) if p not in seen]
            seen.update(paths)
            follow: deque[Path] = deque()
            for result in (self._collect_file(p, context, named_by_config=False) for p in paths):
                yield from result.observations
                follow.extend(result.follow)
            while follow:
                path = os.path.abspath(follow.popleft())
                if path in seen:
                    continue
                seen.add(path)
                result = self._collect_file(path, context, named_by_config=True)
                yield from result.observations
                follow.extend(result.follow)
            context.progress.target_finished(self.name, target.value, True)

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

    def _collect_file(self, path: str, context: CollectContext, *, named_by_config: bool) -> _FileResult:
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                info = os.stat(path)  # a link to a key is still a key; its target's mode is what counts
            if stat.S_ISDIR(info.st_mode):
                if named_by_config:  # e.g. ssl_certificate pointing at a directory: scan it too
                    return _FileResult((), tuple(Path(p) for p in self._walk(path)))
                return self._error(path, "directory could not be listed")
            if not stat.S_ISREG(info.st_mode):
                return _FileResult(())  # sockets, fifos, devices: nothing to read
            if info.st_size > MAX_FILE_BYTES:
                if named_by_config or self._oversize_is_error(path):
                    return self._error(path, f"file is larger than {MAX_FILE_BYTES} bytes")
                return _FileResult(())
            with open(path, "rb") as handle:
                # sized by stat: read(n) allocates n bytes up front, and MAX_FILE_BYTES per file adds up
                data = handle.read(min(MAX_FILE_BYTES + 1, info.st_size + 65536))
        except OSError as exc:
            return self._error(path, f"cannot read file: {exc.strerror or type(exc).__name__}")

        as_path = Path(path)
        handler = self._handler_for(as_path, data[:_SNIFF_BYTES])
        if handler is None:
            if named_by_config:
                return self._error(path, "named by a configuration, but its content is not recognised")
            return _FileResult(())
        observations: list[Observation] = []
        try:
            # cryptography warns about malformed-but-loadable input; for a scanner that is the normal
            # case, and what matters about such a file is in its assets or its error entries
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = handler.parse(FileSource(as_path, data), context)
        except Exception as exc:  # handlers report per-item errors; this is a file unreadable as a whole
            text = str(exc).split("\n", 1)[0]
            observations.append(CollectionError(path, self.name, f"{handler.name}: {type(exc).__name__}: {text}"))
            parsed = ParsedFile(format=handler.name, emit_file_asset=False)
        if parsed.emit_file_asset:
            observations.append(self._file_asset(path, info, parsed))
        observations.extend(parsed.observations)
        return _FileResult(tuple(observations), parsed.follow)

    def _error(self, path: str, message: str) -> _FileResult:
        return _FileResult((CollectionError(path, self.name, message),))

    def _oversize_is_error(self, path: str) -> bool:
        """A huge file whose head a config handler recognises is reported; other huge files are skipped.

        Only files over the limit pay for this one extra 4 KiB read, so a large walk stays cheap.
        """
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        handler = self._handler_for(Path(path), head)
        return handler is not None and bool(getattr(handler, "oversize_is_error", False))

    def _handler_for(self, path: Path, head: bytes) -> FileHandler | None:
        for handler in self._handlers:
            try:
                if handler.sniff(path, head):
                    return handler
            except Exception:  # a faulty third-party sniff must not stop the walk
                continue
        return None

    def _file_asset(self, path: str, info: os.stat_result, parsed: ParsedFile) -> Asset:
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

"""The file collector: walks --path targets and hands each file to the handler that knows it."""

from __future__ import annotations

import os
import pwd
import stat
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from scanner import plugins
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.handler import FileHandler, FileSource, ParsedFile
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


class FileCollector:
    name: ClassVar[str] = "files"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"path"})

    def __init__(self, handlers: Sequence[FileHandler] | None = None) -> None:
        if handlers is None:
            handlers = [cls() for cls in plugins.load_all(plugins.FILE_HANDLERS).values()]
        self._handlers = sorted(handlers, key=lambda h: (h.priority, h.name))
        self._owners: dict[int, str] = {}

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        seen: set[Path] = set()
        for target in targets:
            context.progress.target_started(self.name, target.value)
            root = Path(target.value).expanduser()
            if not root.exists() and not root.is_symlink():
                yield CollectionError(target.value, self.name, "no such file or directory")
                context.progress.target_finished(self.name, target.value, False)
                continue
            queue: deque[tuple[Path, bool]] = deque((p, False) for p in self._walk(root))
            while queue:
                path, followed = queue.popleft()
                resolved = path.absolute()
                if resolved in seen:
                    continue
                seen.add(resolved)
                for observation in self._collect_file(resolved, context, named_by_config=followed):
                    if isinstance(observation, Path):
                        queue.append((observation, True))
                    else:
                        yield observation
            context.progress.target_finished(self.name, target.value, True)

    def _walk(self, root: Path) -> Iterator[Path]:
        if not root.is_dir():
            yield root
            return
        errors: list[OSError] = []
        for directory, dirnames, filenames in os.walk(root, onerror=errors.append, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
            for filename in sorted(filenames):
                yield Path(directory, filename)
        for error in errors:
            # an unreadable directory is reported by the file step as an error naming it
            yield Path(error.filename)

    def _collect_file(self, path: Path, context: CollectContext, *, named_by_config: bool) -> Iterator[Any]:
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                info = path.stat()  # a link to a key is still a key; its target's mode is what counts
            if stat.S_ISDIR(info.st_mode):
                if named_by_config:  # e.g. ssl_certificate pointing at a directory: scan it too
                    yield from self._walk(path)
                else:
                    yield CollectionError(str(path), self.name, "directory could not be listed")
                return
            if not stat.S_ISREG(info.st_mode):
                return  # sockets, fifos, devices: nothing to read
            if info.st_size > MAX_FILE_BYTES:
                if named_by_config or self._oversize_is_error(path):
                    yield CollectionError(str(path), self.name, f"file is larger than {MAX_FILE_BYTES} bytes")
                return
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            yield CollectionError(str(path), self.name, f"cannot read file: {reason}")
            return

        handler = self._handler_for(path, data[:_SNIFF_BYTES])
        if handler is None:
            if named_by_config:
                yield CollectionError(
                    str(path), self.name, "named by a configuration, but its content is not recognised"
                )
            return
        source = FileSource(path, data)
        try:
            parsed = handler.parse(source, context)
        except Exception as exc:  # handlers report per-item errors; this is a file unreadable as a whole
            text = str(exc).split("\n", 1)[0]
            yield CollectionError(str(path), self.name, f"{handler.name}: {type(exc).__name__}: {text}")
            parsed = ParsedFile(format=handler.name)

        if parsed.emit_file_asset:
            yield self._file_asset(path, info, parsed)
        yield from parsed.observations
        yield from parsed.follow

    def _oversize_is_error(self, path: Path) -> bool:
        """A huge file whose head a config handler recognises is reported; other huge files are skipped.

        Only files over the limit pay for this one extra 4 KiB read, so a large walk stays cheap.
        """
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        handler = self._handler_for(path, head)
        return handler is not None and bool(getattr(handler, "oversize_is_error", False))

    def _handler_for(self, path: Path, head: bytes) -> FileHandler | None:
        for handler in self._handlers:
            try:
                if handler.sniff(path, head):
                    return handler
            except Exception:  # a faulty third-party sniff must not stop the walk
                continue
        return None

    def _file_asset(self, path: Path, info: os.stat_result, parsed: ParsedFile) -> Asset:
        owner = self._owners.get(info.st_uid)
        if owner is None:
            owner = self._owners[info.st_uid] = _owner(info.st_uid)
        properties = {
            "path": str(path),
            "format": parsed.format,
            "mode": format(stat.S_IMODE(info.st_mode), "04o"),
            "owner": owner,
            "size": info.st_size,
            **parsed.file_properties,
        }
        return Asset(
            id=f"file:{path}",
            type=AssetType.FILE,
            properties=freeze(properties),
            locations=(Location("file", str(path)),),
        )

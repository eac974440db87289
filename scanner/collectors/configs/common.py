"""What every configuration handler shares: safe reading of includes, and building the config node.

A config handler parses its format into effective settings, then hands them to ``build`` which
makes the ``config:<kind>:<path>`` asset, the ``references`` relations to the files it names,
the list of files for the collector to follow, and the plaintext-secret scan of the text.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from scanner.collectors.configs import secrets
from scanner.collectors.files import fs
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Relation, RelationType, freeze

COLLECTOR = "files"
# the file collector's limit, repeated so that an include cannot read more than a named file could
MAX_CONFIG_BYTES = 10 * 1024 * 1024
# a config tree deeper than this is a loop the path comparison missed (e.g. through bind mounts)
MAX_INCLUDE_DEPTH = 32


# a server binary read for its version string: larger files are not the binary
MAX_BINARY_BYTES = 64 * 1024 * 1024


def installed_binary_version(
    binaries: Iterable[str], version_in: Callable[[bytes], str | None]
) -> tuple[str, str] | None:
    """(version, binary) from the first installed binary whose bytes carry its version.

    Read, never run, and through the filesystem seam: a remote sweep reads the remote host's binary.
    """
    for candidate in dict.fromkeys(b for b in binaries if b):
        try:
            if fs.getsize(candidate) > MAX_BINARY_BYTES:
                continue
            version = version_in(fs.current().read(candidate, MAX_BINARY_BYTES))
        except OSError:
            continue
        if version:
            return version, candidate
    return None


class ConfigError(ValueError):
    """A config file that cannot be parsed as a whole (binary, undecodable)."""


def decode(data: bytes, what: str = "configuration") -> str:
    """Config text; binary content is an error, not a silent mis-parse."""
    if b"\x00" in data:
        raise ConfigError(f"binary content (NUL bytes), not a text {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # latin-1 decodes anything: reject text that is mostly control characters
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > len(text[:4096]) // 20:
        raise ConfigError(f"binary content, not a text {what}")
    return text


_TOKEN_SEPARATORS = bytes.maketrans(b"=:;{}<>\"',()[]#", b" " * 15)


@lru_cache(maxsize=8)
def head_tokens(head: bytes) -> frozenset[bytes]:
    """The words of a sniffed head, computed once per file and shared by every config handler.

    A walk of many files runs each handler's sniff on each file; set lookups in this shared token
    set keep that cheap, and a handler's own regular expressions run only on likely candidates.
    """
    return frozenset(head.translate(_TOKEN_SEPARATORS).split())


def binary_with_config_name(path: Path, head: bytes, names: frozenset[str]) -> bool:
    """A binary file under a well-known config name: claimed, so that parsing reports it as an error."""
    return b"\x00" in head and path.name in names


def text_head(head: bytes) -> str | None:
    """The sniffable head as text, or None for binary content (sniffing stays cheap)."""
    if b"\x00" in head:
        return None
    return head.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Included:
    path: Path
    text: str


@dataclass
class Includes:
    """Reads included files, with loop detection, size and type limits; errors are values."""

    errors: list[CollectionError] = field(default_factory=list)
    read: list[str] = field(default_factory=list)

    def expand(
        self,
        pattern: str,
        base: Path,
        from_file: Path,
        line: int,
        stack: Sequence[Path],
        *,
        directory_files: str | None = None,
        optional: bool = False,
    ) -> list[Included]:
        """Files an include names (a glob, relative to ``base``); ``stack`` is the chain of includers.

        ``directory_files``: a glob of the files read when the include names a directory (Apache
        reads every file, OpenSSL the *.cnf and *.conf); ``optional``: a missing file is no error.
        """
        # through the filesystem seam: a remote config's includes are resolved on the remote host
        raw = fs.expanduser(pattern.strip().strip("\"'"))
        full = raw if os.path.isabs(raw) else str(base / raw)
        if fs.has_magic(full):
            paths = [Path(p) for p in fs.current().glob(full)]  # no match is not an error for a glob
        elif directory_files is not None and fs.isdir(full):
            paths = [Path(p) for p in fs.current().glob(os.path.join(full, directory_files)) if fs.isfile(p)]
        elif optional and not fs.lexists(full):
            paths = []
        else:
            paths = [Path(full)]
        out: list[Included] = []
        for path in paths:
            included = self._read_one(path, from_file, line, stack)
            if included is not None:
                out.append(included)
        return out

    def _error(self, target: Path, message: str) -> None:
        self.errors.append(CollectionError(str(target), COLLECTOR, message))

    def _read_one(self, path: Path, from_file: Path, line: int, stack: Sequence[Path]) -> Included | None:
        where = f"included from {from_file}:{line}"
        if len(stack) >= MAX_INCLUDE_DEPTH:
            self._error(path, f"includes nested deeper than {MAX_INCLUDE_DEPTH} ({where})")
            return None
        try:
            info = fs.current().stat(str(path))  # follows links: a dangling link fails here
            resolved = Path(fs.current().realpath(str(path)))
        except OSError as exc:
            self._error(path, f"cannot read included file: {exc.strerror or type(exc).__name__} ({where})")
            return None
        if resolved in {real(p) for p in stack}:
            chain = " -> ".join(str(p) for p in [*stack, path])
            self._error(from_file, f"include loop at line {line}: {chain}")
            return None
        if stat.S_ISDIR(info.st_mode):
            self._error(path, f"included path is a directory ({where})")
            return None
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            self._error(path, f"included path is not a regular file ({where})")
            return None
        if info.st_size > MAX_CONFIG_BYTES:
            self._error(path, f"included file is larger than {MAX_CONFIG_BYTES} bytes ({where})")
            return None
        try:
            text = decode(fs.current().read(str(path), MAX_CONFIG_BYTES + 1))
        except OSError as exc:
            self._error(path, f"cannot read included file: {exc.strerror or type(exc).__name__} ({where})")
            return None
        except ConfigError as exc:
            self._error(path, f"{exc} ({where})")
            return None
        self.read.append(str(path))
        return Included(path, text)


# roles that name a directory of files rather than a file (read one level deep, never walked)
DIRECTORY_ROLES = frozenset({"ca-directory"})


@dataclass(frozen=True, slots=True)
class Reference:
    """A file a config names: a certificate, key, DH parameters, host key."""

    path: Path
    role: str  # "certificate", "private-key", "dh-parameters", "host-key", ...
    line: int
    file: Path  # the config file (main or included) that names it


def resolve(value: str, base: Path) -> Path:
    raw = fs.expanduser(value.strip().strip("\"'"))
    return Path(os.path.normpath(raw if os.path.isabs(raw) else base / raw))


_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?|secret|token|api_?key|credential", re.IGNORECASE)


def redact(name: str, value: Any) -> Any:
    """Settings never hold a value set under a secret-like name (e.g. openssl.cnf input_password)."""
    return "<redacted>" if _SECRET_NAME.search(name) else value


def real(path: Path) -> Path:
    """The real file behind a path (symlinks resolved): one config asset per real file."""
    try:
        return Path(fs.current().realpath(str(path)))
    except OSError:  # a remote realpath fails for a missing path; the local one never does
        return path


def find_root(path: Path, names: Sequence[str], levels: int = 3) -> Path | None:
    """The nearest server root (e.g. nginx.conf) in the folders above ``path`` (as given, then real).

    Distribution layouts keep snippets below the root (``sites-enabled/``, ``conf.d/``,
    ``sshd_config.d/``); the root is read only to learn the context the snippet is composed in.
    """
    own = real(path)
    for start in (path, own):
        folder = start.parent
        for _ in range(levels):
            for name in names:
                candidate = folder / name
                if fs.isfile(str(candidate)) and real(candidate) != own:
                    return candidate
            if folder.parent == folder:
                break
            folder = folder.parent
    return None


class Named(Protocol):
    name: str


D = TypeVar("D", bound=Named)


class Scope(Generic[D]):
    """The directives of one block indexed by name once, so that composing N blocks stays linear."""

    __slots__ = ("_by_name",)

    def __init__(self, directives: Iterable[D]) -> None:
        self._by_name: dict[str, list[D]] = {}
        for d in directives:
            self._by_name.setdefault(d.name, []).append(d)

    def last(self, name: str) -> D | None:
        found = self._by_name.get(name)
        return found[-1] if found else None

    def all(self, name: str) -> list[D]:
        return self._by_name.get(name, [])

    def has(self, name: str) -> bool:
        return name in self._by_name


class BlockDirective(Protocol):
    """A parsed directive of a block-structured config (nginx, Apache); read-only here."""

    @property
    def name(self) -> str: ...

    @property
    def file(self) -> Path: ...

    @property
    def line(self) -> int: ...

    @property
    def block(self) -> Sequence[Any] | None: ...


B = TypeVar("B", bound=BlockDirective)


def named_files(
    directives: Sequence[B], roles: Mapping[str, str], path_of: Callable[[B], Path | None], only: Path | None
) -> list[Reference]:
    """Every file a directive in ``roles`` names, in any block (a snippet without a server still
    names its key); ``only``: just the directives written in that real file."""
    refs: list[Reference] = []
    pending: list[B] = list(directives)
    while pending:
        d = pending.pop()
        if d.block is not None:
            pending.extend(d.block)
            continue
        role = roles.get(d.name)
        if role is None or (only is not None and real(d.file) != only):
            continue
        resolved = path_of(d)
        if resolved is not None:
            refs.append(Reference(resolved, role, d.line, d.file))
    return refs


T = TypeVar("T")


class RootCache(Generic[T]):
    """A server root read and composed once per collector run, for every file below it.

    Keyed by the root's real path, mtime and size; a root that cannot be read or parsed is None
    here (its own parse, as a file of the scan, reports why).
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[Path, int, int], T | None] = {}

    def get(self, root: Path, what: str, compose: Callable[[Path, str], T]) -> T | None:
        try:
            info = fs.current().stat(str(root))
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or device since it was found: never opened
            return None
        key = (real(root), info.st_mtime_ns, info.st_size)
        if key not in self._entries:
            composed = None
            try:
                if info.st_size <= MAX_CONFIG_BYTES:
                    composed = compose(root, decode(fs.current().read(str(root), MAX_CONFIG_BYTES), what))
            except (OSError, ConfigError, RecursionError):
                composed = None
            self._entries[key] = composed
        return self._entries[key]


@dataclass(frozen=True, slots=True)
class Composition:
    """How a file was judged: at its root, under its root but not included, or alone."""

    role: str  # "root", "included", "not-included", "alone"
    root: Path | None = None
    reason: str = ""

    def properties(self) -> dict[str, Any]:
        return {
            "composition": {
                "role": self.role,
                "root": str(self.root) if self.root else None,
                "reason": self.reason,
            }
        }


def context_head(scope: str, file: Path, line: int | None, server: bool, active: bool) -> dict[str, Any]:
    """The start of a TLS context; an inactive file's context never counts as a running server."""
    ctx: dict[str, Any] = {"scope": scope, "file": str(file), "line": line, "server": server and active}
    if not active:
        ctx["inactive"] = True
    return ctx


def judged_at_root(
    kind: str,
    source: FileSource,
    text: str,
    root: Path,
    references: Iterable[Reference],
    settings: dict[str, Any],
    contexts_name: str,
    properties: dict[str, Any] | None = None,
) -> ParsedFile:
    """A file its root includes: no judgement of its own, the files it names, and the root queued."""
    where = Composition("included", root, f"included by {root}; judged there")
    return build(
        kind,
        source,
        text,
        settings,
        properties={contexts_name: [], **(properties or {}), **where.properties()},
        references=references,
        follow=(root,),
    )


def build(
    kind: str,
    source: FileSource,
    text: str,
    settings: dict[str, Any],
    *,
    properties: dict[str, Any] | None = None,
    references: Iterable[Reference] = (),
    includes: Includes | None = None,
    errors: Iterable[CollectionError] = (),
    follow: Iterable[Path] = (),
) -> ParsedFile:
    # a symlinked config (sites-enabled -> sites-available) is one asset with the link as a location
    path = str(real(source.path))
    refs = list(references)
    props: dict[str, Any] = {
        "kind": kind,
        "path": path,
        "settings": settings,
        "includes": list(includes.read) if includes else [],
        "references": [
            {"path": str(r.path), "role": r.role, "file": str(r.file), "line": r.line}
            for r in sorted(refs, key=lambda r: (str(r.file), r.line, str(r.path)))
        ],
        **(properties or {}),
    }
    asset = Asset(
        id=f"config:{kind}:{path}",
        type=AssetType.CONFIG,
        properties=freeze(props),
        locations=(Location("file", str(source.path)),),
    )
    observations: list[Asset | Relation | CollectionError] = [asset]
    followed: list[Path] = list(follow)
    directories: list[Path] = []
    for ref in refs:
        relation = Relation(asset.id, f"file:{real(ref.path)}", RelationType.REFERENCES)  # file ids are real paths
        if relation not in observations:
            observations.append(relation)
        chosen = directories if ref.role in DIRECTORY_ROLES else followed
        if ref.path not in chosen:
            chosen.append(ref.path)
    observations.extend(secrets.scan(Path(path), text))
    if includes:
        observations.extend(includes.errors)
    observations.extend(errors)
    return ParsedFile(
        format=kind, observations=tuple(observations), follow=tuple(followed), follow_dirs=tuple(directories)
    )


def binary_error(kind: str, source: FileSource, exc: ConfigError) -> ParsedFile:
    message = f"{kind} configuration not parsed: {exc}"
    return ParsedFile(
        format=kind, observations=(CollectionError(str(source.path), COLLECTOR, message),), emit_file_asset=False
    )


def is_on(value: str | None) -> bool:
    return value is not None and value.strip().strip("\"'").lower() in ("1", "on", "yes", "true")

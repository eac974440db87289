"""Where a file comes from: installed package data, or a deployment's own files.

Installed packages ship documentation, examples and test fixtures full of keys and tokens made
for the purpose (a PEM key in a TLS library's tests, a token in an SDK's docs, testssl.sh's
handshake keys in /etc/testssl). They are worth knowing about, but they are not a team's leaked
credentials: secrets and keys found there are reported at a lower severity, with the reason.
A file is package data by where it sits (site-packages, /usr/share, a tests/ tree), or because a
Debian package ships it and it is unchanged (its MD5 matches dpkg's record; an edited conffile is
the admin's own and is judged as such).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from scanner.compat import file_digest

DPKG_INFO = Path("/var/lib/dpkg/info")
DPKG_STATUS = Path("/var/lib/dpkg/status")

# (prefix of the absolute path, reason)
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/usr/share/doc/", "documentation installed by a distribution package (/usr/share/doc)"),
    ("/usr/share/", "data installed by a distribution package (/usr/share)"),
    ("/usr/lib/python", "the Python standard library or distribution-packaged modules"),
    ("/usr/local/lib/python", "Python modules installed into /usr/local"),
)
_PYTHON_LIB = re.compile(r"^python\d(\.\d+)?$")
# a directory of any of these names holds test, example or documentation material
_FIXTURE_DIRS = frozenset(
    {"test", "tests", "testing", "testdata", "test_data", "test-data", "fixtures", "__fixtures__", "testcases"}
    | {"examples", "example", "samples", "doc", "docs", "spec", "specs"}
)


def package_data_reason(path: str) -> str | None:
    """Why a file is package data (a short reason), or None for a deployment's own file."""
    # shaped for speed: this runs for every recognised file of a sweep, and all but the dpkg lookup
    # depends on the directory, so what the directory says is worked out once per directory
    cut = path.rfind("/") + 1
    name = path[cut:]
    if not name or name == ".":  # a path PurePosixPath would normalise differently: the plain rules
        return _reason_by_parts(path)
    directory = path[:cut]
    facts = _directories.get(directory)
    if facts is None:
        if len(_directories) >= _DIRECTORIES_KEPT:
            _directories.clear()
        facts = _directories[directory] = _DirectoryFacts(directory, PurePosixPath(directory).parts)
    if facts.plain:  # most directories: only a file named site-packages or dpkg's record can tell
        if name in _SITE_DIRS:
            return _SITE_REASON
        unlisted = facts.unlisted
        if unlisted is None:
            files = _dpkg_files()
            unlisted = facts.unlisted = isinstance(files, _DpkgFiles) and not files.names_in(directory)
        return None if unlisted else _shipped_unchanged(path)
    # the same tests, in the same order, as _reason_by_parts over the directory's parts and the name
    if facts.site_packages or name in _SITE_DIRS:
        return _SITE_REASON
    for prefix, reason in _PREFIXES:
        if path.startswith(prefix):
            return reason
    if facts.python_lib or (facts.in_lib and _PYTHON_LIB.match(name)):
        return _STDLIB_REASON
    if facts.fixture is not None:
        return facts.fixture
    return _shipped_unchanged(path)


def _reason_by_parts(path: str) -> str | None:
    """The rules as written, over the path's parts (the reference ``package_data_reason`` follows)."""
    parts = PurePosixPath(path).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return _SITE_REASON
    for prefix, reason in _PREFIXES:
        if path.startswith(prefix):
            return reason
    # lib/python3.11 of a pyenv, conda or venv interpreter: the standard library and its tests
    if any(_PYTHON_LIB.match(part) and index and parts[index - 1] == "lib" for index, part in enumerate(parts)):
        return _STDLIB_REASON
    fixture = next((part for part in parts[:-1] if part.lower() in _FIXTURE_DIRS), None)
    if fixture is not None:
        return _fixture_reason(fixture)
    return _shipped_unchanged(path)


_SITE_DIRS = frozenset({"site-packages", "dist-packages"})
_SITE_REASON = "installed with a Python package (site-packages)"
_STDLIB_REASON = "the standard library of a Python installation"
# directories remembered; past it the memo starts again (a sweep goes directory by directory)
_DIRECTORIES_KEPT = 4096


def _fixture_reason(fixture: str) -> str:
    return f"test, example or documentation material (a '{fixture}' directory)"


class _DirectoryFacts:
    """What a directory's parts say of every file directly in it (see _reason_by_parts)."""

    __slots__ = ("fixture", "in_lib", "plain", "python_lib", "site_packages", "unlisted")

    def __init__(self, directory: str, parts: tuple[str, ...]) -> None:
        self.site_packages = "site-packages" in parts or "dist-packages" in parts
        self.python_lib = any(
            _PYTHON_LIB.match(part) and index and parts[index - 1] == "lib" for index, part in enumerate(parts)
        )
        # the file's name follows the last part: a python3.11 file directly in a lib directory
        self.in_lib = bool(parts) and parts[-1] == "lib"
        fixture = next((part for part in parts if part.lower() in _FIXTURE_DIRS), None)
        self.fixture = None if fixture is None else _fixture_reason(fixture)
        # every prefix starts with /usr/: a path starts with one only when its directory (with its
        # trailing slash) starts with /usr/ too
        under_usr = directory.startswith("/usr/")
        self.plain = not (self.site_packages or self.python_lib or self.in_lib or fixture or under_usr)
        # True: dpkg lists no file directly in it (None: not asked yet), so none of its files is
        # looked up in dpkg's record one by one
        self.unlisted: bool | None = None


_directories: dict[str, _DirectoryFacts] = {}


def _shipped_unchanged(path: str) -> str | None:
    shipped = _dpkg_files().get(path)
    if shipped is None:
        return None
    package, digest = shipped
    try:
        with open(path, "rb") as handle:
            actual = file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()
    except OSError:
        return None
    if actual != digest:
        return None  # changed since installation: the admin's own content
    return f"shipped unchanged by the Debian package {package}"


@lru_cache(maxsize=1)
def _dpkg_files() -> Mapping[str, tuple[str, str]]:
    """path -> (package, MD5) for the files dpkg installed, outside the trees already known above."""
    return _DpkgFiles()


# dpkg's listings name these trees too, but a file in them is package data by where it sits
_KNOWN_TREES = ("usr/share/", "usr/lib/python")


def _listed(listings: Iterable[tuple[str, str]], top: str | None) -> dict[str, tuple[str, str]]:
    """The files dpkg's listings name (of one top-level directory, or all): later listings win."""
    files: dict[str, tuple[str, str]] = {}
    for package, text in listings:
        for line in text.splitlines():
            digest, _, relative = line.partition("  ")
            if (
                relative
                and not relative.startswith(_KNOWN_TREES)
                and (top is None or relative.partition("/")[0] == top)
            ):
                files["/" + relative] = (package, digest)
    return files


class _DpkgFiles(Mapping[str, tuple[str, str]]):
    """dpkg's record of the files it installed, parsed one top-level directory at a time.

    Shaped for speed: dpkg lists some 100,000 files, and parsing them all cost ~0.15 s of every
    scan; a sweep of /srv or /home asks of one top-level directory that no listing names, which one
    substring search per listing tells. The answers are those of the whole parse: conffiles (from the
    status database) over the listings, the last listing by name over earlier ones.
    """

    def __init__(self) -> None:
        self._listings: list[tuple[str, str]] | None = None  # (package, the md5sums text), by name
        self._conffiles: dict[str, tuple[str, str]] | None = None
        self._by_top: dict[str, dict[str, tuple[str, str]]] = {}
        # the directories (with their trailing slash) of the conffiles, and of the listed files by top
        self._conffile_dirs: set[str] | None = None
        self._dirs_by_top: dict[str, set[str]] = {}

    def _read(self) -> list[tuple[str, str]]:
        if self._listings is None:
            self._listings = []
            try:
                listings = sorted(DPKG_INFO.glob("*.md5sums"))
            except OSError:
                return self._listings
            for listing in listings:
                package = listing.name.removesuffix(".md5sums").split(":")[0]
                try:
                    self._listings.append((package, listing.read_text("utf-8", errors="replace")))
                except OSError:
                    continue
        return self._listings

    def get(self, path: str, default: Any = None) -> Any:
        if self._conffiles is None:
            self._conffiles = _conffiles()
        found = self._conffiles.get(path)
        if found is not None:
            return found
        if not path.startswith("/"):
            return default  # every listed path is "/" and a listing's relative path
        return self._top(path[1:].partition("/")[0]).get(path, default)

    def _top(self, top: str) -> dict[str, tuple[str, str]]:
        files = self._by_top.get(top)
        if files is None:
            # a line naming a file under top holds "  top" (after its digest): listings without it
            # name none and are not parsed
            needle = "  " + top
            files = self._by_top[top] = _listed(((p, t) for p, t in self._read() if needle in t), top)
        return files

    def names_in(self, directory: str) -> bool:
        """Whether a file directly in ``directory`` (ending in "/") may be listed: False only when none is."""
        if self._conffile_dirs is None:
            if self._conffiles is None:
                self._conffiles = _conffiles()
            self._conffile_dirs = {path[: path.rfind("/") + 1] for path in self._conffiles}
        if directory in self._conffile_dirs:
            return True
        if not directory.startswith("/"):
            return False  # every listed path starts with "/"
        if directory == "/":
            return True  # a file's top-level directory is its own name: asked file by file
        top = directory[1:].partition("/")[0]
        dirs = self._dirs_by_top.get(top)
        if dirs is None:
            dirs = self._dirs_by_top[top] = {path[: path.rfind("/") + 1] for path in self._top(top)}
        return directory in dirs

    def __getitem__(self, path: str) -> tuple[str, str]:
        found: tuple[str, str] | None = self.get(path)
        if found is None:
            raise KeyError(path)
        return found

    def _whole(self) -> dict[str, tuple[str, str]]:
        files = _listed(self._read(), None)
        if self._conffiles is None:
            self._conffiles = _conffiles()
        files.update(self._conffiles)
        return files

    def __iter__(self) -> Iterator[str]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


def _conffiles() -> dict[str, tuple[str, str]]:
    """Conffiles (/etc) with the MD5 dpkg recorded, from the status database."""
    found: dict[str, tuple[str, str]] = {}
    try:
        text = DPKG_STATUS.read_text("utf-8", errors="replace")
    except OSError:
        return found
    for stanza in text.split("\n\n"):
        package = re.search(r"^Package: (\S+)", stanza, re.MULTILINE)
        block = re.search(r"^Conffiles:\n((?: .*\n?)+)", stanza, re.MULTILINE)
        if package is None or block is None:
            continue
        for line in block.group(1).splitlines():
            # " /etc/path with spaces <md5> [obsolete]"
            fields = line.strip().rsplit(" ", 2 if line.rstrip().endswith(" obsolete") else 1)
            if len(fields) >= 2 and len(fields[1]) == 32:
                found[fields[0]] = (package.group(1), fields[1])
    return found

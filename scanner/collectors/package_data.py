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
from functools import lru_cache
from pathlib import Path, PurePosixPath

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
        return _SITE_REASON if name in _SITE_DIRS else _shipped_unchanged(path)
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

    __slots__ = ("fixture", "in_lib", "plain", "python_lib", "site_packages")

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
def _dpkg_files() -> dict[str, tuple[str, str]]:
    """path -> (package, MD5) for the files dpkg installed, outside the trees already known above."""
    files: dict[str, tuple[str, str]] = {}
    try:
        listings = sorted(DPKG_INFO.glob("*.md5sums"))
    except OSError:
        return files
    for listing in listings:
        package = listing.name.removesuffix(".md5sums").split(":")[0]
        try:
            lines = listing.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            digest, _, relative = line.partition("  ")
            if relative and not relative.startswith(("usr/share/", "usr/lib/python")):
                files["/" + relative] = (package, digest)
    files.update(_conffiles())
    return files


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

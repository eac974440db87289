"""Where a file sits: in a tree of installed package data, or among a deployment's own files.

Installed packages ship documentation, examples and test fixtures full of keys and tokens made
for the purpose (a PEM key in a TLS library's tests, a token in an SDK's docs). They are worth
knowing about, but they are not a team's leaked credentials: secrets found there are reported
at a lower severity, with the reason.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

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
    parts = PurePosixPath(path).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return "installed with a Python package (site-packages)"
    for prefix, reason in _PREFIXES:
        if path.startswith(prefix):
            return reason
    # lib/python3.11 of a pyenv, conda or venv interpreter: the standard library and its tests
    if any(_PYTHON_LIB.match(part) and index and parts[index - 1] == "lib" for index, part in enumerate(parts)):
        return "the standard library of a Python installation"
    fixture = next((part for part in parts[:-1] if part.lower() in _FIXTURE_DIRS), None)
    if fixture is not None:
        return f"test, example or documentation material (a '{fixture}' directory)"
    return None

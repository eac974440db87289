"""package_data_reason's per-directory memo says what the rules over the whole path's parts say."""

from __future__ import annotations

import itertools

import pytest

from scanner.collectors import package_data

DIRECTORIES = [
    "/",
    "//",
    "",
    "relative/",
    "/srv/app/",
    "/srv/app//",
    "/srv/./app/",
    "/srv/../app/",
    "/opt/venv/lib/python3.11/site-packages/certifi/",
    "/opt/venv/lib/python3.11/",
    "/opt/venv/lib/",
    "/opt/venv/lib/python3.x/",
    "/usr/lib/",
    "/usr/",
    "/usr/lib/pythonx/",
    "/usr/lib/python3/dist-packages/",
    "/usr/local/lib/python3.11/",
    "/usrx/share/",
    "/usr/local/lib/",
    "/usr/share/doc/openssl/",
    "/usr/share/",
    "/home/u/proj/Tests/keys/",
    "/home/u/proj/__fixtures__/",
    "/home/u/proj/EXAMPLES/",
    "/home/u/dist-packages/x/",
    "/home/u/sité/données/",
    "/home/u/\udcff\udcfe/",  # an undecodable name (surrogate escapes)
    "/etc/ssl/private/",
    "/etc/",
    "lib/",
]
NAMES = [
    "key.pem",
    "site-packages",
    "dist-packages",
    "python3",
    "python3.11",
    "python",
    "tests",
    "lib",
    "..",
    "clé.pem",
    "\udce9.pem",
    "x" * 300,
]


@pytest.mark.parametrize("directory", DIRECTORIES)
def test_the_memo_agrees_with_the_rules_over_every_part(directory: str) -> None:
    package_data._directories.clear()
    for name, _round in itertools.product(NAMES, range(2)):  # the second round reads the memo
        path = directory + name
        assert package_data.package_data_reason(path) == package_data._reason_by_parts(path), path


@pytest.mark.parametrize("path", ["/srv/app/", "/srv/app/.", "/usr/lib/python3/", "/a/tests/", "", "/", "."])
def test_paths_without_a_plain_name_follow_the_rules(path: str) -> None:
    assert package_data.package_data_reason(path) == package_data._reason_by_parts(path)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_data, "_DIRECTORIES_KEPT", 8)
    package_data._directories.clear()
    for n in range(50):
        path = f"/srv/d{n}/tests/k.pem"
        assert package_data.package_data_reason(path) == "test, example or documentation material (a 'tests' directory)"
    assert len(package_data._directories) <= 8


def test_reasons_by_where_a_file_sits() -> None:
    reason = package_data.package_data_reason
    assert reason("/opt/v/lib/python3.12/site-packages/x/k.pem") == "installed with a Python package (site-packages)"
    assert reason("/opt/py/lib/python3.12/test/k.pem") == "the standard library of a Python installation"
    assert reason("/opt/py/lib/python3.12") == "the standard library of a Python installation"
    assert reason("/srv/docs/k.pem") == "test, example or documentation material (a 'docs' directory)"
    assert reason("/srv/app/docs") is None  # a file named docs is no directory of documentation

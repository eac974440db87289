"""package_data_reason's per-directory memo says what the rules over the whole path's parts say."""

from __future__ import annotations

import itertools
from pathlib import Path

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
    "/etc/ssl/",
    "/bin/",
    "/etc/testssl/",
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
    # files dpkg lists on a Debian machine (a conffile, a program, testssl.sh's keys)
    "openssl.cnf",
    "bash",
    "tls_data.txt",
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


def _whole_parse() -> dict[str, tuple[str, str]]:
    """dpkg's record parsed all at once, as package_data did before it was read per directory."""
    files: dict[str, tuple[str, str]] = {}
    for listing in sorted(package_data.DPKG_INFO.glob("*.md5sums")):
        package = listing.name.removesuffix(".md5sums").split(":")[0]
        for line in listing.read_text("utf-8", errors="replace").splitlines():
            digest, _, relative = line.partition("  ")
            if relative and not relative.startswith(("usr/share/", "usr/lib/python")):
                files["/" + relative] = (package, digest)
    files.update(package_data._conffiles())
    return files


def _asked(files: dict[str, tuple[str, str]], extra: list[str]) -> None:
    lazy = package_data._DpkgFiles()
    for path in [*files, *extra]:
        assert lazy.get(path) == files.get(path), path
    assert dict(lazy) == files
    # a directory said to hold no listed file holds none (a file of it is then not looked up)
    directories = {path[: path.rfind("/") + 1] for path in [*files, *extra]}
    for directory in directories | {"/", "", "/nowhere/", "//", "/etc/nowhere/"}:
        listed = any(path[: path.rfind("/") + 1] == directory for path in files)
        assert lazy.names_in(directory) or not listed, directory
        if directory not in ("/",):
            assert lazy.names_in(directory) == listed, directory


def test_dpkg_records_read_per_directory_say_what_the_whole_parse_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "info"
    info.mkdir()
    digest = "0123456789abcdef0123456789abcdef"
    (info / "alpha:amd64.md5sums").write_text(
        f"{digest}  etc/alpha.conf\n{digest}  usr/bin/alpha\n{digest}  usr/share/doc/alpha/README\n"
        f"{digest}  toplevel\nnot a line\n{digest}  srv/two  spaces/k.pem\n{digest}  opt/é/\udcff.pem\n",
        encoding="utf-8",
        errors="surrogateescape",
    )
    # a later listing names the same file: it wins, as in dpkg's own order
    (info / "beta.md5sums").write_text(f"{'f' * 32}  usr/bin/alpha\n{'e' * 32}  etc/beta\r\n", encoding="utf-8")
    status = tmp_path / "status"
    status.write_text(
        f"Package: beta\nStatus: install ok installed\nConffiles:\n /etc/beta {'d' * 32}\n"
        f" /etc/old {'c' * 32} obsolete\n\nPackage: gamma\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(package_data, "DPKG_INFO", info)
    monkeypatch.setattr(package_data, "DPKG_STATUS", status)
    files = _whole_parse()
    assert files["/usr/bin/alpha"] == ("beta", "f" * 32) and files["/etc/beta"] == ("beta", "d" * 32)
    assert "/usr/share/doc/alpha/README" not in files and "/toplevel" in files
    _asked(
        files,
        ["/srv/k.pem", "/usr/share/doc/alpha/README", "relative/path", "/", "//etc/alpha.conf", "/top", "/toplevel/x"],
    )


@pytest.mark.skipif(not package_data.DPKG_INFO.is_dir(), reason="no dpkg database on this machine")
def test_this_machines_dpkg_record_is_read_the_same() -> None:
    _asked(_whole_parse(), ["/tmp/nothing.pem", "/srv/app/key.pem", "/etc/ssl/openssl.cnf"])

"""Bad config input: an error naming the file, and the scan goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner.collectors.files.collector import MAX_FILE_BYTES
from scanner.inventory.model import Asset, AssetType, CollectionError

from .conftest import collect, errors

GOOD_NGINX = "http {\n  server {\n    listen 443 ssl;\n    ssl_protocols TLSv1.2 TLSv1.3;\n  }\n}\n"


def _configs(observations: list[object]) -> set[str]:
    return {o.id for o in observations if isinstance(o, Asset) and o.type is AssetType.CONFIG}


def _messages(observations: list[object]) -> list[tuple[str, str]]:
    return [(e.target, e.message) for e in errors(observations)]  # type: ignore[arg-type]


def test_nginx_include_loop_is_an_error_naming_the_file_and_the_rest_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("http {\n  include loop/a.conf;\n  server { listen 443 ssl; }\n}\n")
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "a.conf").write_text("ssl_protocols TLSv1.2;\ninclude loop/b.conf;\n")
    (tmp_path / "loop" / "b.conf").write_text("ssl_ciphers HIGH;\ninclude loop/a.conf;\n")
    (tmp_path / "other.conf").write_text(GOOD_NGINX)
    observations = collect(tmp_path / "nginx.conf", tmp_path / "other.conf")
    loops = [(t, m) for t, m in _messages(observations) if "include loop" in m]
    assert loops == [
        (
            str(tmp_path / "loop" / "b.conf"),
            f"include loop at line 2: {tmp_path / 'nginx.conf'} -> {tmp_path / 'loop' / 'a.conf'} -> "
            f"{tmp_path / 'loop' / 'b.conf'} -> {tmp_path / 'loop' / 'a.conf'}",
        )
    ]
    assert _configs(observations) == {
        f"config:nginx:{tmp_path / 'nginx.conf'}",
        f"config:nginx:{tmp_path / 'other.conf'}",
    }
    config = next(o for o in observations if isinstance(o, Asset) and o.id == f"config:nginx:{tmp_path / 'nginx.conf'}")
    (server,) = config.properties["tls_contexts"]
    assert server["protocols"] == ["TLSv1.2"] and server["ciphers"] == "HIGH"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("httpd.conf", "SSLEngine on\nInclude httpd.conf\n", 2),
        ("openssl.cnf", "openssl_conf = init\n.include openssl.cnf\n[init]\n", 2),
        ("sshd_config", "Include sshd_config\nPort 22\nCiphers aes256-ctr\n", 1),
        ("java.security", "include java.security\nkeystore.type=pkcs12\n", 1),
    ],
)
def test_self_include_is_a_loop_error_in_every_format(tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    observations = collect(path)
    assert _messages(observations) == [(str(path), f"include loop at line {line}: {path} -> {path}")]
    assert len(_configs(observations)) == 1


def test_binary_config_under_a_config_name_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + os.urandom(2000))
    (tmp_path / "sshd_config").write_bytes(b"Port 22\nCiphers aes256-ctr\nHostKey /x\n" + b"\x00\x01" * 3000)
    (tmp_path / "ok.conf").write_text(GOOD_NGINX)
    observations = collect(tmp_path)
    assert sorted(_messages(observations)) == [
        (
            str(tmp_path / "nginx.conf"),
            "nginx configuration not parsed: binary content (NUL bytes), not a text nginx configuration",
        ),
        (
            str(tmp_path / "sshd_config"),
            "sshd configuration not parsed: binary content (NUL bytes), not a text OpenSSH configuration",
        ),
    ]
    assert _configs(observations) == {f"config:nginx:{tmp_path / 'ok.conf'}"}


def test_binary_include_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("http {\n  include blob.bin;\n  ssl_protocols TLSv1.3;\n}\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\xff" * 100)
    observations = collect(tmp_path / "nginx.conf")
    assert _messages(observations) == [
        (
            str(tmp_path / "blob.bin"),
            f"binary content (NUL bytes), not a text configuration (included from {tmp_path / 'nginx.conf'}:2)",
        )
    ]
    assert len(_configs(observations)) == 1


def _sparse(path: Path, head: str, size: int) -> None:
    with path.open("wb") as handle:
        handle.write(head.encode())
        handle.truncate(size)  # sparse: no 10 MiB written to disk


def test_huge_config_is_an_error_and_a_huge_non_config_is_skipped(tmp_path: Path) -> None:
    head = "http {\n  server {\n    ssl_protocols TLSv1.2;\n"
    (tmp_path / "site.conf").write_text(head + "#" * (MAX_FILE_BYTES + 1 - len(head)))
    _sparse(tmp_path / "disk.img", "", MAX_FILE_BYTES + 1)
    (tmp_path / "ok.conf").write_text(GOOD_NGINX)
    observations = collect(tmp_path)
    assert _messages(observations) == [(str(tmp_path / "site.conf"), f"file is larger than {MAX_FILE_BYTES} bytes")]
    assert _configs(observations) == {f"config:nginx:{tmp_path / 'ok.conf'}"}


def test_huge_include_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "openssl.cnf").write_text("openssl_conf = init\n.include big.cnf\n[init]\n")
    _sparse(tmp_path / "big.cnf", "[x]\n", MAX_FILE_BYTES + 1)
    observations = collect(tmp_path / "openssl.cnf")
    assert _messages(observations) == [
        (
            str(tmp_path / "big.cnf"),
            f"included file is larger than {MAX_FILE_BYTES} bytes (included from {tmp_path / 'openssl.cnf'}:2)",
        )
    ]


def test_unreadable_includes_dangling_link_fifo_and_directory(tmp_path: Path) -> None:
    # the tests run as root, for whom file modes do not deny reads: a dangling link cannot be
    # opened by anyone, and a FIFO would block a naive reader forever
    (tmp_path / "gone.conf").symlink_to(tmp_path / "missing-target.conf")
    os.mkfifo(tmp_path / "pipe.conf")
    (tmp_path / "adir").mkdir()
    (tmp_path / "main").mkdir()
    main = tmp_path / "main" / "nginx.conf"
    main.write_text(
        "http {\n  include ../gone.conf;\n  include ../pipe.conf;\n  include ../adir;\n  ssl_protocols TLSv1.2;\n}\n"
    )
    observations = collect(main)
    where = f"included from {main}"
    assert _messages(observations) == [
        (
            str(tmp_path / "main" / ".." / "gone.conf"),
            f"cannot read included file: No such file or directory ({where}:2)",
        ),
        (str(tmp_path / "main" / ".." / "pipe.conf"), f"included path is not a regular file ({where}:3)"),
        (str(tmp_path / "main" / ".." / "adir"), f"included path is a directory ({where}:4)"),
    ]
    assert len(_configs(observations)) == 1


def test_dangling_link_to_a_config_in_a_walked_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").symlink_to(tmp_path / "nowhere.conf")
    (tmp_path / "ok.conf").write_text(GOOD_NGINX)
    observations = collect(tmp_path)
    message = f"cannot read file: No such file or directory (a symbolic link to '{tmp_path / 'nowhere.conf'}')"
    assert _messages(observations) == [(str(tmp_path / "nginx.conf"), message)]
    assert _configs(observations) == {f"config:nginx:{tmp_path / 'ok.conf'}"}


def test_missing_certificate_named_by_a_config_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text(
        "http { server { listen 443 ssl; ssl_certificate certs/none.crt; ssl_certificate_key certs/none.key; } }\n"
    )
    observations = collect(tmp_path / "nginx.conf")
    named_by = f"named by {tmp_path / 'nginx.conf'} line 1"
    assert sorted(_messages(observations)) == [
        (
            str(tmp_path / "certs" / "none.crt"),
            f"{named_by} (certificate): cannot read file: No such file or directory",
        ),
        (
            str(tmp_path / "certs" / "none.key"),
            f"{named_by} (private-key): cannot read file: No such file or directory",
        ),
    ]
    assert all(isinstance(e, CollectionError) and e.collector == "files" for e in errors(observations))


def test_deeply_nested_blocks_are_parsed_without_exhausting_the_stack(tmp_path: Path) -> None:
    depth = 20_000  # far past Python's recursion limit
    (tmp_path / "nginx.conf").write_text("http {" * depth + "server { listen 443 ssl; }" + "}" * depth)
    apache = "<IfModule x>\n" * depth + "<VirtualHost *:443>\nSSLEngine on\n</VirtualHost>\n" + "</IfModule>\n" * depth
    (tmp_path / "httpd.conf").write_text(apache)
    observations = collect(tmp_path)
    assert errors(observations) == []
    configs = {o.id: o for o in observations if isinstance(o, Asset) and o.type is AssetType.CONFIG}
    (vhost,) = configs[f"config:apache:{tmp_path / 'httpd.conf'}"].properties["tls_contexts"]
    assert vhost["scope"] == "VirtualHost *:443"

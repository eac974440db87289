"""A file a configuration names but that is missing or unreadable: who named it, and whether it matters.

The Debian 12 corpus without the snakeoil certificate and key (a host without the ssl-cert package):
stock, the only configs naming them are a snippet no site includes (nginx) and a site not enabled
(Apache), so the scan has no error and the two config assets record the missing files; hardened, a
TLS site in effect names them, so each is an error naming the config, line and role.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, ScanResult

from .conftest import collect, errors, scan
from .corpus_trees import materialise

CERT = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
KEY = "/etc/ssl/private/ssl-cert-snakeoil.key"
NGINX_SNIPPET = "/etc/nginx/snippets/snakeoil.conf"
APACHE_SITE = "/etc/apache2/sites-available/default-ssl.conf"
APACHE_ENABLED = "/etc/apache2/sites-enabled/default-ssl.conf"
MISSING = "cannot read file: No such file or directory"
DENIED = "cannot read file: Permission denied"


def _without_snakeoil(variant: str, out: Path) -> Path:
    root = materialise(variant, out)
    for name in (CERT, KEY):
        (root / name.lstrip("/")).unlink()
    return root


def _missing(result: ScanResult, asset_id: str, root: Path) -> list[dict[str, Any]]:
    (asset,) = [a for a in result.assets if a.id == asset_id]
    return [
        {name: value.replace(str(root), "") if isinstance(value, str) else value for name, value in entry.items()}
        for entry in asset.properties.get("missing_references", [])
    ]


def _entries(file: str, cert_line: int, reason: str = MISSING) -> list[dict[str, Any]]:
    return [
        {"path": CERT, "role": "certificate", "file": file, "line": cert_line, "reason": reason},
        {"path": KEY, "role": "private-key", "file": file, "line": cert_line + 1, "reason": reason},
    ]


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    root = _without_snakeoil("stock", tmp_path_factory.mktemp("debian-stock-no-ssl-cert"))
    return root, scan([root / "etc"])


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    root = _without_snakeoil("hardened", tmp_path_factory.mktemp("debian-hardened-no-ssl-cert"))
    return root, scan([root / "etc"])


def test_stock_without_ssl_cert_has_no_error(stock: tuple[Path, ScanResult]) -> None:
    _, result = stock
    assert result.errors == ()
    # the files were looked for: examined, neither recognised nor failed
    assert result.sweep.failed == 0


def test_stock_records_the_missing_files_on_the_configs_not_in_effect(stock: tuple[Path, ScanResult]) -> None:
    root, result = stock
    assert _missing(result, f"config:nginx:{root}{NGINX_SNIPPET}", root) == _entries(NGINX_SNIPPET, 4)
    assert _missing(result, f"config:apache:{root}{APACHE_SITE}", root) == _entries(APACHE_SITE, 31)
    recorded = {a.id.replace(str(root), "") for a in result.assets if "missing_references" in a.properties}
    assert recorded == {f"config:nginx:{NGINX_SNIPPET}", f"config:apache:{APACHE_SITE}"}
    # the rest of each config asset is as before (the graph merged the second sighting into the first)
    (snippet,) = [a for a in result.assets if a.id == f"config:nginx:{root}{NGINX_SNIPPET}"]
    assert snippet.properties["composition"]["role"] == "not-included"
    assert [r["path"].replace(str(root), "") for r in snippet.properties["references"]] == [CERT, KEY]


def test_stock_findings_are_unchanged_without_ssl_cert(stock: tuple[Path, ScanResult]) -> None:
    _, result = stock
    assert sorted(f.rule_id for f in result.findings) == [
        "server.ssh.weak-mac",
        "server.tls.protocol-below-1.2",
        "server.tls.protocol-below-1.2",
    ]


def test_hardened_errors_name_the_config_line_and_role(hardened: tuple[Path, ScanResult]) -> None:
    root, result = hardened
    messages = {e.target.replace(str(root), ""): e.message.replace(str(root), "") for e in result.errors}
    assert messages == {
        CERT: f"named by {APACHE_ENABLED} line 31 (certificate), {NGINX_SNIPPET} line 4 (certificate): {MISSING}",
        KEY: f"named by {APACHE_ENABLED} line 32 (private-key), {NGINX_SNIPPET} line 5 (private-key): {MISSING}",
    }
    assert {e.collector for e in result.errors} == {"files"}
    assert result.sweep.failed == 2


def test_hardened_records_the_missing_files_on_the_configs_in_effect(hardened: tuple[Path, ScanResult]) -> None:
    root, result = hardened
    # the snippet the enabled site includes, and the root that composes it
    assert _missing(result, f"config:nginx:{root}{NGINX_SNIPPET}", root) == _entries(NGINX_SNIPPET, 4)
    assert _missing(result, f"config:nginx:{root}/etc/nginx/nginx.conf", root) == _entries(NGINX_SNIPPET, 4)
    # the enabled site (one asset by its real path) and apache2.conf, where it is written through the link
    assert _missing(result, f"config:apache:{root}{APACHE_SITE}", root) == _entries(APACHE_ENABLED, 31)
    assert _missing(result, f"config:apache:{root}/etc/apache2/apache2.conf", root) == _entries(APACHE_ENABLED, 31)


def _servers(root: Path) -> list[Path]:
    """The servers' trees only: /etc/ssl is not walked, so the key is read as a file they name (as for an
    unprivileged user, to whom /etc/ssl/private cannot be listed; a walked file that cannot be read
    stays an error of its own)."""
    return [root / "etc" / "nginx", root / "etc" / "apache2"]


@pytest.fixture
def denied(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """Opening the snakeoil key fails as it does for an unprivileged user (the tests may run as root)."""
    real_open = os.open

    def deny(root: Path) -> None:
        key = str(root / KEY.lstrip("/"))

        def fake_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if os.fspath(path) == key:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), key)
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", fake_open)

    return deny


def test_an_unreadable_key_named_only_by_configs_not_in_effect_is_no_error(
    tmp_path: Path, denied: Callable[[Path], None]
) -> None:
    root = materialise("stock", tmp_path)
    denied(root)
    result = scan(_servers(root))
    assert result.errors == ()
    snippet = _missing(result, f"config:nginx:{root}{NGINX_SNIPPET}", root)
    assert snippet == [{"path": KEY, "role": "private-key", "file": NGINX_SNIPPET, "line": 5, "reason": DENIED}]
    # the certificate beside it was read
    assert any(a.type is AssetType.CERTIFICATE for a in result.assets)


def test_an_unreadable_key_named_by_a_site_in_effect_is_an_error_naming_it(
    tmp_path: Path, denied: Callable[[Path], None]
) -> None:
    root = materialise("hardened", tmp_path)
    denied(root)
    result = scan(_servers(root))
    messages = [(e.target.replace(str(root), ""), e.message.replace(str(root), "")) for e in result.errors]
    assert messages == [
        (KEY, f"named by {APACHE_ENABLED} line 32 (private-key), {NGINX_SNIPPET} line 5 (private-key): {DENIED}")
    ]


def _graph(*paths: Path) -> InventoryGraph:
    graph = InventoryGraph()
    graph.add_all(collect(*paths))
    return graph


def test_a_file_forgiven_first_is_an_error_once_a_config_in_effect_names_it(tmp_path: Path) -> None:
    """The site not enabled is collected first (its own --path); a root given next names the same key."""
    root = _without_snakeoil("stock", tmp_path / "debian")
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "nginx.conf").write_text(
        f"events {{}}\nhttp {{\n  server {{\n    listen 443 ssl;\n    ssl_certificate_key {root}{KEY};\n  }}\n}}\n"
    )
    graph = _graph(root / APACHE_SITE.lstrip("/"), custom)
    key = f"{root}{KEY}"
    assert [(e.target, e.message) for e in graph.errors] == [
        (key, f"named by {custom / 'nginx.conf'} line 5 (private-key): {MISSING}")
    ]
    site = graph.asset(f"config:apache:{root}{APACHE_SITE}").properties["missing_references"]
    assert [(m["path"], m["line"]) for m in site] == [(f"{root}{CERT}", 31), (key, 32)]
    mine = graph.asset(f"config:nginx:{custom / 'nginx.conf'}").properties["missing_references"]
    assert [(m["path"], m["role"], m["line"]) for m in mine] == [(key, "private-key", 5)]
    # the certificate stays forgiven, the key failed once a config in effect named it
    assert graph.sweep.failed == 1


def test_a_walked_file_that_cannot_be_read_stays_an_error(tmp_path: Path) -> None:
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "gone.pem")
    observations = collect(tmp_path)
    assert [e.message for e in errors(observations)] == [f"{MISSING} (a symbolic link to '{tmp_path / 'gone.pem'}')"]
    assert not [o for o in observations if isinstance(o, Asset) and "missing_references" in o.properties]


def test_the_same_outcome_from_worker_processes_and_from_the_file_cache(tmp_path: Path) -> None:
    from scanner.collectors.base import CollectContext
    from scanner.collectors.files.collector import FileCollector
    from scanner.scan import path_targets

    root = _without_snakeoil("stock", tmp_path / "debian")

    def outcome(**options: Any) -> tuple[list[str], dict[str, Any], tuple[int, int, int, int]]:
        graph = InventoryGraph()
        graph.add_all(FileCollector().collect(path_targets([root / "etc"]), CollectContext(options=options)))
        missing = {a.id: a.properties.get("missing_references") for a in graph.assets(AssetType.CONFIG)}
        missing = {name: entries for name, entries in missing.items() if entries}
        counts = (graph.sweep.examined, graph.sweep.recognised, graph.sweep.skipped, graph.sweep.failed)
        return [e.message for e in graph.errors], missing, counts

    alone = outcome()
    assert alone[0] == [] and len(alone[1]) == 2
    cache = tmp_path / "cache"
    assert outcome(file_workers=2) == alone
    assert outcome(file_cache=str(cache)) == alone
    assert outcome(file_cache=str(cache), file_workers=2) == alone  # every parse from the cache

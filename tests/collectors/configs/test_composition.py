"""Configuration judged as the server composes it: roots, includes, symlinks, effective sshd settings.

The regression corpus is the Debian 12 packages' own default trees (stock and hardened, see
corpus/debian12/README.md), each with its exact expected findings. Oracles: ``sshd -T`` for the
effective OpenSSH lists, a running nginx for its default protocols.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.configs.apache import ApacheHandler
from scanner.collectors.configs.nginx import installed_version
from scanner.collectors.configs.ssh import DEFAULT_HOST_KEYS, installed_openssh
from scanner.inventory.model import Asset, AssetType, ScanResult
from tests.support.sshd import SSHD, privilege_separation_directory

from .conftest import collect, errors, scan
from .corpus_trees import materialise


def _rel(value: str, root: Path) -> str:
    return value.replace(str(root), "")


def _findings(result: ScanResult, root: Path) -> set[tuple[str, str, str]]:
    return {
        (f.rule_id, _rel(f.asset_id, root), _rel(f"{f.evidence.get('file')}:{f.evidence.get('line')}", root))
        for f in result.findings
    }


def _config(result: ScanResult, asset_id: str) -> Asset:
    (found,) = [a for a in result.assets if a.id == asset_id]
    return found


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    root = materialise("stock", tmp_path_factory.mktemp("debian-stock"))
    return root, scan([root / "etc"])


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ScanResult]:
    root = materialise("hardened", tmp_path_factory.mktemp("debian-hardened"))
    return root, scan([root / "etc"])


def test_debian_stock_trees_get_exactly_the_expected_findings(stock: tuple[Path, ScanResult]) -> None:
    root, result = stock
    assert result.errors == ()
    # nginx's "ssl_protocols TLSv1 TLSv1.1 ..." in the http block and mod_ssl's "SSLProtocol all -SSLv3"
    # are right and stay; OpenSSH 9.2's compiled-in MACs include umac-64 and hmac-sha1 (sshd -T shows them)
    assert _findings(result, root) == {
        ("server.tls.protocol-below-1.2", "config:nginx:/etc/nginx/nginx.conf", "/etc/nginx/nginx.conf:33"),
        (
            "server.tls.protocol-below-1.2",
            "config:apache:/etc/apache2/mods-available/ssl.conf",
            "/etc/apache2/mods-available/ssl.conf:71",
        ),
        ("server.ssh.weak-mac", "config:sshd:/etc/ssh/sshd_config", "/etc/ssh/sshd_config:None"),
    }
    (mac,) = [f for f in result.findings if f.rule_id == "server.ssh.weak-mac"]
    assert mac.evidence["source"].startswith("OpenSSH 9.2")
    assert mac.evidence["weak"] == [
        "umac-64-etm@openssh.com",
        "hmac-sha1-etm@openssh.com",
        "umac-64@openssh.com",
        "hmac-sha1",
    ]


def test_debian_stock_nginx_http_settings_without_a_tls_server_are_low_with_the_reason(
    stock: tuple[Path, ScanResult],
) -> None:
    root, result = stock
    (finding,) = [f for f in result.findings if f.asset_id == f"config:nginx:{root}/etc/nginx/nginx.conf"]
    # the stock site listens on port 80 only: "ssl_protocols TLSv1 ..." waits for a TLS server
    assert finding.severity.value == "low"
    assert finding.evidence["rule_severity"] == "high"
    assert finding.evidence["not_in_effect"] == (
        f"no server that {root}/etc/nginx/nginx.conf includes serves TLS: in effect for any server that enables it"
    )
    assert finding.evidence["not_in_effect"] in finding.message


def test_the_same_nginx_http_settings_under_a_tls_server_stay_high(tmp_path: Path) -> None:
    root = materialise("stock", tmp_path)
    site = root / "etc/nginx/sites-enabled/default"
    # what Debian's default site says to do to serve TLS: uncomment its listen and snakeoil lines
    text = site.read_text().replace("# listen 443 ssl default_server;", "listen 443 ssl default_server;")
    site.unlink()  # a symbolic link to sites-available/default in the stock tree: the copy is the site
    site.write_text(text.replace("# include snippets/snakeoil.conf;", "include snippets/snakeoil.conf;"))
    result = scan([root / "etc" / "nginx"])
    (finding,) = [f for f in result.findings if f.rule_id == "server.tls.protocol-below-1.2"]
    assert finding.severity.value == "high" and "not_in_effect" not in finding.evidence
    assert finding.evidence["scope"] == "server _"
    assert _rel(f"{finding.evidence['file']}:{finding.evidence['line']}", root) == "/etc/nginx/nginx.conf:33"


def test_debian_stock_inactive_files_are_judged_only_on_what_they_write(stock: tuple[Path, ScanResult]) -> None:
    root, result = stock
    default_ssl = _config(result, f"config:apache:{root}/etc/apache2/sites-available/default-ssl.conf")
    assert default_ssl.properties["composition"]["role"] == "not-included"
    (ctx,) = default_ssl.properties["tls_contexts"]
    # a site that is not enabled gets no mod_ssl defaults and no per-server findings (HSTS, stapling)
    assert ctx["inactive"] is True and ctx["server"] is False and "protocols" not in ctx
    apache2 = _config(result, f"config:apache:{root}/etc/apache2/apache2.conf")
    assert apache2.properties["composition"]["role"] == "root"
    assert apache2.properties["server_root"] == f"{root}/etc/apache2"
    assert "compiled-in default" in apache2.properties["server_root_source"]


def test_debian_hardened_trees_get_no_findings_and_each_server_is_judged_at_its_root(
    hardened: tuple[Path, ScanResult],
) -> None:
    root, result = hardened
    assert result.errors == ()
    assert _findings(result, root) == set()
    nginx = _config(result, f"config:nginx:{root}/etc/nginx/nginx.conf")
    (server,) = nginx.properties["tls_contexts"]
    # the server in sites-enabled/default inherits protocols, stapling and HSTS from nginx.conf's http block
    assert (server["scope"], _rel(server["file"], root)) == ("server _", "/etc/nginx/sites-enabled/default")
    assert (server["protocols"], _rel(server["protocols_file"], root)) == (
        ["TLSv1.2", "TLSv1.3"],
        "/etc/nginx/nginx.conf",
    )
    assert (server["hsts"], server["hsts_max_age"], server["ocsp_stapling"]) == (True, 63072000, True)
    assert _rel(server["settings"]["ssl_certificate"][0], root) == "/etc/ssl/certs/ssl-cert-snakeoil.pem"
    apache = _config(result, f"config:apache:{root}/etc/apache2/apache2.conf")
    (vhost,) = apache.properties["tls_contexts"]
    assert _rel(vhost["file"], root) == "/etc/apache2/sites-enabled/default-ssl.conf"
    assert (vhost["protocols"], _rel(vhost["protocols_file"], root)) == (
        ["TLSv1.2", "TLSv1.3"],
        "/etc/apache2/mods-enabled/ssl.conf",
    )
    assert (vhost["ocsp_stapling"], vhost["hsts_max_age"]) == (True, 63072000)


def test_a_symlinked_site_is_one_asset_with_the_link_as_a_location(hardened: tuple[Path, ScanResult]) -> None:
    root, result = hardened
    site = _config(result, f"config:nginx:{root}/etc/nginx/sites-available/default")
    assert {loc.ref for loc in site.locations} == {
        f"{root}/etc/nginx/sites-available/default",
        f"{root}/etc/nginx/sites-enabled/default",
    }
    assert site.properties["composition"]["role"] == "included"
    assert list(site.properties["tls_contexts"]) == []
    assert not [a for a in result.assets if a.id == f"config:nginx:{root}/etc/nginx/sites-enabled/default"]


def test_a_snippet_without_a_server_still_records_the_files_it_names(hardened: tuple[Path, ScanResult]) -> None:
    root, result = hardened
    snippet = f"config:nginx:{root}/etc/nginx/snippets/snakeoil.conf"
    named = {(r.target, r.type.value) for r in result.relations if r.source == snippet}
    assert named == {
        (f"file:{root}/etc/ssl/certs/ssl-cert-snakeoil.pem", "references"),
        (f"file:{root}/etc/ssl/private/ssl-cert-snakeoil.key", "references"),
    }


def test_a_site_scanned_alone_is_judged_in_its_root_read_as_that_one_file(tmp_path: Path) -> None:
    root = materialise("hardened", tmp_path)
    site = root / "etc/nginx/sites-enabled/default"
    result = scan([site])
    # "include snippets/snakeoil.conf" resolves against the nginx prefix, not the site's folder
    assert [e for e in result.errors if "snakeoil" in e.target] == []
    assert _findings(result, root) == set()
    nginx_conf = _config(result, f"file:{root}/etc/nginx/nginx.conf")
    assert nginx_conf.properties["outside_scanned_paths"] is True
    (server,) = _config(result, f"config:nginx:{root}/etc/nginx/nginx.conf").properties["tls_contexts"]
    assert server["hsts"] is True


def test_apache2_conf_is_recognised_although_its_head_is_comments() -> None:
    text = (materialise_stock_file("etc/apache2/apache2.conf")).read_bytes()
    assert b"Include" not in text[:4096].split(b"\n#")[0]
    assert ApacheHandler().sniff(Path("/etc/apache2/apache2.conf"), text[:4096])


def materialise_stock_file(relative: str) -> Path:
    from .corpus_trees import CORPUS

    return CORPUS / "stock" / relative


# -- sshd: effective lists, checked against sshd -T --------------------------------------------------

_SSHD_T = {
    "ciphers": "ciphers",
    "macs": "macs",
    "kexalgorithms": "kex",
    "hostkeyalgorithms": "host_key_algorithms",
    "pubkeyacceptedalgorithms": "pubkey_accepted_algorithms",
    "casignaturealgorithms": "ca_signature_algorithms",
}


def _sshd_t(config: Path, host_key: Path) -> dict[str, list[str]]:
    privilege_separation_directory()
    done = subprocess.run(
        [SSHD, "-T", "-f", str(config), "-h", str(host_key)], capture_output=True, text=True, timeout=30, check=True
    )
    values = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    return {prop: values[key].split(",") for key, prop in _SSHD_T.items()}


def _ours(config: Path) -> dict[str, list[str]]:
    (asset,) = [
        o for o in collect(config) if isinstance(o, Asset) and o.type is AssetType.CONFIG and o.id.endswith(str(config))
    ]
    (glob,) = [c for c in asset.properties["ssh_contexts"] if c["scope"] == "global"]
    return {prop: list(glob[prop]["names"]) for prop in _SSHD_T.values()}


@pytest.fixture(scope="module")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("sshd-key") / "host_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    return key


@pytest.mark.parametrize(
    ("main", "dropin"),
    [
        ("Port 22\n", ""),
        ("Ciphers aes256-gcm@openssh.com,aes128-ctr\n", ""),
        ("MACs +hmac-md5\nKexAlgorithms -diffie-hellman-group14-sha256,ecdh-sha2-*\n", ""),
        ("HostKeyAlgorithms ^ssh-rsa\nCASignatureAlgorithms -rsa-sha2-*\n", ""),
        (
            "Include conf.d/*.conf\nCiphers aes128-cbc\n",
            "Ciphers=chacha20-poly1305@openssh.com\nMACs -*sha1*,umac-64*\n",
        ),
        ("PubkeyAcceptedAlgorithms +ssh-rsa,ssh-dss\nMatch User x\n  PubkeyAcceptedAlgorithms ssh-ed25519\n", ""),
    ],
)
def test_effective_sshd_lists_match_sshd_t(tmp_path: Path, host_key: Path, main: str, dropin: str) -> None:
    version = installed_openssh()
    assert version is not None and version[0].startswith("9.2")  # openssh-server from scripts/bootstrap.sh
    config = tmp_path / "sshd_config"
    config.write_text(main.replace("Include conf.d", f"Include {tmp_path}/conf.d"))
    if dropin:
        (tmp_path / "conf.d").mkdir()
        (tmp_path / "conf.d" / "10.conf").write_text(dropin)
    assert _ours(config) == _sshd_t(config, host_key)


def test_debian_stock_sshd_config_is_judged_as_sshd_t_reads_it(stock: tuple[Path, ScanResult], host_key: Path) -> None:
    root, _ = stock
    config = root / "etc/ssh/sshd_config"
    assert _ours(config) == _sshd_t(config, host_key)


def test_an_included_sshd_snippet_is_judged_at_its_root(hardened: tuple[Path, ScanResult], host_key: Path) -> None:
    root, result = hardened
    snippet = _config(result, f"config:sshd:{root}/etc/ssh/sshd_config.d/ssh-audit_hardening.conf")
    assert snippet.properties["composition"]["role"] == "included"
    assert list(snippet.properties["ssh_contexts"]) == []
    config = root / "etc/ssh/sshd_config"
    assert _ours(config) == _sshd_t(config, host_key)


def test_sshd_defaults_are_recorded_with_their_source(stock: tuple[Path, ScanResult]) -> None:
    root, result = stock
    props: Mapping[str, Any] = _config(result, f"config:sshd:{root}/etc/ssh/sshd_config").properties
    assert props["openssh_version"].startswith("9.2")
    assert "sshd -T" in props["defaults_source"] and "myproposal.h" in props["defaults_source"]


# -- nginx: the default protocols of the installed version, checked against nginx itself -------------


def test_nginx_without_ssl_protocols_offers_what_we_say_it_does(tmp_path: Path) -> None:
    from tests.support.tls_servers import free_port, nginx_binary, server_certificate, wait_for_port

    binary = nginx_binary()
    assert binary is not None and installed_version() is not None
    cert, key = server_certificate(tmp_path, "server")
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\nevents {{}}\n"
        f"http {{ access_log off; server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {cert};"
        f" ssl_certificate_key {key}; }} }}\n"
    )
    (ctx,) = _ours_nginx(conf)
    process = subprocess.Popen([binary, "-p", str(tmp_path), "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        offered = {name for name, flag in (("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")) if _handshake(port, flag)}
    finally:
        process.terminate()
        process.wait(10)
    assert offered == {p for p in ctx["protocols"] if p in ("TLSv1.2", "TLSv1.3")}
    assert ctx["protocols_source"].startswith(f"nginx {installed_version()[0]} default")  # type: ignore[index]


def _ours_nginx(conf: Path) -> list[Mapping[str, Any]]:
    (asset,) = [o for o in collect(conf) if isinstance(o, Asset) and o.type is AssetType.CONFIG]
    return list(asset.properties["tls_contexts"])


def _handshake(port: int, flag: str) -> bool:
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", flag, "-brief"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0 and "Protocol version" in done.stderr + done.stdout


# -- item 5: what a config names ---------------------------------------------------------------------


def test_a_named_directory_fifo_or_device_is_an_error_naming_it_and_never_walked(tmp_path: Path) -> None:
    import os

    from tests.support import pki

    outside = tmp_path / "outside"
    key = pki.rsa_key(2048)
    pki.write(outside / "cadir" / "ca.pem", pki.pem(pki.certificate(key, "ca.example", ca=True)), 0o644)
    os.mkfifo(outside / "fifo.pem")
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    (scanned / "nginx.conf").write_text(
        "events {}\nhttp { server { listen 443 ssl;\n"
        f"  ssl_certificate {outside}/cadir;\n  ssl_certificate_key {outside}/fifo.pem;\n"
        "  ssl_trusted_certificate /dev/null; } }\n"
    )
    (scanned / "sshd_config").write_text(f"HostKey {outside}\nCiphers aes128-ctr\n")
    observations = collect(scanned)
    messages = {(e.target, e.message) for e in errors(observations)}
    assert messages == {
        (f"{outside}/cadir", "named by a configuration, but is a directory, not a file"),
        (f"{outside}/fifo.pem", "named by a configuration, but is a FIFO, not a file"),
        ("/dev/null", "named by a configuration, but is a character device, not a file"),
        (str(outside), "named by a configuration, but is a directory, not a file"),
    }
    # nothing from inside the named directory was pulled into the scan
    assert not [o for o in observations if isinstance(o, Asset) and o.type is AssetType.CERTIFICATE]


def test_a_named_file_outside_the_scanned_paths_is_read_and_the_report_says_so(tmp_path: Path) -> None:
    from tests.support import pki

    key = pki.rsa_key(2048)
    outside = tmp_path / "elsewhere"
    cert = pki.write(outside / "site.pem", pki.pem(pki.certificate(key, "site.example")), 0o644)
    pki.write(outside / "other.pem", pki.pem(pki.certificate(key, "other.example")), 0o644)
    scanned = tmp_path / "conf"
    scanned.mkdir()
    (scanned / "nginx.conf").write_text(
        f"events {{}}\nhttp {{ server {{ listen 443 ssl; ssl_certificate {cert}; }} }}\n"
    )
    observations = collect(scanned)
    files = {o.id: o for o in observations if isinstance(o, Asset) and o.type is AssetType.FILE}
    assert files[f"file:{cert}"].properties["outside_scanned_paths"] is True
    assert files[f"file:{cert}"].properties["reason"] == "named by a configuration"
    assert f"file:{outside / 'other.pem'}" not in files  # only the exact file named
    assert "outside_scanned_paths" not in files[f"file:{scanned / 'nginx.conf'}"].properties


# -- includes resolved as the servers resolve them: nginx -T and apache2 -D DUMP_INCLUDES are the oracles ----


def _includes(result: ScanResult, asset_id: str) -> list[str]:
    return list(_config(result, asset_id).properties["includes"])


@pytest.mark.parametrize("variant", ["stock", "hardened"])
def test_nginx_reads_the_files_we_compose(variant: str, tmp_path: Path) -> None:
    from tests.support.tls_servers import nginx_binary

    root = materialise(variant, tmp_path / "tree")
    conf = root / "etc/nginx/nginx.conf"
    binary = nginx_binary()
    assert binary is not None
    # Debian's nginx prefix is /usr/share/nginx (load_module modules/... resolves there); -T tests and dumps
    done = subprocess.run(
        [binary, "-T", "-p", "/usr/share/nginx", "-c", str(conf)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    theirs = [
        line[len("# configuration file ") : -1]
        for line in done.stdout.splitlines()
        if line.startswith("# configuration file ")
    ]
    ours = _includes(scan([conf]), f"config:nginx:{conf}")
    assert [str(conf), *ours] == theirs


@pytest.mark.parametrize("variant", ["stock", "hardened"])
def test_apache_reads_the_files_we_compose(variant: str, tmp_path: Path) -> None:
    import os

    root = materialise(variant, tmp_path / "tree")
    conf = root / "etc/apache2/apache2.conf"
    run = tmp_path / "run"
    run.mkdir()
    # the variables Debian's /etc/apache2/envvars exports, pointed at the test's folder
    env = {
        **os.environ,
        "APACHE_RUN_USER": "www-data",
        "APACHE_RUN_GROUP": "www-data",
        "APACHE_PID_FILE": str(run / "apache2.pid"),
        "APACHE_RUN_DIR": str(run),
        "APACHE_LOCK_DIR": str(run),
        "APACHE_LOG_DIR": str(run),
    }
    done = subprocess.run(
        ["/usr/sbin/apache2", "-d", str(conf.parent), "-f", str(conf), "-t", "-D", "DUMP_INCLUDES"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    theirs = [line.split(")", 1)[1].strip() for line in done.stdout.splitlines() if line.strip().startswith("(")]
    ours = _includes(scan([conf]), f"config:apache:{conf}")
    assert [str(conf), *ours] == theirs


# -- a peer tool on the same sshd: ssh-audit flags every MAC we judge weak from the default ------------


def test_ssh_audit_flags_the_default_macs_we_flag(
    stock: tuple[Path, ScanResult], host_key: Path, tmp_path: Path
) -> None:
    from tests.support.tls_servers import free_port, wait_for_port

    root, result = stock
    (ours,) = [f for f in result.findings if f.rule_id == "server.ssh.weak-mac"]
    port = free_port()
    argv = [SSHD, "-D", "-e", "-f", str(root / "etc/ssh/sshd_config"), "-h", str(host_key)]
    argv += ["-o", f"ListenAddress=127.0.0.1:{port}", "-o", f"PidFile={tmp_path / 'sshd.pid'}"]
    privilege_separation_directory()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, process)
        done = subprocess.run(
            ["ssh-audit", "-n", "-t", "20", "-p", str(port), "127.0.0.1"], capture_output=True, text=True, timeout=90
        )
    finally:
        process.terminate()
        process.wait(10)
    # ssh-audit 2.5.0's JSON carries no verdicts: its text lines do, e.g. "(mac) hmac-sha1 -- [warn] ..."
    lines = [re.match(r"^\(mac\) (\S+)\s+-- \[(\w+)\]", line) for line in done.stdout.splitlines()]
    offered = [m.group(1) for m in lines if m]
    flagged = {m.group(1) for m in lines if m and m.group(2) in ("warn", "fail")}
    # what the live server offers is the list we computed, and ssh-audit warns on each MAC we call weak
    assert offered == list(_ours(root / "etc/ssh/sshd_config")["macs"])
    assert set(ours.evidence["weak"]) <= flagged


def test_sshd_without_hostkey_lines_references_the_default_host_keys(tmp_path: Path, host_key: Path) -> None:
    conf = tmp_path / "sshd_config"
    conf.write_text("Port 22\n")
    shutil.copy(host_key, tmp_path / "ssh_host_ed25519_key")
    observations = collect(conf)
    (config,) = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.CONFIG]
    assert [(r["path"], r["role"]) for r in config.properties["references"]] == [
        (str(tmp_path / "ssh_host_ed25519_key"), "host-key")
    ]
    assert config.properties["settings"]["scopes"]["global"]["hostkey_source"] == "OpenSSH default (no HostKey line)"
    # the key is collected as any named file is: one key node stored in that file
    keys = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert [k.properties["algorithm"] for k in keys] == ["Ed25519"]
    # sshd -T names the same compiled-in files (in its SSHDIR, /etc/ssh) when no HostKey is written
    done = subprocess.run([SSHD, "-T", "-f", str(conf)], capture_output=True, text=True, timeout=30, check=False)
    theirs = [Path(line.split(" ", 1)[1]) for line in done.stdout.splitlines() if line.startswith("hostkey ")]
    assert [p.name for p in theirs] == list(DEFAULT_HOST_KEYS) and {p.parent for p in theirs} == {Path("/etc/ssh")}


def test_a_site_not_enabled_is_judged_only_on_what_it_writes(tmp_path: Path) -> None:
    root = materialise("stock", tmp_path)
    sites = root / "etc/nginx/sites-available"
    (sites / "legacy").write_text("server {\n  listen 443 ssl;\n  ssl_ciphers RC4-SHA:HIGH;\n}\n")
    (sites / "plain-tls").write_text("server {\n  listen 443 ssl;\n  server_name quiet.example;\n}\n")
    result = scan([root / "etc/nginx"])
    # the disabled site's own weak cipher list is reported; nothing it inherits or defaults to is, and
    # nginx.conf's http-level protocols are reported once, on nginx.conf
    assert _findings(result, root) == {
        ("server.tls.protocol-below-1.2", "config:nginx:/etc/nginx/nginx.conf", "/etc/nginx/nginx.conf:33"),
        (
            "server.tls.weak-ciphers",
            "config:nginx:/etc/nginx/sites-available/legacy",
            "/etc/nginx/sites-available/legacy:3",
        ),
    }
    legacy = _config(result, f"config:nginx:{sites / 'legacy'}")
    assert legacy.properties["composition"]["role"] == "not-included"
    assert legacy.properties["composition"]["root"] == str(root / "etc/nginx/nginx.conf")


def test_a_setting_in_a_module_not_enabled_is_reported_low_with_why(stock: tuple[Path, ScanResult]) -> None:
    # Debian's mods-available/ssl.conf runs nothing until mod_ssl is enabled: reported, at low, with the
    # reason and the rule's own severity (nginx.conf's http block, which no TLS server uses yet: the test above)
    root, result = stock
    by_file = {
        _rel(str(f.evidence.get("file")), root): f
        for f in result.findings
        if f.rule_id == "server.tls.protocol-below-1.2"
    }
    module = by_file["/etc/apache2/mods-available/ssl.conf"]
    assert module.severity.value == "low" and module.evidence["rule_severity"] == "high"
    assert "not enabled" in module.evidence["not_in_effect"] and "not enabled" in module.message

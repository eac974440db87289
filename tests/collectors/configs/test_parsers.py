"""Each format's semantics: inheritance, defaults, includes, odd spacing, and the cipher-list logic."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.configs.apache import protocols_from
from scanner.collectors.configs.nginx import default_protocols, installed_version
from scanner.collectors.files.collector import FileCollector
from scanner.engine.checks_builtin.config import _cipher_weaknesses
from scanner.inventory.model import Asset, AssetType

from .conftest import collect

ALL_WEAK = {"RC4", "3DES", "DES", "NULL", "anonymous", "EXPORT", "MD5"}


def _config(path: Path) -> Mapping[str, Any]:
    (config,) = [o for o in collect(path) if isinstance(o, Asset) and o.type is AssetType.CONFIG]
    return config.properties


def test_nginx_inheritance_defaults_and_add_header_override(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        "http {\n"
        "    ssl_protocols   TLSv1.2   TLSv1.3 ;  # trailing comment\n"
        '    add_header Strict-Transport-Security "max-age=63072000" always;\n'
        "    ssl_stapling on;\n"
        "    server { listen 443 ssl; server_name a.example; }\n"
        "    server {\n"
        "        listen 443 ssl; server_name b.example;\n"
        "        ssl_protocols TLSv1.3;\n"
        "        add_header X-Frame-Options DENY;  # replaces every inherited add_header\n"
        "    }\n"
        "    server { listen 80; server_name plain.example; }\n"
        "}\n"
    )
    contexts = {c["scope"]: c for c in _config(conf)["tls_contexts"]}
    assert set(contexts) == {"server a.example", "server b.example"}
    a, b = contexts["server a.example"], contexts["server b.example"]
    assert (a["protocols"], a["hsts"], a["hsts_max_age"], a["ocsp_stapling"]) == (
        ["TLSv1.2", "TLSv1.3"],
        True,
        63072000,
        True,
    )
    assert (b["protocols"], b["hsts"], b["ocsp_stapling"]) == (["TLSv1.3"], False, True)


def test_nginx_server_without_ssl_protocols_gets_the_installed_versions_default(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\nhttp { server { listen 443 ssl; } }\n")
    (ctx,) = _config(conf)["tls_contexts"]
    found = installed_version()
    assert found is not None  # nginx-light is installed by scripts/bootstrap.sh
    assert ctx["protocols"] == list(default_protocols(*found).protocols)
    assert ctx["protocols_source"] == f"nginx {found[0]} default, read from {found[1]}"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.8.0", ["SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2"]),
        ("1.22.1", ["TLSv1", "TLSv1.1", "TLSv1.2"]),
        ("1.23.3", ["TLSv1", "TLSv1.1", "TLSv1.2"]),
        ("1.23.4", ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
        ("1.27.1", ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
    ],
)
def test_nginx_default_protocols_by_version(version: str, expected: list[str]) -> None:
    assert list(default_protocols(version).protocols) == expected
    unknown = default_protocols(None)
    assert "version unknown" in unknown.source and "TLSv1.3" in unknown.protocols


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["all", "-SSLv3"], ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
        (["-all", "+TLSv1.2", "+TLSv1.3"], ["TLSv1.2", "TLSv1.3"]),
        (["TLSv1.2"], ["TLSv1.2"]),
        (["all", "-SSLv3", "-TLSv1", "-TLSv1.1"], ["TLSv1.2", "TLSv1.3"]),
    ],
)
def test_apache_sslprotocol_semantics(args: list[str], expected: list[str]) -> None:
    assert protocols_from(args) == expected


def test_apache_vhost_inherits_server_config_and_minprotocol_overrides(tmp_path: Path) -> None:
    conf = tmp_path / "httpd.conf"
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "ssl.conf").write_text("SSLProtocol all -SSLv3\nSSLCipherSuite HIGH:!aNULL\n")
    conf.write_text(
        "ServerRoot " + str(tmp_path) + "\n"
        "IncludeOptional conf.d/*.conf\n"
        "IncludeOptional missing/*.conf\n"
        "<IfModule ssl_module>\n"
        "  <VirtualHost *:443>\n"
        "    SSLEngine On\n"
        "    SSLOpenSSLConfCmd MinProtocol TLSv1.2\n"
        "    Header always set Strict-Transport-Security \\\n"
        '        "max-age=31536000"\n'
        "  </VirtualHost>\n"
        "  <VirtualHost *:80>\n    ServerName plain\n  </VirtualHost>\n"
        "</IfModule>\n"
    )
    props = _config(conf)
    (ctx,) = props["tls_contexts"]
    assert ctx["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert ctx["ciphers"] == "HIGH:!aNULL"
    assert (ctx["hsts"], ctx["hsts_max_age"]) == (True, 31536000)
    assert props["includes"] == [str(tmp_path / "conf.d" / "ssl.conf")]


@pytest.mark.parametrize(
    ("body", "activated", "enforced"),
    [
        ("[provider_sect]\nfips = fips_sect\n[fips_sect]\nactivate = 1\n", True, False),
        ("[alg]\ndefault_properties = fips=yes\n", False, True),
        (
            '[provider_sect]\nfips = fips_sect\n[fips_sect]\nactivate = 1\n[alg]\ndefault_properties = "fips=yes"\n',
            True,
            True,
        ),
        ("[provider_sect]\n# fips = fips_sect\ndefault = d\n[d]\nactivate = 1\n", False, False),
    ],
)
def test_openssl_fips_mode_needs_provider_and_default_properties(
    tmp_path: Path, body: str, activated: bool, enforced: bool
) -> None:
    conf = tmp_path / "openssl.cnf"
    conf.write_text("openssl_conf = init\n[ init ]\nproviders = provider_sect\nalg_section = alg\n" + body)
    props = _config(conf)
    assert (props["fips_provider_activated"], props["fips_default_properties"]) == (activated, enforced)
    assert props["fips_mode"] is (activated and enforced)


def test_ssh_first_value_wins_match_blocks_and_list_edits(tmp_path: Path) -> None:
    conf = tmp_path / "sshd_config"
    (tmp_path / "sshd_config.d").mkdir()
    (tmp_path / "sshd_config.d" / "10-crypto.conf").write_text("Ciphers=aes256-gcm@openssh.com\n")
    conf.write_text(
        "Include sshd_config.d/*.conf\n"
        "Ciphers aes128-cbc\n"  # ignored: the included value came first
        "MACs +hmac-sha1\n"
        "KexAlgorithms -diffie-hellman-group14-sha1\n"
        "Match Address 10.0.0.0/8\n"
        "    HostKeyAlgorithms ssh-rsa,ssh-ed25519\n"
    )
    scopes = {s["scope"]: s for s in _config(conf)["ssh_contexts"]}
    assert set(scopes) == {"global", "Match Address 10.0.0.0/8"}
    # what the file writes is kept; the list judged is the effective one (see test_composition's sshd -T oracle)
    ciphers, macs, kex = (scopes["global"][p] for p in ("ciphers", "macs", "kex"))
    assert ciphers["configured"] == {"names": ["aes256-gcm@openssh.com"], "mode": "replace"}
    assert (ciphers["names"], ciphers["source"]) == (["aes256-gcm@openssh.com"], "config")
    assert macs["configured"] == {"names": ["hmac-sha1"], "mode": "append"}
    assert macs["source"].startswith("config edits the OpenSSH 9.2")
    assert kex["configured"]["mode"] == "remove" and "diffie-hellman-group14-sha1" not in kex["names"]
    assert scopes["Match Address 10.0.0.0/8"]["host_key_algorithms"]["names"] == ["ssh-rsa", "ssh-ed25519"]


def test_ssh_client_config_is_kind_ssh_with_host_scopes(tmp_path: Path) -> None:
    conf = tmp_path / "ssh_config"
    conf.write_text("Host legacy\n    KexAlgorithms diffie-hellman-group1-sha1\nHost *\n    SendEnv LANG\n")
    props = _config(conf)
    assert props["kind"] == "ssh"
    assert [s["scope"] for s in props["ssh_contexts"]] == ["Host legacy", "Host *"]


def test_java_security_continuations_and_disabled_protocols(tmp_path: Path) -> None:
    conf = tmp_path / "java.security"
    conf.write_text(
        "! a comment\nsecurity.provider.1=com.safelogic.cryptocomply.jcajce.provider.CryptoComplyFipsProvider\n"
        "jdk.tls.disabledAlgorithms = SSLv3, TLSv1, \\\n    TLSv1.1, RC4\nkeystore.type : BCFKS\n"
    )
    props = _config(conf)
    (ctx,) = props["tls_contexts"]
    assert ctx["protocols"] == ["TLSv1.2", "TLSv1.3"]
    assert props["settings"]["keystore.type"] == "BCFKS"
    assert props["fips_providers"] == ["com.safelogic.cryptocomply.jcajce.provider.CryptoComplyFipsProvider"]


def test_java_security_constraints_keep_their_conditions(tmp_path: Path) -> None:
    conf = tmp_path / "java.security"
    conf.write_text(
        "jdk.disabled.namedCurves = secp112r1, secp112r2\n"
        "jdk.certpath.disabledAlgorithms=MD2, MD5, SHA1 jdkCA & usage TLSServer, \\\n"
        "    RSA keySize < 1024, DSA keySize < 1024, EC keySize < 224, \\\n"
        "    SHA1 usage SignedJAR & denyAfter 2019-01-01, \\\n"
        "    include jdk.disabled.namedCurves\n"
        "jdk.tls.disabledAlgorithms=SSLv3, TLSv1 usage TLSClient, DH keySize < 1024, 3DES_EDE_CBC\n"
    )
    props = _config(conf)
    certpath = {e["text"]: e for e in props["disabled_algorithms"]["jdk.certpath.disabledAlgorithms"]}
    assert certpath["SHA1 jdkCA & usage TLSServer"]["conditions"] == [
        {"type": "jdkCA"},
        {"type": "usage", "uses": ["TLSServer"]},
    ]
    assert certpath["RSA keySize < 1024"]["conditions"] == [{"type": "keySize", "operator": "<", "bits": 1024}]
    assert certpath["SHA1 usage SignedJAR & denyAfter 2019-01-01"]["conditions"][1] == {
        "type": "denyAfter",
        "date": "2019-01-01",
    }
    assert certpath["MD5"]["unconditional"] is True
    assert [e["text"] for e in certpath["include jdk.disabled.namedCurves"]["expanded"]] == ["secp112r1", "secp112r2"]
    (ctx,) = props["tls_contexts"]
    # "TLSv1 usage TLSClient" disables TLS 1.0 for clients only: a server still offers it
    assert ctx["protocols"] == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert ctx["settings"]["disabled_with_conditions"] == ["TLSv1 usage TLSClient", "DH keySize < 1024"]


@pytest.mark.parametrize(
    ("cipher_list", "expected"),
    [
        ("RC4-SHA:DES-CBC3-SHA:HIGH:!aNULL", {"RC4": ["RC4-SHA"], "3DES": ["DES-CBC3-SHA"]}),
        ("HIGH:!aNULL:!MD5", {}),
        ("ALL", {"anonymous": ["ALL"]}),
        ("ALL:!aNULL:!eNULL", {}),
        ("HIGH:RC4:!RC4", {}),
        (
            "TLS_RSA_WITH_DES_CBC_SHA,TLS_RSA_WITH_NULL_SHA256",
            {"DES": ["TLS_RSA_WITH_DES_CBC_SHA"], "NULL": ["TLS_RSA_WITH_NULL_SHA256"]},
        ),
        ("ECDHE+AESGCM:RSA+3DES", {"3DES": ["RSA+3DES"]}),
        ("EXP-RC4-MD5", {"RC4": ["EXP-RC4-MD5"], "EXPORT": ["EXP-RC4-MD5"], "MD5": ["EXP-RC4-MD5"]}),
        ("DEFAULT@SECLEVEL=2", {}),
    ],
)
def test_cipher_list_weaknesses_honour_exclusions(cipher_list: str, expected: dict[str, list[str]]) -> None:
    assert _cipher_weaknesses(cipher_list, ALL_WEAK) == expected


SNIFFED = {
    "good/nginx.conf": "nginx",
    "good/snippets/tls-params.conf": "nginx",
    "good/apache-ssl.conf": "apache",
    "good/openssl.cnf": "openssl-cnf",
    "good/fipsmodule.cnf": "openssl-cnf",
    "good/sshd_config": "ssh",
    "good/java.security": "java-security",
    "good/app.env": "secrets",
    "weak/app.env": "secrets",
    "weak/nginx.conf": "nginx",
    "weak/apache-ssl.conf": "apache",
    "weak/openssl.cnf": "openssl-cnf",
    "weak/sshd_config": "ssh",
    "weak/java.security": "java-security",
    "keys/weak-rsa1024.key": "crypto",
    "keys/dh-modp1536.pem": "crypto",
}


@pytest.mark.parametrize(("relative", "handler"), sorted(SNIFFED.items()))
def test_each_sample_is_claimed_by_its_handler_from_content(samples: Path, relative: str, handler: str) -> None:
    path = samples / relative
    head = path.read_bytes()[:4096]
    collector = FileCollector()
    found = collector._handler_for(path, head)
    assert found is not None and found.name == handler
    # the name is only a hint: the same content under a neutral name goes to the same handler
    if handler not in ("secrets", "java-security"):
        renamed = collector._handler_for(Path("/nowhere/settings.txt"), head)
        assert renamed is not None and renamed.name == handler


def test_ssh_host_key_rule_also_judges_pubkey_and_ca_signature_lists(tmp_path: Path) -> None:
    from .conftest import scan

    conf = tmp_path / "sshd_config"
    conf.write_text(
        "Port 22\nHostKeyAlgorithms ssh-ed25519\nPubkeyAcceptedAlgorithms +ssh-rsa\n"
        "CASignatureAlgorithms ssh-ed25519\nMACs -hmac-sha1\n"
    )
    result = scan([conf])
    hits = sorted((f.rule_id, f.evidence["setting"], f.evidence["line"]) for f in result.findings)
    # "-hmac-sha1" removes only that name: the OpenSSH 9.2 default still has hmac-sha1-etm and umac-64
    assert hits == [
        ("server.ssh.weak-host-key-algorithm", "pubkey_accepted_algorithms", 3),
        ("server.ssh.weak-mac", "macs", 5),
    ]
    (mac,) = [f for f in result.findings if f.rule_id == "server.ssh.weak-mac"]
    assert mac.evidence["weak"] == ["umac-64-etm@openssh.com", "hmac-sha1-etm@openssh.com", "umac-64@openssh.com"]


def test_nginx_http_block_without_tls_server_checks_protocols_but_not_server_rules(tmp_path: Path) -> None:
    from .conftest import scan

    debian_like = tmp_path / "nginx.conf"
    debian_like.write_text("http {\n  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n  include sites/*;\n}\n")
    snippet = tmp_path / "ciphers.conf"
    snippet.write_text("ssl_ciphers HIGH:!aNULL;\nssl_prefer_server_ciphers on;\n")
    result = scan([debian_like, snippet])
    hits = sorted((f.rule_id, f.asset_id, f.evidence["scope"]) for f in result.findings)
    assert hits == [("server.tls.protocol-below-1.2", f"config:nginx:{debian_like}", "http block")]

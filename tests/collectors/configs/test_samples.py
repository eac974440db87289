"""The committed samples, end to end: exact findings of the server-config pack on each good and weak file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from scanner.inventory.model import AssetType, ScanResult

from .conftest import scan

PROTOCOL = "server.tls.protocol-below-1.2"
CIPHERS = "server.tls.weak-ciphers"
DH = "server.tls.dh-params-small"
STAPLING = "server.tls.no-ocsp-stapling"
HSTS = "server.tls.no-hsts"
FIPS = "server.openssl.not-fips"
SSH_CIPHER = "server.ssh.weak-cipher"
SSH_MAC = "server.ssh.weak-mac"
SSH_KEX = "server.ssh.weak-kex"
SSH_PQ = "server.ssh.no-pq-kex"
SECRET = "server.secret.plaintext"

WEAK_EXPECTED = {
    ("nginx", "nginx.conf"): {PROTOCOL, CIPHERS, DH, STAPLING, HSTS},
    ("apache", "apache-ssl.conf"): {PROTOCOL, CIPHERS, STAPLING, HSTS},
    ("openssl", "openssl.cnf"): {PROTOCOL, FIPS},
    ("sshd", "sshd_config"): {SSH_CIPHER, SSH_MAC, SSH_KEX, SSH_PQ},
    ("java-security", "java.security"): {PROTOCOL},
}
GOOD_CONFIGS = {
    "nginx.conf": "nginx",
    "snippets/tls-params.conf": "nginx",
    "apache-ssl.conf": "apache",
    "openssl.cnf": "openssl",
    "fipsmodule.cnf": "openssl",
    "sshd_config": "sshd",
    "sshd_config.d/50-hardening.conf": "sshd",
    "java.security": "java-security",
}


def _by_asset(result: ScanResult) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in result.findings:
        found.setdefault(finding.asset_id, set()).add(finding.rule_id)
    return found


def test_weak_samples_get_exactly_the_expected_findings(samples: Path) -> None:
    result = scan([samples / "weak"])
    weak = samples / "weak"
    by_asset = _by_asset(result)
    expected = {f"config:{kind}:{weak / name}": rules for (kind, name), rules in WEAK_EXPECTED.items()}
    secrets = {a.id for a in result.assets if a.type is AssetType.SECRET}
    configs = {k: v for k, v in by_asset.items() if k.startswith("config:")}
    assert configs == expected
    assert {k: v for k, v in by_asset.items() if not k.startswith("config:")} == {s: {SECRET} for s in secrets}
    assert result.errors == ()


def test_weak_samples_show_the_issue_categories(samples: Path) -> None:
    result = scan([samples / "weak"])
    categories: dict[str, set[str]] = {}
    for finding in result.findings:
        categories.setdefault(finding.asset_id.rsplit("/", 1)[-1], set()).add(finding.category)
    assert {"protocol", "algorithm"} <= categories["nginx.conf"]
    assert "algorithm" in categories["sshd_config"]
    assert "protocol" in categories["openssl.cnf"]
    assert categories["java.security"] == {"protocol"}


def test_weak_env_names_each_secret_line_and_kind(samples: Path) -> None:
    result = scan([samples / "weak"])
    env = samples / "weak" / "app.env"
    found = sorted(
        (f.evidence["line"], f.evidence["kind"], f.evidence.get("name")) for f in result.findings if f.rule_id == SECRET
    )
    assert found == [
        (5, "password", "DB_PASSWORD"),
        (6, "aws-access-key-id", None),
        (7, "secret", "AWS_SECRET_ACCESS_KEY"),
    ]
    assert all(f.evidence["path"] == str(env) for f in result.findings if f.rule_id == SECRET)


def test_good_samples_get_no_findings_and_every_kind_is_inventoried(samples: Path) -> None:
    result = scan([samples / "good"])
    good = samples / "good"
    configs = {a.id for a in result.assets if a.type is AssetType.CONFIG}
    assert configs == {f"config:{kind}:{good / name}" for name, kind in GOOD_CONFIGS.items()}
    assert [f.rule_id for f in result.findings] == []
    assert not [a for a in result.assets if a.type is AssetType.SECRET]
    assert result.errors == ()


def test_good_openssl_is_in_fips_mode_through_its_include(samples: Path) -> None:
    result = scan([samples / "good" / "openssl.cnf"])
    (config,) = [a for a in result.assets if a.type is AssetType.CONFIG]
    assert config.properties["fips_mode"] is True
    assert config.properties["includes"] == [str(samples / "good" / "fipsmodule.cnf")]


def test_weak_key_in_nginx_is_one_node_reachable_from_the_config(samples: Path) -> None:
    result = scan([samples / "weak" / "nginx.conf"], "server-config", "cms-km-handbook")
    config_id = f"config:nginx:{samples / 'weak' / 'nginx.conf'}"
    keys = samples / "keys"
    referenced = {r.target for r in result.relations if r.source == config_id and r.type.value == "references"}
    assert referenced == {
        f"file:{keys / 'weak-rsa1024.crt'}",
        f"file:{keys / 'weak-rsa1024.key'}",
        f"file:{keys / 'dh-modp1536.pem'}",
    }
    stored = {r.source for r in result.relations if r.type.value == "stored-in" and r.target in referenced}
    key_ids = {s for s in stored if s.startswith("key:")}
    assert len(key_ids) == 1  # the key file and the certificate's public key are one node
    (key_id,) = key_ids
    certified = {r.target for r in result.relations if r.type.value == "certifies"}
    assert key_id in certified
    key = next(a for a in result.assets if a.id == key_id)
    assert (key.properties["algorithm"], key.properties["key_size"]) == ("RSA", 1024)
    assert "cms.key.min-strength" in {f.rule_id for f in result.findings if f.asset_id == key_id}


def test_findings_carry_file_and_line(samples: Path) -> None:
    result = scan([samples / "weak"])
    nginx = str(samples / "weak" / "nginx.conf")
    lines = {f.rule_id: (f.evidence["file"], f.evidence["line"]) for f in result.findings if nginx in f.asset_id}
    assert lines == {
        PROTOCOL: (nginx, 7),
        CIPHERS: (nginx, 8),
        DH: (nginx, 15),
        STAPLING: (nginx, 10),
        HSTS: (nginx, 10),
    }


def test_start_script_writes_scan_args(samples: Path) -> None:
    lines = (samples / "scan-args").read_text().split()
    assert lines == ["--path", str(samples / "good"), "--path", str(samples / "weak")]


def _nginx_test(conf: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"  # installed by scripts/bootstrap.sh (nginx-light)
    directives = f"pid {tmp_path / 'nginx.pid'}; error_log stderr;"
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-g", directives],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_nginx_itself_reads_the_samples_as_we_do(samples: Path, tmp_path: Path) -> None:
    # the good sample passes nginx -t, so its include and relative paths resolve where we resolve them
    good = _nginx_test(samples / "good" / "nginx.conf", tmp_path)
    assert good.returncode == 0, good.stderr
    # the weak one is valid syntax; OpenSSL 3 itself refuses its 1024-bit key, as our key-size rule does
    weak = _nginx_test(samples / "weak" / "nginx.conf", tmp_path)
    assert weak.returncode != 0
    assert "weak-rsa1024.crt" in weak.stderr and "key too small" in weak.stderr

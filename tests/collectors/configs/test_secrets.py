"""Plaintext secrets: found by kind and line, never carried as values into any output."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.collectors.configs import secrets
from scanner.collectors.files.collector import FileCollector
from scanner.collectors.files.crypto_material import CryptoMaterialHandler
from scanner.inventory.model import Asset, AssetType, Relation, RelationType
from tests.support import pki

from .conftest import collect, errors, scan

# planted fakes shaped like real credentials (AWS's documented example key is excluded as an example)
AWS_KEY_ID = "AKIA4QZ7RJ2XK5M3WP8N"
AWS_SECRET = "k3Vq9ZrT1mXw7LpB2sNd8YfH0cJ6gUe4aR5tQo1W"
WEAK_VALUES = ("Fake-Sample-Pw-9f3K2q7Zx", AWS_KEY_ID, AWS_SECRET)


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("DB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx", "password"),
        ("export API_KEY='q8Zr2LmX0vTb7NcY'", "api-key"),
        ('  "client_secret": "Zx81kQmv0Lr7TsYw",', "secret"),
        ("auth_token: 7fG2kLq9ZxW1mN4p", "token"),
        ("aws_access_key_id = " + AWS_KEY_ID, "aws-access-key-id"),
        ("GITHUB=ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "github-token"),
        (
            'KEY="-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeL..."',
            "private-key",
        ),
    ],
)
def test_detects_known_patterns_and_secret_assignments(line: str, kind: str) -> None:
    assert [(n, k) for n, k, _ in secrets.detect(f"# header\n{line}\n")] == [(2, kind)]


@pytest.mark.parametrize(
    "line",
    [
        "DB_PASSWORD=${DB_PASSWORD}",
        "DB_PASSWORD_FILE=/run/secrets/db",
        "password=changeme",
        "API_TOKEN=",
        "SECRET=short",
        "password: <your password here>",
        "# DB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx",
        "token_length = 32",
        "password=aaaaaaaaaaaa",
        "passwordless_login=true",
    ],
)
def test_ignores_references_placeholders_comments_and_low_entropy(line: str) -> None:
    assert secrets.detect(line + "\n") == []


def test_secret_asset_has_location_but_no_value(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("A=1\nDB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx\n")
    observations = collect(env)
    (secret,) = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET]
    assert dict(secret.properties) == {
        "kind": "password",
        "location": f"{env}:2",
        "path": str(env),
        "line": 2,
        "name": "DB_PASSWORD",
        "reason": "a literal with 4.2 bits/char of entropy assigned to the password-like name DB_PASSWORD",
    }
    assert Relation(secret.id, f"file:{env}", RelationType.STORED_IN) in observations
    assert "Fake-Sample-Pw" not in repr(observations)


def test_pem_key_pasted_in_env_is_a_secret_and_still_one_key_node(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    env = tmp_path / "service.env"
    env.write_bytes(
        b'SERVICE_URL=https://svc.internal\nAPI_KEY=q8Zr2LmX0vTb7NcY\nTLS_KEY="' + pki.key_pem(key) + b'"\n'
    )
    handler = CryptoMaterialHandler()
    assert not handler.sniff(env, env.read_bytes()[:4096])  # left to the secrets handler
    observations = collect(env)
    kinds = sorted(
        (o.properties["line"], o.properties["kind"])
        for o in observations
        if isinstance(o, Asset) and o.type is AssetType.SECRET
    )
    assert kinds == [(2, "api-key"), (3, "private-key")]
    keys = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert [(k.properties["algorithm"], k.properties["key_size"]) for k in keys] == [("RSA", 2048)]
    (file_asset,) = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.FILE]
    assert file_asset.properties["contains_plaintext_private_key"] is True
    assert errors(observations) == []


def test_pem_bundle_with_openssl_bag_attributes_still_goes_to_the_crypto_handler(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    cert = pki.certificate(key, "bag.example")
    data = (
        b"Bag Attributes\n    localKeyID: 01 02 03\n    friendlyName: server\nsubject=/CN=bag.example\n"
        b"issuer=/CN=bag.example\n" + pki.pem(cert) + b"Key Attributes: <No Attributes>\n" + pki.key_pem(key)
    )
    assert CryptoMaterialHandler().sniff(tmp_path / "bundle.pem", data[:4096])
    (tmp_path / "bundle.pem").write_bytes(data)
    observations = collect(tmp_path / "bundle.pem")
    assert not [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET]
    assert {o.type for o in observations if isinstance(o, Asset)} >= {AssetType.CERTIFICATE, AssetType.KEY}


def test_secrets_in_a_config_file_are_found_too(tmp_path: Path) -> None:
    conf = tmp_path / "openssl.cnf"
    conf.write_text("[req]\ndistinguished_name = dn\ninput_password = Zx81kQmv0Lr7TsYw\n[dn]\n")
    observations = collect(conf)
    (secret,) = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET]
    assert (secret.properties["kind"], secret.properties["line"]) == ("password", 3)
    assert "Zx81kQmv0Lr7TsYw" not in repr(observations)


def test_no_secret_value_in_json_stdout_stderr_or_logs(samples: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "keysweep"),
            "-vv",
            "scan",
            "--path",
            str(samples / "weak"),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    text = report.read_text()
    kinds = {f["evidence"]["kind"] for f in json.loads(text)["findings"] if f["rule_id"] == "server.secret.plaintext"}
    assert kinds == {"password", "aws-access-key-id", "secret"}
    for value in WEAK_VALUES:
        for output in (text, run.stdout, run.stderr):
            assert value not in output


def test_no_secret_value_in_library_logs(samples: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = scan([samples / "weak"])
    assert any(f.rule_id == "server.secret.plaintext" for f in result.findings)
    for value in WEAK_VALUES:
        assert value not in caplog.text
        assert value not in repr(result)


def test_collector_default_handlers_include_the_config_handlers() -> None:
    names = [h.name for h in FileCollector()._handlers]
    assert names[-1] == "secrets"
    assert {"nginx", "apache", "ssh", "openssl-cnf", "java-security"} <= set(names)


def test_secret_id_is_the_hash_of_its_location(tmp_path: Path) -> None:
    env = tmp_path / "x.env"
    env.write_text(f"KEYS={AWS_KEY_ID} ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" + "\n")
    (secret, relation) = secrets.scan(env, env.read_text())
    assert isinstance(secret, Asset) and isinstance(relation, Relation)
    assert secret.id == "secret:" + hashlib.sha256(f"{env}:1".encode()).hexdigest()
    assert secret.properties["kinds"] == ["aws-access-key-id", "github-token"]


def test_source_code_with_a_pem_marker_is_not_a_secret_but_a_pasted_key_is(tmp_path: Path) -> None:
    code = tmp_path / "ssh.py"
    code.write_text(
        '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n'
        "def load(data, password: typing.Optional[bytes], backend=None):\n"
        "    secret = Security.kSecImportExportPassphrase\n"
    )
    assert not [o for o in collect(code) if isinstance(o, Asset) and o.type is AssetType.SECRET]
    pasted = tmp_path / "deploy.py"
    pasted.write_bytes(b'KEY = """' + pki.key_pem(pki.ec_key()) + b'"""\npassword = "Zx81kQmv0Lr7TsYw"\n')
    found = [o for o in collect(pasted) if isinstance(o, Asset) and o.type is AssetType.SECRET]
    # source code is read for known formats only; the assignment is left to settings files
    assert [(s.properties["line"], s.properties["kind"]) for s in found] == [(1, "private-key")]


def test_a_key_pasted_into_source_past_its_head_is_found(tmp_path: Path) -> None:
    # pycryptodome's own tests define keys this way, 190 lines into a module (a file no handler knew
    # by its first 4 KB was skipped, its keys neither inventoried nor named)
    code = tmp_path / "test_import.py"
    preamble = "".join(f"def helper_{n}(value):\n    return value + {n}\n\n" for n in range(200))
    code.write_bytes(preamble.encode() + b'MISMATCH = """' + pki.key_pem(pki.ec_key()) + b'"""\n')
    assert len(preamble) > 4096 and not CryptoMaterialHandler().sniff(code, code.read_bytes()[:4096])
    observations = collect(code)
    found = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET]
    assert [(s.properties["line"], s.properties["kind"]) for s in found] == [(601, "private-key")]
    assert [o.properties["algorithm"] for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    # a large module that only quotes a marker is still not read
    quoting = tmp_path / "pem.py"
    quoting.write_bytes(preamble.encode() + b'_START = b"-----BEGIN PRIVATE KEY-----"\n')
    assert not [o for o in collect(quoting) if isinstance(o, Asset) and o.type is AssetType.SECRET]


def test_service_account_json_with_an_escaped_pem_key(tmp_path: Path) -> None:
    key_pem = pki.key_pem(pki.rsa_key(2048)).decode()
    document = {"type": "service_account", "client_email": "svc@example.iam", "private_key": key_pem}
    path = tmp_path / "svc-account.json"
    path.write_text(json.dumps(document, indent=2))
    observations = collect(path)
    found = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET]
    assert [(s.properties["line"], s.properties["kind"]) for s in found] == [(4, "private-key")]
    keys = [o for o in observations if isinstance(o, Asset) and o.type is AssetType.KEY]
    assert [k.properties["key_size"] for k in keys] == [2048]
    assert key_pem.splitlines()[1] not in repr(observations)

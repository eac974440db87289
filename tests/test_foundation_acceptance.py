"""The foundation issue's acceptance scan: one directory of real files, each with the findings its
name suggests, scanned through the real CLI."""

from __future__ import annotations

import hashlib
import os
import pwd
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import RunKeysweep
from tests.support import pki
from tests.support.openssl import issued, self_signed

P12_PASSWORD = "p12-Pa55word-for-tests"


def _cert_id(pem_or_der: bytes) -> str:
    if pem_or_der.startswith(b"-----"):
        from cryptography import x509

        pem_or_der = x509.load_pem_x509_certificate(pem_or_der).public_bytes(serialization.Encoding.DER)
    return "cert:sha256:" + hashlib.sha256(pem_or_der).hexdigest()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d = tmp_path_factory.mktemp("acceptance")
    ids: dict[str, object] = {"dir": d}

    weak = pki.certificate(pki.rsa_key(1024), "rsa1024.example")
    pki.write(d / "rsa1024.pem", pki.pem(weak), 0o644)
    ids["rsa1024"] = _cert_id(pki.pem(weak))

    ca_dir = tmp_path_factory.mktemp("ca")
    ca_cert, ca_key = self_signed(ca_dir, "test-ca")
    sha1_cert, sha1_key = issued(d, "sha1-signed", ca_cert, ca_key, digest="sha1")
    sha1_key.unlink()  # only the certificate is under test here
    ids["sha1"] = _cert_id(sha1_cert.read_bytes())

    expired = pki.certificate(pki.ec_key(), "expired.example", not_before=pki.NOW - 400 * pki.DAY, days=90)
    pki.write(d / "expired.pem", pki.pem(expired), 0o644)
    ids["expired"] = _cert_id(pki.pem(expired))

    five_year = pki.certificate(pki.ec_key(), "five-year.example", days=5 * 365 + 1)
    pki.write(d / "five-year.pem", pki.pem(five_year), 0o644)
    ids["five_year"] = _cert_id(pki.pem(five_year))

    good = pki.certificate(pki.ec_key(), "good-p256.example", days=90)
    pki.write(d / "good-p256.pem", pki.pem(good), 0o644)
    ids["good"] = _cert_id(pki.pem(good))

    mldsa = pki.ml_dsa_65_certificate("mldsa65.example")
    pki.write(d / "mldsa65.crt", mldsa, 0o644)
    ids["mldsa"] = _cert_id(mldsa)

    server_key = pki.rsa_key(2048)
    server = pki.certificate(server_key, "server.example", days=90)
    pki.write(d / "server.crt", pki.pem(server), 0o644)
    pki.write(d / "server.key", pki.key_pem(server_key), 0o644)  # world-readable plaintext key
    ids["server_cert"] = _cert_id(pki.pem(server))
    ids["server_key_file"] = f"file:{d / 'server.key'}"
    ids["server_key_pem"] = pki.key_pem(server_key)

    p12_key = pki.ec_key()
    p12_cert = pki.certificate(p12_key, "p12.example", days=90)
    pki.write(d / "bundle.p12", pki.pkcs12_bytes(p12_key, p12_cert, P12_PASSWORD.encode()))
    ids["p12_cert"] = _cert_id(pki.pem(p12_cert))
    ids["p12_key_der"] = p12_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    der_cert = pki.certificate(pki.ec_key(), "der.example", days=90)
    pki.write(d / "blob.bin", pki.der(der_cert), 0o644)
    ids["der"] = _cert_id(pki.der(der_cert))

    good_pem = pki.pem(pki.certificate(pki.ec_key(), "corrupt.example"))
    pki.write(d / "corrupt.pem", good_pem[: len(good_pem) // 2], 0o644)  # truncated mid-block
    return ids


def _key_of(run: object, cert_id: str) -> dict[str, object]:
    report = run.report  # type: ignore[attr-defined]
    key_id = next(r["target"] for r in report["relations"] if r["source"] == cert_id and r["type"] == "certifies")
    return next(a for a in report["assets"] if a["id"] == key_id)


def _categories(run: object, cert_id: str) -> set[str]:
    """Categories of findings on a certificate and on the key it certifies."""
    key_id = _key_of(run, cert_id)["id"]
    return {f["category"] for f in run.findings() if f["asset_id"] in (cert_id, key_id)}  # type: ignore[attr-defined]


def test_each_file_gets_the_findings_its_name_suggests(
    sample_dir: dict[str, object], run_keysweep: RunKeysweep
) -> None:
    run = run_keysweep(["--path", str(sample_dir["dir"]), "--password-env", "P12_PW"], env={"P12_PW": P12_PASSWORD})
    assert run.exit_code == 0, run.output
    assert run.report is not None

    assert _categories(run, str(sample_dir["rsa1024"])) == {"key-size", "pqc"}
    assert _categories(run, str(sample_dir["sha1"])) == {"algorithm", "pqc"}
    assert _categories(run, str(sample_dir["expired"])) == {"certificate-validity", "pqc"}
    assert _categories(run, str(sample_dir["five_year"])) == {"rotation", "pqc"}
    assert _categories(run, str(sample_dir["der"])) == {"pqc"}

    # the good certificate: only the informational post-quantum finding, on its key
    good = str(sample_dir["good"])
    good_findings = [f for f in run.findings() if f["asset_id"] in (good, _key_of(run, good)["id"])]
    assert [(f["category"], f["severity"]) for f in good_findings] == [("pqc", "info")]

    # ML-DSA-65: a certificate whose key is recognised by OID, no error, no pqc finding
    mldsa = str(sample_dir["mldsa"])
    assert run.asset(mldsa)["properties"]["signature_algorithm"] == "ML-DSA-65"
    assert _key_of(run, mldsa)["properties"]["algorithm"] == "ML-DSA-65"
    assert _key_of(run, mldsa)["properties"]["quantum_vulnerable"] is False
    assert _categories(run, mldsa) == set()

    # the world-readable plaintext key: key-storage on its file; key and certificate are one key node
    key_file = str(sample_dir["server_key_file"])
    assert {(f["category"], f["severity"]) for f in run.findings(key_file)} == {("key-storage", "high")}
    server_key = _key_of(run, str(sample_dir["server_cert"]))
    assert server_key["properties"]["has_private_key"] is True
    assert {loc["ref"] for loc in server_key["locations"]} == {
        str(Path(str(sample_dir["dir"])) / "server.crt"),
        str(Path(str(sample_dir["dir"])) / "server.key"),
    }
    assert "key-storage" in _categories(run, str(sample_dir["server_cert"]))

    # the PKCS#12 file, opened with the password from the environment: key inside is encrypted at rest
    p12_key = _key_of(run, str(sample_dir["p12_cert"]))
    assert p12_key["properties"]["has_private_key"] is True
    assert p12_key["properties"]["encrypted_at_rest"] is True

    # the DER certificate named *.bin was recognised by content
    assert run.asset(str(sample_dir["der"]))["type"] == "certificate"

    # the corrupt file is an error naming it, and nothing else failed
    corrupt = str(Path(str(sample_dir["dir"])) / "corrupt.pem")
    assert [e["target"] for e in run.report["errors"]] == [corrupt]
    assert "truncated" in run.report["errors"][0]["message"]


def test_fail_on_high_and_as_of(sample_dir: dict[str, object], run_keysweep: RunKeysweep) -> None:
    d = Path(str(sample_dir["dir"]))
    assert run_keysweep(["--path", str(d / "rsa1024.pem"), "--fail-on", "high"]).exit_code == 1
    assert run_keysweep(["--path", str(d / "good-p256.pem"), "--fail-on", "high"]).exit_code == 0
    later = run_keysweep(["--path", str(d / "good-p256.pem"), "--as-of", "2036-01-01", "--fail-on", "high"])
    assert later.exit_code == 1
    assert {(f["category"], f["severity"]) for f in later.findings()} >= {("pqc", "high")}
    assert later.report is not None and later.report["scan"]["as_of"] == "2036-01-01T00:00:00Z"


def test_no_private_key_material_or_password_in_any_output(
    sample_dir: dict[str, object], run_keysweep: RunKeysweep, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    run = run_keysweep(
        ["--path", str(sample_dir["dir"]), "--password-env", "P12_PW"],
        env={"P12_PW": P12_PASSWORD},
    )
    pem = bytes(sample_dir["server_key_pem"])  # type: ignore[arg-type]
    body_lines = [line for line in pem.decode().splitlines() if not line.startswith("-----")]
    outputs = run.report_text + run.output + caplog.text
    assert P12_PASSWORD not in outputs
    for line in body_lines:
        assert line not in outputs
    der = bytes(sample_dir["p12_key_der"])  # type: ignore[arg-type]
    assert der.hex() not in outputs
    assert der[-32:].hex() not in outputs


def test_bad_paths_and_options_exit_2_naming_them(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    missing = tmp_path / "does-not-exist"
    run = run_keysweep(["--path", str(missing)])
    assert run.exit_code == 2
    assert str(missing) in run.output

    run = run_keysweep(["--path", str(tmp_path), "--fail-on", "severe"])
    assert run.exit_code == 2
    assert "severe" in run.output

    run = run_keysweep(["--path", str(tmp_path), "--as-of", "next-tuesday"])
    assert run.exit_code == 2
    assert "next-tuesday" in run.output

    run = run_keysweep(["--path", str(tmp_path), "--no-such-option"])
    assert run.exit_code == 2
    assert "--no-such-option" in run.output


def test_nothing_scannable_exits_2(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    broken = pki.write(tmp_path / "broken.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    run = run_keysweep(["--path", str(broken)])
    assert run.exit_code == 2
    assert run.report is not None and run.report["errors"][0]["target"] == str(broken)


def test_file_mode_and_owner_are_recorded(sample_dir: dict[str, object], run_keysweep: RunKeysweep) -> None:
    key_file = Path(str(sample_dir["dir"])) / "server.key"
    run = run_keysweep(["--path", str(key_file)])
    props = run.asset(f"file:{key_file}")["properties"]
    assert props["mode"] == "0644"
    assert props["owner"] == pwd.getpwuid(os.getuid()).pw_name
    assert props["contains_plaintext_private_key"] is True

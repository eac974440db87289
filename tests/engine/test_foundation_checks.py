"""The foundation's key and certificate rules on real files: pass and fail samples."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunKeysweep
from tests.support import pki
from tests.support.openssl import openssl


def failing(run: object, rule_id: str) -> set[str]:
    return {f["asset_id"] for f in run.findings() if f["rule_id"] == rule_id}  # type: ignore[attr-defined]


def test_not_yet_valid(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    future = pki.certificate(pki.ec_key(), "future.example", not_before=pki.NOW + 30 * pki.DAY)
    current = pki.certificate(pki.ec_key(), "current.example")
    pki.write(tmp_path / "future.pem", pki.pem(future))
    pki.write(tmp_path / "current.pem", pki.pem(current))
    run = run_keysweep(["--path", str(tmp_path)])
    assert failing(run, "cms.cert.not-yet-valid") == {"cert:sha256:" + future.fingerprint(pki.hashes.SHA256()).hex()}
    later = run_keysweep(["--path", str(tmp_path), "--as-of", (pki.NOW + 40 * pki.DAY).date().isoformat()])
    assert failing(later, "cms.cert.not-yet-valid") == set()


def test_dsa_key_by_openssl(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    params = tmp_path / "params" / "dsaparam.pem"
    params.parent.mkdir()
    openssl("dsaparam", "-out", params, "2048")
    openssl("gendsa", "-out", tmp_path / "dsa.key", params)
    pki.write(tmp_path / "ec.key", pki.key_pem(pki.ec_key()))
    run = run_keysweep(["--path", str(tmp_path)])
    [dsa] = [a for a in run.assets("key") if a["properties"]["algorithm"] == "DSA"]
    assert failing(run, "cms.key.dsa") == {dsa["id"]}
    assert dsa["properties"]["fips_approved"] is False


def test_key_reused_across_renewal(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    reused = pki.ec_key()
    old = pki.certificate(reused, "renewed.example", not_before=pki.NOW - 200 * pki.DAY, days=365)
    new = pki.certificate(reused, "renewed.example", not_before=pki.NOW - 5 * pki.DAY, days=365)
    rotated_old = pki.certificate(pki.ec_key(), "rotated.example", not_before=pki.NOW - 200 * pki.DAY, days=365)
    rotated_new = pki.certificate(pki.ec_key(), "rotated.example", not_before=pki.NOW - 5 * pki.DAY, days=365)
    for name, cert in {"old": old, "new": new, "r-old": rotated_old, "r-new": rotated_new}.items():
        pki.write(tmp_path / f"{name}.pem", pki.pem(cert))
    run = run_keysweep(["--path", str(tmp_path)])
    [reused_key] = {
        r["target"]
        for r in run.report["relations"]  # type: ignore[index]
        if r["type"] == "certifies" and r["source"].endswith(old.fingerprint(pki.hashes.SHA256()).hex())
    }
    assert failing(run, "cms.cert.key-reused-on-renewal") == {reused_key}


def test_key_strength_boundaries(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    keys = {"rsa1024": pki.rsa_key(1024), "rsa2048": pki.rsa_key(2048), "p256": pki.ec_key()}
    for name, key in keys.items():
        pki.write(tmp_path / f"{name}.key", pki.key_pem(key))
    openssl("genrsa", "-out", tmp_path / "rsa512.key", "512")
    run = run_keysweep(["--path", str(tmp_path)])
    by_size = {(a["properties"]["algorithm"], a["properties"]["key_size"]): a["id"] for a in run.assets("key")}
    assert failing(run, "cms.key.min-strength") == {by_size[("RSA", 1024)], by_size[("RSA", 512)]}
    severities = {f["asset_id"]: f["severity"] for f in run.findings() if f["rule_id"] == "cms.key.min-strength"}
    assert severities == {by_size[("RSA", 1024)]: "high", by_size[("RSA", 512)]: "critical"}


def test_quantum_vulnerable_severity_follows_the_as_of_date(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    pki.write(tmp_path / "rsa2048.key", pki.key_pem(pki.rsa_key(2048)))
    pki.write(tmp_path / "p384.key", pki.key_pem(pki.ec_key(pki.ec.SECP384R1())))

    def severities(as_of: str) -> dict[object, str]:
        run = run_keysweep(["--path", str(tmp_path), "--as-of", as_of])
        sizes = {a["id"]: a["properties"]["security_bits"] for a in run.assets("key")}
        return {sizes[f["asset_id"]]: f["severity"] for f in run.findings() if f["category"] == "pqc"}

    assert severities("2026-12-01") == {112: "info", 192: "info"}
    assert severities("2031-01-01") == {112: "medium", 192: "info"}
    assert severities("2036-01-01") == {112: "high", 192: "high"}

"""Revocation lists and OpenPGP public keys are inventoried, not counted as "not cryptographic".

Real material (corpus/crl/NOTE.md, corpus/openpgp/NOTE.md) through the CLI, with the reference
tools as oracles: `openssl crl` for the CRLs, `gpg --show-keys` for the OpenPGP keys.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.scans import keysweep

CORPUS = Path(__file__).parent / "corpus"
# gpg's public-key algorithm numbers (RFC 4880 section 9.1) as keysweep names the key
GPG_ALGORITHMS = {"1": "RSA", "16": "DH", "17": "DSA", "22": "Ed25519", "18": "X25519"}


def _scan(tmp_path: Path, *paths: Path) -> dict[str, Any]:
    out = tmp_path / "report.json"
    done = keysweep("scan", "--no-store", *(a for p in paths for a in ("--path", str(p))), "--json", str(out), "-q")
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _gpg_keys(path: Path, home: Path) -> list[dict[str, str]]:
    home.mkdir(mode=0o700, exist_ok=True)
    listing = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--show-keys", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    keys: list[dict[str, str]] = []
    for line in listing:
        fields = line.split(":")
        if fields[0] in ("pub", "sub"):
            keys.append({"kind": fields[0], "bits": fields[2], "algorithm": fields[3]})
        elif fields[0] == "fpr" and keys and "fingerprint" not in keys[-1]:
            keys[-1]["fingerprint"] = fields[9]
    return keys


def test_openpgp_keys_match_gpg(tmp_path: Path) -> None:
    folder = CORPUS / "openpgp"
    report = _scan(tmp_path, folder)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".asc", ".gpg"))
    assert report["summary"]["files"] == {
        "examined": len(files) + 1,
        "recognised": len(files),
        "skipped": 1,
        "failed": 0,
    }
    assert report["errors"] == []
    keys = [a for a in report["assets"] if a["type"] == "key"]
    for path in files:
        expected = _gpg_keys(path, tmp_path / "gnupg")
        found = {
            a["properties"]["openpgp_fingerprint"]: a["properties"]
            for a in keys
            if any(loc["ref"] == str(path) for loc in a["locations"])
        }
        assert sorted(found) == sorted(k["fingerprint"] for k in expected), path
        for key in expected:
            props = found[key["fingerprint"]]
            assert props["key_format"] == "openpgp" and props["has_private_key"] is False
            assert props["subkey"] is (key["kind"] == "sub")
            assert props["algorithm"] == GPG_ALGORITHMS[key["algorithm"]], (path, key)
            if props["algorithm"] in ("RSA", "DSA", "DH"):
                assert props["key_size"] == int(key["bits"]), (path, key)
            assert props["openpgp_key_id"] == key["fingerprint"][-16:]


def test_weak_openpgp_keys_meet_the_strength_rules(tmp_path: Path) -> None:
    """Debian's retired archive keys (2004-2008) are RSA-1024 and DSA-1024: the rules see them."""
    report = _scan(tmp_path, CORPUS / "openpgp" / "debian-archive-removed-keys.gpg")
    weak = [f for f in report["findings"] if f["rule_id"] == "cms.key.min-strength"]
    sizes = sorted((f["evidence"]["algorithm"], f["evidence"]["key_size"]) for f in weak)
    assert sizes == [("DSA", 1024)] * 7 + [("RSA", 1024)]


@pytest.mark.parametrize(
    ("name", "inform"), [("revocation.crl", "PEM"), ("GoodCACRL.crl", "DER"), ("DSACACRL.crl", "DER")]
)
def test_crls_match_openssl(tmp_path: Path, name: str, inform: str) -> None:
    path = CORPUS / "crl" / name
    report = _scan(tmp_path, path)
    assert report["summary"]["files"] == {"examined": 1, "recognised": 1, "skipped": 0, "failed": 0}
    (crl,) = next(a for a in report["assets"] if a["id"] == f"file:{path}")["properties"]["crls"]
    openssl = ["openssl", "crl", "-in", str(path), "-inform", inform, "-noout"]
    text = subprocess.run([*openssl, "-text"], capture_output=True, text=True, check=True).stdout
    dates = subprocess.run(
        [*openssl, "-lastupdate", "-nextupdate", "-dateopt", "iso_8601"], capture_output=True, text=True, check=True
    ).stdout
    assert crl["revoked"] == text.count("Serial Number:")
    # cryptography and OpenSSL name algorithms apart (dsa-with-sha1, dsaWithSHA1): the hash is compared
    signed_with = text.split("Signature Algorithm: ")[1].split()[0].lower()
    assert crl["signature_hash"] in signed_with
    last = crl["this_update"].replace("T", " ").replace("+00:00", "Z")
    following = crl["next_update"].replace("T", " ").replace("+00:00", "Z")
    assert dates.split() == [
        "lastUpdate=" + last.split()[0],
        last.split()[1],
        "nextUpdate=" + following.split()[0],
        following.split()[1],
    ]
    assert crl["issuer"].split(",")[0].replace("=", " = ") in text


def test_pkits_cross_certificate_pairs_hold_the_pkits_certificates(tmp_path: Path) -> None:
    """NIST PKITS's crossCertificatePair files (cryptography-vectors): each forward certificate is
    the PKITS certificate of the same name (certs/<name>.crt), byte for byte."""
    import hashlib

    import cryptography_vectors

    pkits = Path(cryptography_vectors.__file__).parent / "x509" / "PKITS_data"
    pairs = sorted((pkits / "certpairs").glob("*.cp"))
    report = _scan(tmp_path, pkits / "certpairs")
    assert report["summary"]["files"] == {"examined": len(pairs), "recognised": len(pairs), "skipped": 0, "failed": 0}
    certificates = {
        loc["ref"]: a["properties"]["sha256_fingerprint"]
        for a in report["assets"]
        if a["type"] == "certificate"
        for loc in a["locations"]
        if loc.get("detail") == "cross-certificate pair, forward"
    }
    compared = 0
    for pair in pairs:
        named = pkits / "certs" / (pair.name.split("forward")[0] + ".crt")
        if "forward" in pair.name and named.exists():
            assert certificates[str(pair)].replace(":", "").lower() == hashlib.sha256(named.read_bytes()).hexdigest()
            compared += 1
    assert compared == sum("forward" in p.name for p in pairs) > 100


def test_ec_and_dsa_parameters_are_read_not_skipped(tmp_path: Path) -> None:
    material = tmp_path / "material"
    material.mkdir()
    ec_file, dsa_file = material / "ec.pem", material / "dsa.pem"
    subprocess.run(["openssl", "ecparam", "-name", "secp384r1", "-out", str(ec_file)], check=True)
    subprocess.run(["openssl", "dsaparam", "-out", str(dsa_file), "1024"], check=True, capture_output=True)
    report = _scan(tmp_path, material)
    assert report["summary"]["files"] == {"examined": 2, "recognised": 2, "skipped": 0, "failed": 0}
    files = {a["id"]: a["properties"] for a in report["assets"] if a["type"] == "file"}
    assert files[f"file:{ec_file}"]["ec_parameters"] == "secp384r1"
    assert files[f"file:{dsa_file}"]["dsa_parameters_bits"] == 1024


def _gpg(home: Path, *args: str) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", *args],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


def test_an_exported_secret_key_is_a_private_key_and_its_protection_is_said(tmp_path: Path) -> None:
    """gpg exports a secret key in the clear (no passphrase) or protected: keysweep says which,
    reads only the public part, and the secret never reaches the report."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    keys = tmp_path / "keys"
    keys.mkdir()
    try:
        for name, passphrase in (("clear", ""), ("protected", "correct horse battery")):
            _gpg(home, "--passphrase", passphrase, "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign")
            armored = _gpg(home, "--passphrase", passphrase, "--armor", "--export-secret-keys", f"{name}@example.org")
            (keys / f"{name}.asc").write_bytes(armored)
            (keys / f"{name}.asc").chmod(0o644)
    finally:  # gpg starts an agent for the home directory, which would outlive the test
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], capture_output=True, check=False)
    report = _scan(tmp_path, keys)
    by_file = {loc["ref"]: a["properties"] for a in report["assets"] if a["type"] == "key" for loc in a["locations"]}
    clear, protected = by_file[str(keys / "clear.asc")], by_file[str(keys / "protected.asc")]
    assert (clear["has_private_key"], clear["encrypted_at_rest"]) == (True, False)
    assert (protected["has_private_key"], protected["encrypted_at_rest"]) == (True, True)
    files = {a["id"]: a["properties"] for a in report["assets"] if a["type"] == "file"}
    assert files[f"file:{keys / 'clear.asc'}"]["contains_plaintext_private_key"] is True
    assert "contains_plaintext_private_key" not in files[f"file:{keys / 'protected.asc'}"]
    # a world-readable plaintext secret key is the usual finding
    readable = [f for f in report["findings"] if f["rule_id"] == "cms.key.readable-private-key-file"]
    assert [f["asset_id"] for f in readable] == [f"file:{keys / 'clear.asc'}"]
    # no line of the armored secret key (secret material included) is in the report
    text = json.dumps(report)
    lines = [line for line in (keys / "clear.asc").read_text().splitlines() if len(line) == 64]
    assert lines and not any(line in text for line in lines)


def test_a_key_block_after_a_long_preamble_is_read(tmp_path: Path) -> None:
    """As postgresql-common's apt.postgresql.org.sh embeds the repository key after 4 KiB of shell."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    armored = (CORPUS / "openpgp" / "apt.postgresql.org.asc").read_bytes()
    script = folder / "setup-repository.sh"
    script.write_bytes(b"#!/bin/sh\n" + b"# set up the repository\n" * 300 + b"cat <<EOF\n" + armored + b"EOF\n")
    report = _scan(tmp_path, folder)
    assert report["summary"]["files"]["recognised"] == 1
    expected = [k["fingerprint"] for k in _gpg_keys(CORPUS / "openpgp" / "apt.postgresql.org.asc", tmp_path / "g")]
    found = [a["properties"]["openpgp_fingerprint"] for a in report["assets"] if a["type"] == "key"]
    assert sorted(found) == sorted(expected)

"""Issue 18: a seeded mutator over real seed files of every kind keysweep reads, bounded for CI.

Seeds are made by the tools that make such files (openssl, ssh-keygen, dropbearkey, pyjks) or
copied from the installed Debian packages (nginx, apache2, openssh, openssl, openjdk configs).
Each run mutates them with a fixed seed (bit flips, splices, truncation, DER length edits, PEM
marker insertion, repetition up to a few MiB) and scans all mutants in one CLI run. For every input:
no traceback, exit code 0/1/2, the run within its bound, each mutant counted (examined =
recognised + skipped + failed), and each mutant that OpenSSL reads as a certificate or key named by
an asset location or an error (issue 18 item 10: 106 of 5,005 such files were dropped in silence).
Set KEYSWEEP_FUZZ_SEED and KEYSWEEP_FUZZ_COUNT to explore further; failures go into corpus/fuzz.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import jks
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from tests.support import pki
from tests.support.openssl import openssl, openssl_reads_key_or_certificate
from tests.support.scans import keysweep

SEED = int(os.environ.get("KEYSWEEP_FUZZ_SEED", "20261129"))
COUNT = int(os.environ.get("KEYSWEEP_FUZZ_COUNT", "300"))
# the whole scan of every mutant; generous for a loaded 2-core machine (it takes a few seconds)
RUN_BOUND_S = 150.0
MAX_MUTANT = 2 * 1024 * 1024
CORPUS = Path(__file__).parent / "corpus" / "fuzz"
DEBIAN_CONFIGS = (
    "/etc/nginx/nginx.conf",
    "/etc/apache2/apache2.conf",
    "/etc/apache2/sites-available/default-ssl.conf",
    "/etc/ssh/sshd_config",
    "/etc/ssl/openssl.cnf",
    "/etc/java-17-openjdk/security/java.security",
)


def _make_seeds(root: Path) -> list[Path]:
    root.mkdir()
    ca_key, rsa_key, ec_key, dsa_key = pki.ec_key(), pki.rsa_key(2048), pki.ec_key(), pki.dsa_key(2048)
    ca = pki.certificate(ca_key, "Fuzz CA", ca=True, days=3650)
    leaf = pki.certificate(rsa_key, "fuzz.example", issuer_key=ca_key, issuer_name="Fuzz CA", san=["fuzz.example"])
    dsa_cert = pki.certificate(dsa_key, "dsa.example", issuer_key=ca_key, issuer_name="Fuzz CA")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der, pem = serialization.Encoding.DER, serialization.Encoding.PEM
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    files: dict[str, bytes] = {
        "leaf.pem": pki.pem(leaf),
        "chain.pem": pki.pem(leaf) + pki.pem(ca),
        "bundle.crt": pki.pem(ca) + pki.pem(dsa_cert),
        "leaf.der": pki.der(leaf),
        "key.pem": pki.key_pem(rsa_key),
        "key-encrypted.pem": pki.key_pem(ec_key, b"fuzz-password"),
        "key.der": ec_key.private_bytes(der, pkcs8, none),
        "rsa-traditional.key": rsa_key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none),
        "public.pem": ec_key.public_key().public_bytes(pem, spki),
        "public.der": rsa_key.public_key().public_bytes(der, spki),
        "chain.p7b": pkcs7.serialize_certificates([leaf, ca], der),
        "server.p12": pki.pkcs12_bytes(rsa_key, leaf, b"fuzz-password"),
        "open.p12": pki.pkcs12_bytes(ca_key, ca, None),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    store = jks.KeyStore.new("jks", [jks.TrustedCertEntry.new("ca", pki.der(ca))])
    store.save(str(root / "trust.jks"), "changeit")
    openssl("req", "-new", "-key", root / "key.pem", "-subj", "/CN=csr.example", "-out", root / "request.csr")
    openssl("genpkey", "-genparam", "-algorithm", "DHX", "-pkeyopt", "dh_rfc5114:2", "-out", root / "x942.pem")
    openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", root / "dh.pem")
    openssl("dhparam", "-in", root / "dh.pem", "-outform", "DER", "-out", root / "dh.der")
    openssl("pkcs12", "-export", "-legacy", "-in", root / "leaf.pem", "-inkey", root / "key.pem",
            "-passout", "pass:fuzz-password", "-out", root / "legacy.p12")  # fmt: skip
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", root / "id_ed25519"], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "fuzz", "-f", root / "id_ecdsa"], check=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-s", root / "id_ed25519", "-I", "fuzz", "-n", "fuzz", root / "id_ecdsa.pub"], check=True
    )
    (root / "authorized_keys").write_bytes(b"# keys\n" + (root / "id_ed25519.pub").read_bytes())
    subprocess.run(["dropbearkey", "-t", "ecdsa", "-f", root / "dropbear_ecdsa_host_key"], check=True,
                   capture_output=True)  # fmt: skip
    moduli = Path("/etc/ssh/moduli").read_bytes().splitlines(keepends=True)
    (root / "moduli").write_bytes(b"".join(moduli[:12]))
    for config in DEBIAN_CONFIGS:
        shutil.copy(config, root / Path(config).name)
    (root / "app.env").write_bytes(b"DATABASE_URL=postgres://app:Zq8vLr2pXw@db:5432/app\nAPI_TOKEN=ghp_" + b"x7" * 18)
    return sorted(root.iterdir())


# -- the mutator ------------------------------------------------------------------------------------
def _flip(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _cut(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _delete(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    start = rng.randrange(len(data) + 1)
    return data[:start] + data[start + rng.randint(1, 64) :]


def _insert(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randint(1, 32)) + data[at:]


def _splice(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    other = rng.choice(others)
    return data[: rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1) :]


def _der_length(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    positions = [i for i in range(min(len(data) - 1, 4096)) if data[i] in (0x30, 0x02, 0x04, 0x03)]
    if not positions:
        return _flip(rng, data, others)
    at = rng.choice(positions) + 1
    length = rng.choice([b"\x80", b"\x84\xff\xff\xff\xff", b"\x89" + b"\x01" * 9, b"\x00", b"\x81\x7f"])
    return data[:at] + length + data[at + 1 :]


def _markers(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    label = rng.choice([b"CERTIFICATE", b"PRIVATE KEY", b"X9.42 DH PARAMETERS", b"OPENSSH PRIVATE KEY", b"X"])
    marker = rng.choice([b"-----BEGIN %s-----\n", b"-----END %s-----\n", b"-----BEGIN %s-----\r\n"]) % label
    at = rng.randrange(len(data) + 1)
    return data[:at] + marker * rng.choice([1, 2, 50]) + data[at:]


def _repeat(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    start = rng.randrange(max(1, len(data)))
    piece = data[start : start + rng.randint(1, 200)] or b"-----BEGIN X-----\n"
    return data[:start] + piece * (rng.randint(1_000, 768 * 1024) // len(piece)) + data[start:]


MUTATIONS: tuple[Callable[[random.Random, bytes, list[bytes]], bytes], ...] = (
    _flip, _flip, _cut, _delete, _insert, _splice, _der_length, _der_length, _markers, _repeat,
)  # fmt: skip


def _mutants(seeds: list[Path], out: Path, seed: int, count: int) -> list[Path]:
    out.mkdir()
    contents = [p.read_bytes() for p in seeds]
    paths = []
    for n in range(count):
        # one generator per mutant: mutant n of a seed is the same whatever the others consumed
        rng = random.Random(f"{seed}-{n}")
        index = rng.randrange(len(seeds))
        data = contents[index]
        for _ in range(rng.choice([1, 1, 2, 3])):
            data = rng.choice(MUTATIONS)(rng, data, contents)[:MAX_MUTANT]
        path = out / f"{n:04d}-{seeds[index].name}"
        path.write_bytes(data)
        paths.append(path)
    return paths


# -- the oracle: tests/support/openssl.py (openssl_reads_key_or_certificate) ---------------------


def _scan(folder: Path, report: Path) -> tuple[subprocess.CompletedProcess[str], float, dict[str, object]]:
    started = time.monotonic()
    run = keysweep("scan", "--path", str(folder), "--json", str(report), "--timeout", "2", timeout=RUN_BOUND_S + 60)
    elapsed = time.monotonic() - started
    return run, elapsed, json.loads(report.read_bytes()) if report.exists() else {}


def _named(report: dict[str, object]) -> set[str]:
    names = {str(loc["ref"]) for a in report["assets"] for loc in a["locations"]}  # type: ignore[attr-defined,index]
    return names | {str(e["target"]) for e in report["errors"]}  # type: ignore[attr-defined,index]


def _check(folder: Path, inputs: list[Path], tmp_path: Path) -> None:
    run, elapsed, report = _scan(folder, tmp_path / f"{folder.name}.json")
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode in (0, 1, 2), run.stderr[-3000:]
    assert elapsed < RUN_BOUND_S, f"{len(inputs)} inputs took {elapsed:.0f} s"
    print(f"{folder.name}: {len(inputs)} inputs, {sum(p.stat().st_size for p in inputs)} bytes, {elapsed:.1f} s")
    counts = report["summary"]["files"]  # type: ignore[index]
    assert counts["examined"] >= len(inputs)  # and the files configurations name (nginx's mime.types, ...)
    assert counts["examined"] == counts["recognised"] + counts["skipped"] + counts["failed"]
    named = _named(report)
    dropped = [p.name for p in inputs if str(p) not in named and openssl_reads_key_or_certificate(p)]
    assert dropped == [], f"OpenSSL reads these, keysweep named them nowhere: {dropped}"


@pytest.mark.slow
def test_mutated_inputs_of_every_kind(tmp_path: Path) -> None:
    seeds = _make_seeds(tmp_path / "seeds")
    assert len(seeds) >= 30
    # the seeds themselves first: every one is read (configs and a secrets file included)
    _check(tmp_path / "seeds", seeds, tmp_path)
    mutants = _mutants(seeds, tmp_path / "mutants", SEED, COUNT)
    _check(tmp_path / "mutants", mutants, tmp_path)


def test_corpus_of_inputs_that_once_failed(tmp_path: Path) -> None:
    """Each file here once crashed, hung or vanished (see corpus/fuzz/README.md); now it is named."""
    inputs = sorted(p for p in CORPUS.iterdir() if p.name != "README.md")
    assert len(inputs) >= 10
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("README.md"))
    copies = sorted(folder.iterdir())
    _check(folder, copies, tmp_path)
    report = json.loads((tmp_path / "corpus.json").read_bytes())
    named = _named(report)
    assert [p.name for p in copies if str(p) not in named] == []  # each one is an asset or an error

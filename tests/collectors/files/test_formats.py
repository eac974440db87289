"""The file collector on every format it claims, with files written by cryptography, openssl,
ssh-keygen and pyjks."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import jks
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, CollectionError, RelationType
from scanner.secrets import Secret
from tests.support import pki
from tests.support.openssl import openssl

PASSWORD = "correct-horse-battery-staple"


def collect(path: Path, passwords: tuple[str, ...] = ()) -> InventoryGraph:
    graph = InventoryGraph()
    context = CollectContext(passwords=tuple(Secret(p.encode()) for p in passwords))
    graph.add_all(FileCollector().collect([Target("path", str(path))], context))
    return graph


def spki_id(public_key: object) -> str:
    der = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "key:spki-sha256:" + hashlib.sha256(der).hexdigest()


def only(graph: InventoryGraph, type: AssetType) -> list[Asset]:
    return list(graph.assets(type))


def test_pem_with_many_blocks_certificate_key_and_chain(tmp_path: Path) -> None:
    ca_key = pki.ec_key()
    ca = pki.certificate(ca_key, "Test CA", ca=True, days=3650)
    leaf_key = pki.rsa_key(2048)
    leaf = pki.certificate(leaf_key, "leaf.example", issuer_key=ca_key, issuer_name="Test CA")
    bundle = pki.write(tmp_path / "fullchain-and-key.txt", pki.pem(leaf) + pki.pem(ca) + pki.key_pem(leaf_key))

    graph = collect(bundle)
    assert len(only(graph, AssetType.CERTIFICATE)) == 2
    key = graph.asset(spki_id(leaf_key.public_key()))
    assert key.properties["has_private_key"] is True
    assert key.properties["encrypted_at_rest"] is False
    leaf_id = "cert:sha256:" + hashlib.sha256(pki.der(leaf)).hexdigest()
    assert [k.id for k in graph.successors(leaf_id, RelationType.CERTIFIES)] == [key.id]
    key_line = bundle.read_text().splitlines().index("-----BEGIN PRIVATE KEY-----") + 1
    assert {loc.detail for loc in key.locations} == {
        "PEM block 1 (CERTIFICATE) at line 1",
        f"PEM block 3 (PRIVATE KEY) at line {key_line}",
    }
    assert graph.errors == ()


def test_one_key_in_key_file_certificate_and_pkcs12_is_one_node(tmp_path: Path) -> None:
    key = pki.ec_key()
    cert = pki.certificate(key, "merge.example")
    pki.write(tmp_path / "a" / "server.crt", pki.pem(cert))
    pki.write(tmp_path / "b" / "server.key", pki.key_pem(key))
    pki.write(tmp_path / "c" / "server.p12", pki.pkcs12_bytes(key, cert, None))

    graph = collect(tmp_path)
    keys = only(graph, AssetType.KEY)
    assert [k.id for k in keys] == [spki_id(key.public_key())]
    assert keys[0].properties["has_private_key"] is True
    assert {Path(loc.ref).parent.name for loc in keys[0].locations} == {"a", "b", "c"}
    stored_in = {f.id for f in graph.successors(keys[0].id, RelationType.STORED_IN)}
    assert stored_in == {f"file:{tmp_path / 'b' / 'server.key'}", f"file:{tmp_path / 'c' / 'server.p12'}"}
    assert len(only(graph, AssetType.CERTIFICATE)) == 1


def test_encrypted_pkcs8_without_password_is_locked_not_decrypted(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    path = pki.write(tmp_path / "enc.key", pki.key_pem(key, PASSWORD.encode()))

    graph = collect(path)
    [locked] = only(graph, AssetType.KEY)
    assert locked.id.startswith("key:encrypted-sha256:")
    assert locked.properties["locked"] is True
    assert locked.properties["encrypted_at_rest"] is True
    assert graph.asset(f"file:{path}").properties.get("contains_plaintext_private_key") is None

    opened = collect(path, passwords=("wrong", PASSWORD))
    [key_asset] = only(opened, AssetType.KEY)
    assert key_asset.id == spki_id(key.public_key())
    assert key_asset.properties["encrypted_at_rest"] is True


def test_traditional_encrypted_pem_by_openssl(tmp_path: Path) -> None:
    path = tmp_path / "legacy.key"
    openssl("genrsa", "-traditional", "-aes128", "-passout", f"pass:{PASSWORD}", "-out", path, "2048")
    assert b"Proc-Type: 4,ENCRYPTED" in path.read_bytes()
    [locked] = only(collect(path), AssetType.KEY)
    assert locked.properties["locked"] is True
    [opened] = only(collect(path, passwords=(PASSWORD,)), AssetType.KEY)
    assert opened.properties["algorithm"] == "RSA" and opened.properties["key_size"] == 2048


def test_openssh_keys_by_ssh_keygen(tmp_path: Path) -> None:
    plain, encrypted = tmp_path / "id_plain", tmp_path / "id_encrypted"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", plain], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N", PASSWORD, "-f", encrypted], check=True)
    (tmp_path / "authorized_keys").write_bytes(
        b"# a comment\n"
        + (tmp_path / "id_plain.pub").read_bytes()
        + b'from="10.0.0.1" '
        + (tmp_path / "id_encrypted.pub").read_bytes()
    )

    graph = collect(tmp_path)
    keys = {k.properties["algorithm"]: k for k in only(graph, AssetType.KEY)}
    assert set(keys) == {"Ed25519", "EC"}
    assert keys["Ed25519"].properties["has_private_key"] is True
    assert keys["Ed25519"].properties["encrypted_at_rest"] is False
    # the encrypted key's public half is read from the file without the passphrase
    assert keys["EC"].properties["curve"] == "secp384r1"
    assert keys["EC"].properties["has_private_key"] is True
    assert keys["EC"].properties["encrypted_at_rest"] is True
    refs = {Path(loc.ref).name for loc in keys["EC"].locations}
    assert refs == {"id_encrypted", "id_encrypted.pub", "authorized_keys"}
    assert graph.errors == ()


def test_pkcs7_bundles_pem_and_der(tmp_path: Path) -> None:
    certs = [pki.certificate(pki.ec_key(), f"p7-{i}.example") for i in range(3)]
    pki.write(tmp_path / "bundle.p7b", pkcs7.serialize_certificates(certs, serialization.Encoding.DER))
    chain = pki.write(tmp_path / "chain.pem", b"".join(pki.pem(c) for c in certs[:2]))
    openssl("crl2pkcs7", "-nocrl", "-certfile", chain, "-out", tmp_path / "openssl.p7c")
    chain.unlink()
    graph = collect(tmp_path)
    assert len(only(graph, AssetType.CERTIFICATE)) == 3
    assert graph.asset(f"file:{tmp_path / 'bundle.p7b'}").properties["format"] == "pkcs7"
    assert graph.asset(f"file:{tmp_path / 'openssl.p7c'}").properties["format"] == "pem"


def test_pkcs12_by_openssl_with_password_file(tmp_path: Path) -> None:
    cert_path = pki.write(tmp_path / "src" / "c.pem", pki.pem(pki.certificate(pki.rsa_key(2048), "p12.example")))
    key = pki.rsa_key(2048)
    cert = pki.certificate(key, "p12.example")
    pki.write(cert_path, pki.pem(cert))
    key_path = pki.write(tmp_path / "src" / "k.pem", pki.key_pem(key))
    out = tmp_path / "store" / "bundle.pfx"
    out.parent.mkdir()
    openssl("pkcs12", "-export", "-in", cert_path, "-inkey", key_path, "-out", out, "-passout", f"pass:{PASSWORD}")

    locked = collect(out)
    # a locked container: the shrouded key bag is a locked key, the encryption is read from the structure
    [locked_key] = only(locked, AssetType.KEY)
    assert locked_key.id.startswith("key:encrypted-sha256:") and locked_key.properties["locked"] is True
    file_props = locked.asset(f"file:{out}").properties
    assert file_props["locked"] is True and file_props["encryption_algorithms"] == ["pbes2 (aes256_cbc)"]
    assert file_props["mac_algorithm"] == "sha256" and file_props["encrypted_parts"] == 1
    [error] = locked.errors
    assert error.target == str(out) and "password-protected" in error.message and PASSWORD not in error.message
    assert "locked container (1 locked key, 0 certificates in clear, 1 encrypted part unread)" in error.message

    opened = collect(out, passwords=(PASSWORD,))
    [key_asset] = only(opened, AssetType.KEY)
    assert key_asset.id == spki_id(key.public_key())
    assert key_asset.properties["encrypted_at_rest"] is True
    assert opened.errors == ()


def test_a_locked_pkcs12_in_package_data_is_said_on_the_file_not_as_an_error(tmp_path: Path) -> None:
    """A package's locked test fixture (cryptography's vectors hold ~400) has no password anyone would
    give: the locked container is inventoried and says why on the file; the same file elsewhere is an error."""
    key = pki.rsa_key(2048)
    cert_path = pki.write(tmp_path / "src" / "c.pem", pki.pem(pki.certificate(key, "p12.example")))
    key_path = pki.write(tmp_path / "src" / "k.pem", pki.key_pem(key))
    fixture = tmp_path / "pkg" / "tests" / "fixtures" / "bundle.p12"
    fixture.parent.mkdir(parents=True)
    openssl("pkcs12", "-export", "-in", cert_path, "-inkey", key_path, "-out", fixture, "-passout", f"pass:{PASSWORD}")
    graph = collect(fixture)
    assert graph.errors == ()
    props = graph.asset(f"file:{fixture}").properties
    assert props["locked"] is True and props["package_data_reason"].startswith("test, example or documentation")
    assert props["locked_reason"].startswith("PKCS#12 file is password-protected and no password was supplied; ")
    assert props["locked_reason"].endswith(
        "(package data: test, example or documentation material (a 'tests' directory))"
    )
    assert PASSWORD not in props["locked_reason"]
    own = tmp_path / "srv" / "bundle.p12"
    own.parent.mkdir()
    own.write_bytes(fixture.read_bytes())
    [error] = collect(own).errors
    assert "password-protected" in error.message and "locked_reason" not in collect(own).asset(f"file:{own}").properties


# ca-certificates' example package (scripts/bootstrap.sh installs ca-certificates): a placeholder
# "Dummy Root CA" with text for a body, and a README quoting a certificate with "<...>" in its body
CA_LOCAL = Path("/usr/share/doc/ca-certificates/examples/ca-certificates-local")
PLACEHOLDER = CA_LOCAL / "local" / "Local_Root_CA.crt"
PLACEHOLDER_FAULT = "PEM block 1 (CERTIFICATE) at line 1: its body is not base64 (line 2: ';')"
README_FAULT = "PEM block 1 (CERTIFICATE) at line 53: its body is not base64 (line 55: '<')"


def test_unreadable_pem_blocks_in_package_data_are_said_on_the_file_not_as_errors() -> None:
    """Read in place: the files stay inventoried and counted, each block's fault on its file."""
    assert PLACEHOLDER.is_file() and (CA_LOCAL / "README").is_file(), "ca-certificates (scripts/bootstrap.sh)"
    graph = collect(CA_LOCAL)
    assert graph.errors == ()
    assert (graph.sweep.recognised, graph.sweep.failed) == (2, 0)
    shipped = "documentation installed by a distribution package (/usr/share/doc)"
    for path, fault in ((PLACEHOLDER, PLACEHOLDER_FAULT), (CA_LOCAL / "README", README_FAULT)):
        props = graph.asset(f"file:{path}").properties
        assert props["format"] == "pem" and props["package_data_reason"] == shipped
        assert props["unreadable_blocks"] == [fault]
    assert only(graph, AssetType.CERTIFICATE) == []


def test_the_same_unreadable_block_outside_package_data_stays_an_error(tmp_path: Path) -> None:
    """An admin's own directory: the placeholder copied there is an error, in plain words."""
    own = tmp_path / "etc" / "ssl" / "certs" / "Local_Root_CA.crt"
    own.parent.mkdir(parents=True)
    shutil.copyfile(PLACEHOLDER, own)
    graph = collect(own.parent)
    assert [(e.target, e.message) for e in graph.errors] == [(str(own), PLACEHOLDER_FAULT)]
    assert f"file:{own}" not in graph and (graph.sweep.recognised, graph.sweep.failed) == (0, 1)


def test_package_data_keeps_its_readable_blocks_and_notes_each_unreadable_one(tmp_path: Path) -> None:
    good = pki.pem(pki.certificate(pki.ec_key(), "docs.example"))
    text = good + b"-----BEGIN CERTIFICATE-----\nMIIB\n  <...>\n-----END CERTIFICATE-----\n"
    text += b"-----BEGIN ATTRIBUTE CERTIFICATE-----\nMIIB\n-----END ATTRIBUTE CERTIFICATE-----\n"
    example = pki.write(tmp_path / "pkg" / "docs" / "example.pem", text)
    graph = collect(example)
    assert graph.errors == ()
    [cert] = only(graph, AssetType.CERTIFICATE)
    assert cert.properties["subject"] == "CN=docs.example"
    second = good.count(b"\n") + 1
    assert graph.asset(f"file:{example}").properties["unreadable_blocks"] == [
        f"PEM block 2 (CERTIFICATE) at line {second}: its body is not base64 (line {second + 2}: '<')",
        f"PEM block 3 (ATTRIBUTE CERTIFICATE) at line {second + 4}: PEM type not supported",
    ]


# testssl.sh (scripts/bootstrap.sh installs it) ships a root whose END line lacks a dash
TESTSSL_DST = Path("/etc/testssl/DST Root CA X3.txt")


def test_a_truncated_block_in_package_data_is_a_note_on_the_file_and_elsewhere_an_error(tmp_path: Path) -> None:
    """Read in place, the package's unchanged conffile is inventoried with the fault noted; the same
    bytes in an admin's own directory are an error naming the malformed END line."""
    assert TESTSSL_DST.is_file(), "testssl.sh (scripts/bootstrap.sh)"
    fault = (
        "1 PEM block is truncated (BEGIN without a matching END); "
        "a malformed END line: line 22 reads '-----END CERTIFICATE----'"
    )
    graph = collect(TESTSSL_DST)
    assert graph.errors == () and (graph.sweep.recognised, graph.sweep.failed) == (1, 0)
    props = graph.asset(f"file:{TESTSSL_DST}").properties
    assert props["package_data_reason"] == "shipped unchanged by the Debian package testssl.sh"
    assert props["unreadable_blocks"] == [fault]
    own = tmp_path / "etc" / "ssl" / "certs" / "dst.pem"
    own.parent.mkdir(parents=True)
    shutil.copyfile(TESTSSL_DST, own)
    graph = collect(own)
    assert [(e.target, e.message) for e in graph.errors] == [(str(own), fault)]
    assert f"file:{own}" not in graph


def test_a_body_that_is_not_base64_is_said_plainly_and_a_private_keys_bytes_never_echoed(tmp_path: Path) -> None:
    key_lines = pki.key_pem(pki.ec_key()).splitlines()
    cert_lines = pki.pem(pki.certificate(pki.ec_key(), "b64.example")).splitlines()
    cases = {
        # a private key's bad byte: its line and its class, not the byte
        "punctuation.key": (
            [*key_lines[:2], b"<" + key_lines[2][1:], *key_lines[3:]],
            "PEM block 1 (PRIVATE KEY) at line 1: its body is not base64 (line 3: a punctuation character)",
        ),
        "latin1.key": (
            [*key_lines[:2], key_lines[2][:5] + b"\xe9" + key_lines[2][6:], *key_lines[3:]],
            "PEM block 1 (PRIVATE KEY) at line 1: its body is not base64 (line 3: a non-ASCII byte)",
        ),
        "control.key": (
            [*key_lines[:2], key_lines[2][:5] + b"\x01" + key_lines[2][6:], *key_lines[3:]],
            "PEM block 1 (PRIVATE KEY) at line 1: its body is not base64 (line 3: a control character)",
        ),
        # a certificate's is shown
        "latin1.crt": (
            [b"# a note", cert_lines[0], cert_lines[1][:7] + b"\xe9" + cert_lines[1][8:], *cert_lines[2:]],
            "PEM block 1 (CERTIFICATE) at line 2: its body is not base64 (line 3: byte 0xe9)",
        ),
        "padding.crt": (
            [cert_lines[0], cert_lines[1][:7] + b"=" + cert_lines[1][8:], *cert_lines[2:]],
            "PEM block 1 (CERTIFICATE) at line 1: its body is not base64 ('=' padding before its end, line 2)",
        ),
        "short.crt": (
            [cert_lines[0], cert_lines[1][:-2], *cert_lines[2:]],
            "PEM block 1 (CERTIFICATE) at line 1: its body is not base64 (cut short: "
            f"{sum(len(line) for line in cert_lines[1:-1]) - 2} characters, not a multiple of 4)",
        ),
        "empty.crt": ([cert_lines[0], cert_lines[-1]], "PEM block 1 (CERTIFICATE) at line 1: its body is empty"),
        # BEGIN and END on one line, as botocore's IAM examples write a placeholder
        "inline.crt": (
            [b"# an example", b"-----BEGIN CERTIFICATE-----<certificate-body>-----END CERTIFICATE-----"],
            "PEM block 1 (CERTIFICATE) at line 2: its body is not base64 (line 2: '<')",
        ),
        "inline.key": (
            [b"-----BEGIN PRIVATE KEY-----<private-key>-----END PRIVATE KEY-----"],
            "PEM block 1 (PRIVATE KEY) at line 1: its body is not base64 (line 1: a punctuation character)",
        ),
    }
    for name, (lines, _) in cases.items():
        pki.write(tmp_path / name, b"\n".join(lines) + b"\n")
    graph = collect(tmp_path)
    assert {Path(e.target).name: e.message for e in graph.errors} == {n: m for n, (_, m) in cases.items()}


def test_jks_keystore_and_truststore_by_pyjks(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    cert = pki.certificate(key, "jks.example")
    ca = pki.certificate(pki.ec_key(), "JKS Root", ca=True)
    key_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private = jks.PrivateKeyEntry.new("server", [pki.der(cert)], key_der, "pkcs8")
    trusted = jks.TrustedCertEntry.new("root", pki.der(ca))
    path = tmp_path / "keystore.bin"
    jks.KeyStore.new("jks", [private, trusted]).save(str(path), PASSWORD)

    graph = collect(path)
    key_asset = graph.asset(spki_id(key.public_key()))
    assert key_asset.properties["has_private_key"] is True
    assert key_asset.properties["encrypted_at_rest"] is True
    file_props = graph.asset(f"file:{path}").properties
    assert file_props["format"] == "jks"
    assert file_props["integrity_verified"] is False
    [store] = only(graph, AssetType.TRUST_STORE)
    assert [c.properties["subject"] for c in graph.successors(store.id, RelationType.TRUSTS)] == ["CN=JKS Root"]
    assert collect(path, passwords=(PASSWORD,)).asset(f"file:{path}").properties["integrity_verified"] is True


def test_ca_bundle_is_a_trust_store(tmp_path: Path) -> None:
    roots = [pki.certificate(pki.ec_key(), f"Root {i}", ca=True, days=3650) for i in range(3)]
    bundle = pki.write(tmp_path / "ca-certificates.crt", b"".join(pki.pem(c) for c in roots))
    graph = collect(bundle)
    [store] = only(graph, AssetType.TRUST_STORE)
    assert store.id == f"truststore:{bundle}"
    assert store.properties["anchors"] == 3
    assert len(graph.successors(store.id, RelationType.TRUSTS)) == 3


def test_public_keys_csr_and_der_key(tmp_path: Path) -> None:
    ec, rsa, ed = pki.ec_key(), pki.rsa_key(2048), pki.ed25519_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pki.write(tmp_path / "ec.pub", ec.public_key().public_bytes(serialization.Encoding.PEM, spki))
    pki.write(tmp_path / "rsa.der", rsa.public_key().public_bytes(serialization.Encoding.DER, spki))
    pki.write(
        tmp_path / "ed.bin",
        ed.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "/dev/null",
        "-out",
        tmp_path / "r.csr",
        "-subj",
        "/CN=csr.example",
    )
    graph = collect(tmp_path)
    keys = {k.id: k for k in only(graph, AssetType.KEY)}
    assert keys[spki_id(ec.public_key())].properties["has_private_key"] is False
    assert keys[spki_id(rsa.public_key())].properties["key_size"] == 2048
    assert keys[spki_id(ed.public_key())].properties["has_private_key"] is True
    assert len(keys) == 4  # and the CSR's key
    assert graph.errors == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
            "PEM block 1 (CERTIFICATE) at line 1: its body is not base64 (line 2: '!')",
        ),
        (b"-----BEGIN PRIVATE KEY-----\nMIIB\n", "truncated"),
        (b"\x30\x82\x01\x00" + b"\x00" * 40, "truncated DER"),
    ],
)
def test_corrupt_files_are_errors_naming_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    bad = pki.write(tmp_path / "bad", content)
    good = pki.write(tmp_path / "good.pem", pki.pem(pki.certificate(pki.ec_key(), "ok.example")))
    graph = collect(tmp_path)
    [error] = graph.errors
    assert isinstance(error, CollectionError)
    assert error.target == str(bad) and expected in error.message
    assert len(only(graph, AssetType.CERTIFICATE)) == 1  # the scan went on
    assert f"file:{good}" in graph


def test_unreadable_directory_and_dangling_link_do_not_stop_the_walk(tmp_path: Path) -> None:
    (tmp_path / "dangling.pem").symlink_to(tmp_path / "missing.pem")
    good = pki.write(tmp_path / "good.pem", pki.pem(pki.certificate(pki.ec_key(), "ok.example")))
    graph = collect(tmp_path)
    assert [e.target for e in graph.errors] == [str(tmp_path / "dangling.pem")]
    assert f"file:{good}" in graph


def test_code_and_docs_that_quote_pem_markers_are_not_pem(tmp_path: Path) -> None:
    pki.write(tmp_path / "loader.py", b'START = b"-----BEGIN CERTIFICATE-----"\nEND = b"-----END CERTIFICATE-----"\n')
    pki.write(tmp_path / "notes.txt", b"Paste the key after the -----BEGIN PRIVATE KEY----- line.\n")
    pki.write(tmp_path / "real.pem", pki.pem(pki.certificate(pki.ec_key(), "ok.example")))
    graph = collect(tmp_path)
    assert graph.errors == ()
    assert {a.properties["path"] for a in graph.assets(AssetType.FILE)} == {str(tmp_path / "real.pem")}


def test_a_key_read_leniently_in_package_data_is_a_note_and_elsewhere_an_error(tmp_path: Path) -> None:
    """cryptography's own vector of an EC key with explicit parameters, which it refuses to load:
    inventoried by the lenient reader either way; an error in an admin's directory, a note on the
    file in a package's test data (cryptography_vectors holds 21 such files)."""
    import cryptography_vectors

    vector = Path(cryptography_vectors.__file__).parent / "asymmetric" / "EC" / "secp256r1-explicit-no-seed.pem"
    fixture = tmp_path / "pkg" / "tests" / "explicit.pem"
    own = tmp_path / "etc" / "ssl" / "private" / "explicit.pem"
    for copy in (fixture, own):
        copy.parent.mkdir(parents=True)
        shutil.copyfile(vector, copy)
    graph = collect(tmp_path)
    refused = "PEM block 1 (PRIVATE KEY) at line 1: private key read leniently, cryptography rejects it"
    assert [e.target for e in graph.errors] == [str(own)] and graph.errors[0].message.startswith(refused)
    [note] = graph.asset(f"file:{fixture}").properties["unreadable_blocks"]
    assert note.startswith(refused)
    assert len(only(graph, AssetType.KEY)) == 1  # the same key, inventoried from both files

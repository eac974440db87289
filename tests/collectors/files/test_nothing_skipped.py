"""Issue 11 part 1 and issue 18 item 10: every file the sweep opens is an asset location or an error.

Files are made by the tools that make them in the field (openssl, ssh-keygen, dropbearkey) or, for
certificates cryptography rejects, by re-encoding a real certificate the way other encoders do and
checking that OpenSSL still reads it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.collector import FileCollector
from scanner.inventory import der
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType
from tests.support import der_craft, pki
from tests.support.openssl import openssl


def collect(*paths: Path) -> InventoryGraph:
    graph = InventoryGraph()
    graph.add_all(FileCollector().collect([Target("path", str(p)) for p in paths], CollectContext()))
    return graph


def certificates(graph: InventoryGraph) -> list[Asset]:
    return list(graph.assets(AssetType.CERTIFICATE))


def openssl_reads(path: Path, inform: str = "DER") -> bool:
    result = subprocess.run(
        ["openssl", "x509", "-inform", inform, "-in", str(path), "-noout", "-subject"], capture_output=True
    )
    return result.returncode == 0


def spki_id(public_key: object) -> str:
    spki = public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "key:spki-sha256:" + hashlib.sha256(spki).hexdigest()


# -- PEM anywhere -------------------------------------------------------------------------------
def test_certificate_after_a_long_text_preamble_is_found(tmp_path: Path) -> None:
    """`openssl x509 -text` output puts the PEM after several KiB of text."""
    cert = pki.write(tmp_path / "src.pem", pki.pem(pki.certificate(pki.rsa_key(4096), "preamble.example")))
    text = tmp_path / "dump.txt"
    openssl("x509", "-in", cert, "-text", "-out", text)
    cert.unlink()
    padded = tmp_path / "commented.crt"
    padded.write_bytes(
        b"".join(b"# a long comment line before the certificate\n" for _ in range(200))
        + pki.pem(pki.certificate(pki.ec_key(), "comment.example"))
    )
    assert text.read_bytes().index(b"-----BEGIN CERTIFICATE-----") > 4096
    assert padded.read_bytes().index(b"-----BEGIN CERTIFICATE-----") > 4096

    graph = collect(tmp_path)
    assert sorted(c.properties["subject"] for c in certificates(graph)) == [
        "CN=comment.example",
        "CN=preamble.example",
    ]
    assert graph.errors == ()
    assert graph.sweep.recognised == 2 and graph.sweep.examined == 2


# -- DH parameters --------------------------------------------------------------------------------
def test_x942_and_der_dh_parameters_have_their_size(tmp_path: Path) -> None:
    x942 = tmp_path / "x942.pem"
    # RFC 5114 group 2 (2048-bit p, 224-bit q): openssl writes it as X9.42 DH PARAMETERS
    openssl("genpkey", "-genparam", "-algorithm", "DHX", "-pkeyopt", "dh_rfc5114:2", "-out", x942)
    assert x942.read_bytes().startswith(b"-----BEGIN X9.42 DH PARAMETERS-----")
    ffdhe = tmp_path / "ffdhe.pem"
    openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe3072", "-out", ffdhe)
    openssl("dhparam", "-in", ffdhe, "-outform", "DER", "-out", tmp_path / "dhparams.der")

    graph = collect(tmp_path)
    files = {Path(a.properties["path"]).name: a.properties for a in graph.assets(AssetType.FILE)}
    assert files["x942.pem"]["dh_parameters_bits"] == 2048
    assert files["x942.pem"]["dh_parameters_format"] == "x9.42"
    assert files["ffdhe.pem"]["dh_parameters_bits"] == 3072
    assert files["dhparams.der"]["dh_parameters_bits"] == 3072
    assert files["dhparams.der"]["format"] == "der-dh-parameters"
    # cryptography reads PKCS#3 DER as an RSA key with e = 2: that must not become a key asset
    assert list(graph.assets(AssetType.KEY)) == []
    assert graph.errors == ()


def test_pkcs1_rsa_public_key_der_is_still_a_key(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    pki.write(
        tmp_path / "rsa-pkcs1.der",
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
    )
    graph = collect(tmp_path)
    assert [k.id for k in graph.assets(AssetType.KEY)] == [spki_id(key.public_key())]


# -- DER certificates -----------------------------------------------------------------------------
def test_der_certificate_with_trailing_data_is_an_asset_and_an_error(tmp_path: Path) -> None:
    cert = pki.certificate(pki.ec_key(), "trailing.example")
    path = pki.write(tmp_path / "trailing.cer", pki.der(cert) + b"\x00garbage after the certificate\n")
    graph = collect(path)
    [asset] = certificates(graph)
    assert asset.id == "cert:sha256:" + hashlib.sha256(pki.der(cert)).hexdigest()
    [error] = graph.errors
    assert error.target == str(path) and "31 bytes of trailing data" in error.message
    assert graph.sweep.recognised == 1


def test_concatenated_der_certificates_are_each_read(tmp_path: Path) -> None:
    certs = [pki.certificate(pki.ec_key(), f"concat-{i}.example") for i in range(3)]
    path = pki.write(tmp_path / "chain.der", b"".join(pki.der(c) for c in certs))
    graph = collect(path)
    assert sorted(c.properties["subject"] for c in certificates(graph)) == [f"CN=concat-{i}.example" for i in range(3)]
    assert graph.errors == ()


def test_der_certificate_inheriting_dsa_parameters(tmp_path: Path) -> None:
    """RFC 3279: a DSA subject key without parameters inherits the issuer's."""
    ca_key = pki.ec_key()
    dsa_key = dsa.generate_private_key(2048)
    cert = pki.certificate(dsa_key, "dsa-inherit.example", issuer_key=ca_key, issuer_name="CA")
    y = dsa_key.public_key().public_numbers().y
    inherited_spki = der_craft.tlv(
        0x30,
        der_craft.tlv(0x30, der_craft.tlv(0x06, bytes.fromhex("2a8648ce380401")))
        + der_craft.tlv(0x03, b"\x00" + der_craft.tlv(0x02, y.to_bytes((y.bit_length() + 8) // 8, "big"))),
    )

    def inherit(fields: list[bytes]) -> list[bytes]:
        fields[6] = inherited_spki
        return fields

    path = pki.write(tmp_path / "dsa-inherit.der", der_craft.resign(cert, ca_key, inherit))
    assert openssl_reads(path)
    graph = collect(path)
    [asset] = certificates(graph)
    # cryptography refuses the absent parameters: the lenient reader keeps the certificate
    assert asset.properties["subject"] == "CN=dsa-inherit.example"
    assert asset.properties["parsed_leniently"] is True and asset.properties["issuer"] == "CN=CA"
    [key] = graph.successors(asset.id, RelationType.CERTIFIES)
    assert key.properties["algorithm"] == "DSA" and key.properties["dsa_parameters_inherited"] is True
    [error] = graph.errors
    assert error.target == str(path) and "parsed leniently" in error.message


def _edit_extensions(transform: object) -> object:
    def edit(fields: list[bytes]) -> list[bytes]:
        outer = fields[-1]
        (_, _, start, end), *_ = der.children(outer)
        sequence = der_craft.elements(outer, start, end)[0]
        (_, _, start, end), *_ = der.children(sequence)
        extensions = [transform(e) for e in der_craft.elements(sequence, start, end)]  # type: ignore[operator]
        fields[-1] = der_craft.tlv(0xA3, der_craft.tlv(0x30, b"".join(extensions)))
        return fields

    return edit


def _ber_boolean(extension: bytes) -> bytes:
    # critical TRUE written as 0x01 rather than DER's 0xFF: OpenSSL reads it, cryptography does not
    return extension.replace(b"\x01\x01\xff", b"\x01\x01\x01", 1)


def test_certificate_cryptography_rejects_is_read_leniently(tmp_path: Path) -> None:
    key = pki.ec_key()
    cert = pki.certificate(key, "lenient.example", san=["lenient.example"], eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    raw = der_craft.resign(cert, key, _edit_extensions(_ber_boolean))  # type: ignore[arg-type]
    der_path = pki.write(tmp_path / "lenient.der", raw)
    pem_path = pki.write(
        tmp_path / "lenient.pem",
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(raw) + b"-----END CERTIFICATE-----\n",
    )
    assert openssl_reads(der_path) and openssl_reads(pem_path, "PEM")

    graph = collect(tmp_path)
    [asset] = certificates(graph)  # one certificate, seen in two files
    props = asset.properties
    assert asset.id == "cert:sha256:" + hashlib.sha256(raw).hexdigest()
    assert props["parsed_leniently"] is True
    assert props["subject"] == props["issuer"] == "CN=lenient.example"
    assert props["san"] == ["DNS:lenient.example"]
    assert props["extended_key_usage"] == ["serverAuth"]
    assert props["signature_algorithm"] == "ecdsa-with-SHA256"
    assert props["not_after"] == cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert props["serial"] == format(cert.serial_number, "x")
    [key] = graph.successors(asset.id, RelationType.CERTIFIES)
    assert key.id == spki_id(key_public := cert.public_key()) and key.properties["curve"] == "secp256r1"
    assert key_public is not None
    errors = sorted(graph.errors, key=lambda e: e.target)
    assert [e.target for e in errors] == [str(der_path), str(pem_path)]
    assert all("parsed leniently" in e.message and "ParseError" in e.message for e in errors)


def test_ca_certificate_with_a_broken_extension_keeps_its_ca_flag(tmp_path: Path) -> None:
    key = pki.ec_key()
    cert = pki.certificate(key, "Broken Ext CA", ca=True, san=["ca.example"])
    san_oid = b"\x06\x03\x55\x1d\x11"

    def bad_san(extension: bytes) -> bytes:
        if san_oid not in extension:
            return extension
        five_byte_ip = der_craft.tlv(0x30, der_craft.tlv(0x87, b"\x0a\x00\x00\x01\x05"))
        return der_craft.tlv(0x30, san_oid + der_craft.tlv(0x04, five_byte_ip))

    path = pki.write(tmp_path / "ca.der", der_craft.resign(cert, key, _edit_extensions(bad_san)))  # type: ignore[arg-type]
    assert openssl_reads(path)
    graph = collect(path)
    [asset] = certificates(graph)
    assert asset.properties["is_ca"] is True
    assert asset.properties["subject_key_id"] is not None
    assert asset.properties["unreadable_fields"] == ["extension subject_alt_name (2.5.29.17)"]
    [error] = graph.errors
    assert "extension subject_alt_name (2.5.29.17)" in error.message


def test_an_extension_cryptography_refuses_but_no_description_reads_is_a_fact_not_an_error() -> None:
    """Four of Microsoft's roots (testssl.sh's Microsoft.pem, the corpus) carry a policy notice whose
    VisibleString holds bytes outside its alphabet: cryptography refuses the certificate's
    extensions, asn1crypto reads each, and certificatePolicies is read by no description, so no field
    is lost. Said on the certificate, not as a collection error (the broken SAN above stays one)."""
    corpus = Path(__file__).parent / "corpus" / "reference-stores" / "Microsoft.pem"
    graph = collect(corpus)
    assert not graph.errors
    odd = {
        next(loc.detail for loc in a.locations if loc.ref == str(corpus)): a.properties
        for a in certificates(graph)
        if "nonconforming_extensions" in a.properties
    }
    assert sorted(odd, key=lambda d: int(d.split()[2])) == [
        "PEM block 54 (CERTIFICATE) at line 1445",
        "PEM block 149 (CERTIFICATE) at line 4127",
        "PEM block 187 (CERTIFICATE) at line 5161",
        "PEM block 347 (CERTIFICATE) at line 9412",
    ]
    for props in odd.values():
        (why,) = props["nonconforming_extensions"].values()
        assert list(props["nonconforming_extensions"]) == ["certificate_policies (2.5.29.32)"]
        assert "DisplayText::VisibleString" in why
        assert "unreadable_fields" not in props and props["is_ca"] is True


def test_unknown_extended_key_usages_stay_dotted(tmp_path: Path) -> None:
    ekus = [
        ExtendedKeyUsageOID.SERVER_AUTH,
        x509.ObjectIdentifier("2.5.29.37.0"),
        x509.ObjectIdentifier("1.3.6.1.5.5.7.3.17"),
        x509.ObjectIdentifier("1.2.3.4.5.6.7"),
    ]
    path = pki.write(tmp_path / "eku.pem", pki.pem(pki.certificate(pki.ec_key(), "eku.example", eku=ekus)))
    [asset] = certificates(collect(path))
    assert asset.properties["extended_key_usage"] == ["serverAuth", "anyExtendedKeyUsage", "ipsecIke", "1.2.3.4.5.6.7"]
    assert asset.properties["extended_key_usage_oids"] == [e.dotted_string for e in ekus]


# -- private keys ---------------------------------------------------------------------------------
def test_der_rsa_key_failing_the_consistency_check_is_inventoried(tmp_path: Path) -> None:
    """Issue 18 item 10: load_der_private_key(data, None, True) passed True as the backend."""
    key = pki.rsa_key(2048)
    numbers = key.private_numbers()
    # a wrong CRT coefficient: OpenSSL reads the key; only the slow consistency check rejects it
    bad = rsa.RSAPrivateNumbers(
        numbers.p,
        numbers.q,
        numbers.d,
        numbers.dmp1,
        numbers.dmq1,
        (numbers.iqmp + 2) % numbers.p,
        numbers.public_numbers,
    )
    pkcs1 = der_craft.tlv(0x02, b"\x00") + b"".join(
        der_craft.tlv(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big"))
        for n in (bad.public_numbers.n, bad.public_numbers.e, bad.d, bad.p, bad.q, bad.dmp1, bad.dmq1, bad.iqmp)
    )
    path = pki.write(tmp_path / "inconsistent.der", der_craft.tlv(0x30, pkcs1))
    assert subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", path, "-noout"]).returncode == 0
    graph = collect(path)
    [asset] = graph.assets(AssetType.KEY)
    assert asset.id == spki_id(key.public_key()) and asset.properties["has_private_key"] is True
    assert graph.asset(f"file:{path}").properties["format"] == "der-private-key"


def test_keys_cryptography_refuses_but_openssl_reads(tmp_path: Path) -> None:
    """Found by the fuzzer: a flipped bit in an EC key's private scalar, an RSA exponent in BER."""
    ec_key = pki.ec_key()
    pkcs8 = bytearray(
        ec_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    pkcs8[40] ^= 0x01  # a bit of the private scalar: it no longer matches the public point
    modulus = pki.rsa_key(2048).public_key().public_numbers().n
    # the exponent 65537 with a superfluous leading zero byte: BER, not DER
    rsa_public = der_craft.tlv(
        0x30, der_craft.tlv(0x02, b"\x00" + modulus.to_bytes(256, "big")) + der_craft.tlv(0x02, b"\x00\x01\x00\x01")
    )
    ber_key = der_craft.tlv(
        0x30,
        der_craft.tlv(0x30, bytes.fromhex("06092a864886f70d0101010500")) + der_craft.tlv(0x03, b"\x00" + rsa_public),
    )
    ec_path = pki.write(tmp_path / "ec-bad-scalar.der", bytes(pkcs8))
    rsa_path = pki.write(tmp_path / "rsa-ber.der", ber_key)
    pem_path = pki.write(
        tmp_path / "rsa-ber.pem",
        b"-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(ber_key) + b"-----END PUBLIC KEY-----\n",
    )
    for path in (ec_path, rsa_path, pem_path):
        stored = subprocess.run(["openssl", "storeutl", "-noout", path], capture_output=True, text=True)
        assert "0: " in stored.stdout, path  # OpenSSL reads each

    graph = collect(tmp_path)
    keys = {k.id: k.properties for k in graph.assets(AssetType.KEY)}
    assert keys[spki_id(ec_key.public_key())]["has_private_key"] is True  # the point the file carries
    ber_key_id = "key:spki-sha256:" + hashlib.sha256(ber_key).hexdigest()
    assert keys[ber_key_id]["algorithm"] == "RSA" and keys[ber_key_id]["key_size"] == 2048
    assert keys[ber_key_id]["parsed_leniently"] is True
    assert sorted(Path(e.target).name for e in graph.errors) == ["ec-bad-scalar.der", "rsa-ber.der", "rsa-ber.pem"]
    assert all("read leniently, cryptography rejects it" in e.message for e in graph.errors)


# -- PKCS#12 ---------------------------------------------------------------------------------------
def test_locked_pkcs12_shows_what_its_structure_holds(tmp_path: Path) -> None:
    key_path = tmp_path / "src" / "k.pem"
    cert = pki.certificate(key := pki.rsa_key(2048), "locked.example")
    pki.write(key_path, pki.key_pem(key))
    cert_path = pki.write(tmp_path / "src" / "c.pem", pki.pem(cert))
    store = tmp_path / "store"
    store.mkdir()
    common = ("pkcs12", "-export", "-in", cert_path, "-inkey", key_path, "-passout", "pass:unknown-to-keysweep")
    openssl(*common, "-legacy", "-out", store / "legacy.p12")
    openssl(*common, "-certpbe", "NONE", "-out", store / "clear-certs.p12")

    graph = collect(store)
    files = {Path(a.properties["path"]).name: a.properties for a in graph.assets(AssetType.FILE)}
    legacy = files["legacy.p12"]
    assert legacy["locked"] is True
    assert legacy["encryption_algorithms"] == ["pkcs12_sha1_rc2_40", "pkcs12_sha1_tripledes_3key"]
    assert legacy["mac_algorithm"] == "sha1"
    # certificates in clear bags are inventoried without the password
    assert [c.properties["subject"] for c in certificates(graph)] == ["CN=locked.example"]
    locked_keys = [k for k in graph.assets(AssetType.KEY) if k.properties.get("locked")]
    assert len(locked_keys) == 2
    assert all("unknown-to-keysweep" not in e.message for e in graph.errors)
    assert sorted(Path(e.target).name for e in graph.errors) == ["clear-certs.p12", "legacy.p12"]


# -- SSH --------------------------------------------------------------------------------------------
def test_openssh_certificates_with_ca_key_validity_and_principals(tmp_path: Path) -> None:
    for name, kind in (("ca", "ed25519"), ("host_ca", "rsa"), ("user", "ecdsa")):
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", tmp_path / name], check=True)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(tmp_path / "user.pub", certs / "alice.pub")
    shutil.copy(tmp_path / "user.pub", certs / "web.pub")
    subprocess.run(
        ["ssh-keygen", "-q", "-s", tmp_path / "ca", "-I", "alice@example", "-n", "alice,deploy",
         "-V", "20250101000000:20300101000000", "-z", "42", certs / "alice.pub"],
        check=True,
    )  # fmt: skip
    subprocess.run(
        ["ssh-keygen", "-q", "-s", tmp_path / "host_ca", "-t", "ssh-rsa", "-h", "-I", "web01",
         "-n", "web01.example", certs / "web.pub"],
        check=True,
    )  # fmt: skip
    (certs / "alice.pub").unlink()
    (certs / "web.pub").unlink()

    graph = collect(certs)
    by_subject = {c.properties["subject"]: c for c in certificates(graph)}
    alice, web = by_subject["alice@example"].properties, by_subject["web01"].properties
    assert alice["certificate_format"] == "openssh" and alice["cert_type"] == "user"
    assert alice["principals"] == ["alice", "deploy"] and alice["serial"] == "2a"
    assert (alice["not_before"], alice["not_after"]) == ("2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    assert alice["signature_algorithm"] == "ssh-ed25519" and alice["signing_key_algorithm"] == "Ed25519"
    assert web["cert_type"] == "host" and web["valid_forever"] is True and web["not_after"] is None
    # ssh-rsa signatures hash with SHA-1: the signature rules see it like an X.509 one
    assert web["signature_algorithm"] == "ssh-rsa" and web["signature_hash"] == "sha1"
    ca_public = serialization.load_ssh_public_key((tmp_path / "ca.pub").read_bytes())
    assert alice["signing_key_id"] == spki_id(ca_public) and spki_id(ca_public) in graph
    user_public = serialization.load_ssh_public_key((tmp_path / "user.pub").read_bytes())
    certified = graph.successors(by_subject["alice@example"].id, RelationType.CERTIFIES)
    assert [k.id for k in certified] == [spki_id(user_public)]
    assert graph.errors == ()


def test_dropbear_keys_by_dropbearkey(tmp_path: Path) -> None:
    expected = {}
    for kind in ("rsa", "ecdsa", "ed25519"):
        path = tmp_path / f"dropbear_{kind}_host_key"
        subprocess.run(["dropbearkey", "-t", kind, "-f", path], check=True, capture_output=True)
        public_line = subprocess.run(["dropbearkey", "-y", "-f", path], check=True, capture_output=True).stdout
        line = next(x for x in public_line.splitlines() if x.startswith((b"ssh-", b"ecdsa-")))
        expected[spki_id(serialization.load_ssh_public_key(b" ".join(line.split()[:2])))] = kind
    graph = collect(tmp_path)
    keys = {k.id: k.properties for k in graph.assets(AssetType.KEY)}
    assert set(keys) == set(expected)
    assert all(p["has_private_key"] and p["encrypted_at_rest"] is False for p in keys.values())
    formats = {a.properties["format"] for a in graph.assets(AssetType.FILE)}
    assert formats == {"dropbear-private-key"}
    assert graph.errors == ()


def test_ssh_moduli_file_group_sizes() -> None:
    """The moduli file Debian's openssh-server installs: every group counted by its modulus size."""
    moduli = Path("/etc/ssh/moduli")
    lines = [x for x in moduli.read_bytes().splitlines() if x.strip() and not x.startswith(b"#")]
    graph = collect(moduli)
    props = graph.asset(f"file:{moduli}").properties
    sizes = {int(bits): count for bits, count in props["dh_group_sizes"].items()}
    assert sum(sizes.values()) == len(lines)
    assert sizes == {int(x.split()[4]) + 1: sizes[int(x.split()[4]) + 1] for x in lines}
    assert props["dh_parameters_bits"] == min(sizes)
    assert graph.errors == ()


# -- the sweep's counts --------------------------------------------------------------------------
def test_sweep_counts_add_up(tmp_path: Path) -> None:
    pki.write(tmp_path / "good.pem", pki.pem(pki.certificate(pki.ec_key(), "ok.example")))
    pki.write(tmp_path / "notes.txt", b"nothing cryptographic here\n")
    pki.write(tmp_path / "broken.pem", b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    os.mkfifo(tmp_path / "a-fifo")
    graph = collect(tmp_path)
    sweep = graph.sweep
    assert (sweep.examined, sweep.recognised, sweep.skipped, sweep.failed) == (4, 1, 2, 1)
    assert [Path(e.target).name for e in graph.errors] == ["broken.pem"]


def test_a_malformed_end_line_is_named_where_it_is(tmp_path: Path) -> None:
    """testssl.sh ships "DST Root CA X3.txt" ending "-----END CERTIFICATE----" (four dashes), which
    OpenSSL does not read either: the error says which line keeps the block from ending (on a copy in
    an admin's directory; read in place, package data, it is a note on the file: test_formats.py)."""
    installed = Path("/etc/testssl/DST Root CA X3.txt")
    assert installed.exists(), "testssl.sh (scripts/bootstrap.sh) is not installed"
    copy = tmp_path / "etc" / "DST Root CA X3.txt"
    copy.parent.mkdir()
    copy.write_bytes(installed.read_bytes())
    [error] = collect(copy).errors
    assert error.message == (
        "1 PEM block is truncated (BEGIN without a matching END); "
        "a malformed END line: line 22 reads '-----END CERTIFICATE----'"
    )
    good = pki.pem(pki.certificate(pki.ec_key(), "ends.example")).decode()
    broken = tmp_path / "broken.pem"
    broken.write_text("# a note\n" + good.replace("-----END CERTIFICATE-----", "-----END CERTIFICATE---"))
    [error] = collect(broken).errors
    assert error.message.endswith(
        f"a malformed END line: line {good.count(chr(10)) + 1} reads '-----END CERTIFICATE---'"
    )
    # a block that simply stops has no END line to name
    cut = tmp_path / "cut.pem"
    cut.write_text(good.split("-----END")[0])
    [error] = collect(cut).errors
    assert error.message == "1 PEM block is truncated (BEGIN without a matching END)"

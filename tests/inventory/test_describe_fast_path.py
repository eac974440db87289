"""Issue 12: a certificate's description read through the DER memos and direct readers equals the
one read through cryptography alone, field for field and failure for failure, on real certificates
(cryptography's own vectors, odd ones included) and on made-up awkward ones."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scanner.inventory import crypto_assets, der, lenient
from tests.support import pki

Description = tuple[dict[str, Any], bytes | None, dict[str, str]]


def _clear() -> None:
    for memo in (crypto_assets._NAME_TEXT, crypto_assets._SIGNATURE, crypto_assets._EXTENSION_FACTS):
        memo.clear()


def _by_cryptography(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> Description:
    """The reference: no DER elements, so no memo and no direct reader is used."""
    _clear()

    def refuse(_: bytes) -> der.CertificateFields:
        raise der.DerError("the reference reads through cryptography alone")

    with monkeypatch.context() as patch:
        patch.setattr(der, "certificate_fields", refuse)
        return _describe(raw)


def _describe(raw: bytes) -> Description:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cert = x509.load_der_x509_certificate(raw)
        return crypto_assets._describe_certificate(cert, raw, hashlib.sha256(raw).hexdigest())


def _vector_certificates() -> Iterator[tuple[str, bytes]]:
    import cryptography_vectors as vectors  # installed by scripts/bootstrap.sh and test_py310.sh: never skipped

    root = Path(vectors.__file__).parent / "x509"
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".pem", ".der", ".crt", ".cer") or not path.is_file():
            continue
        data = path.read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else []
                if not loaded:
                    loaded = [x509.load_der_x509_certificate(data)]
        except Exception:  # not a certificate cryptography loads (InvalidVersion, ValueError, ...)
            continue
        for n, cert in enumerate(loaded):
            yield f"{path.relative_to(root)}#{n}", cert.public_bytes(crypto_assets._DER)


def _awkward_certificates() -> list[bytes]:
    key = pki.ec_key()
    when = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)

    def made(subject: x509.Name, extensions: list[x509.ExtensionType], serial: int = 7) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(pki.name("Awkward CA"))
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(when)
            .not_valid_after(when + dt.timedelta(days=400))
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=isinstance(extension, x509.BasicConstraints))
        return pki.der(builder.sign(key, crypto_assets.hashes.SHA256()))

    def attrs(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
        with warnings.catch_warnings():  # lengths over cryptography's limits are wanted here
            warnings.simplefilter("ignore")
            return x509.Name([x509.NameAttribute(oid, value, _validate=False) for oid, value in pairs])

    plain = x509.SubjectAlternativeName([x509.DNSName("a.example"), x509.DNSName("*.b.example")])
    return [
        made(attrs((NameOID.COMMON_NAME, 'Grüße, "Ünïcode" + ; <x> \\ \0')), [plain]),
        made(attrs((NameOID.COMMON_NAME, " leading and trailing "), (NameOID.COUNTRY_NAME, "DE")), [plain]),
        made(attrs((NameOID.COMMON_NAME, "#hash"), (NameOID.ORGANIZATION_NAME, "日本")), [plain]),
        made(attrs((NameOID.EMAIL_ADDRESS, "a@b.example"), (NameOID.SERIAL_NUMBER, "42")), [plain]),
        made(pki.name("huge serial"), [plain], serial=(1 << 159) - 1),
        made(
            pki.name("mixed names"),
            [
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("c.example"),
                        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
                        x509.RFC822Name("ops@c.example"),
                        x509.UniformResourceIdentifier("https://c.example/"),
                    ]
                ),
                x509.SubjectKeyIdentifier(b""),
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, x509.ObjectIdentifier("1.2.3.4.5")]),
                x509.BasicConstraints(ca=True, path_length=None),
            ],
        ),
        made(pki.name("non-ascii dns"), [x509.SubjectAlternativeName([x509.DNSName("xn--bcher-kva.example")])]),
        made(pki.name("no extensions"), []),
        *(made(attrs((NameOID.COMMON_NAME, f"escaped {char} here")), [plain]) for char in ',+;<>\\"#='),
        made(attrs((NameOID.COMMON_NAME, "#first")), [plain]),
        made(attrs((NameOID.COMMON_NAME, "x" * 65)), [plain]),  # over cryptography's limit for CN
        made(attrs((NameOID.COUNTRY_NAME, "DEU"), (NameOID.COMMON_NAME, "c")), [plain]),
        made(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Printable Unit", _ASN1Type.PrintableString),
                    x509.NameAttribute(NameOID.LOCALITY_NAME, "a*b@c", _ASN1Type.UTF8String),
                    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
                    x509.NameAttribute(NameOID.USER_ID, "uid-1"),
                    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "BMP", _ASN1Type.BMPString),
                    x509.NameAttribute(NameOID.STREET_ADDRESS, "Teletex", _ASN1Type.T61String),
                ]
            ),
            [plain],
        ),
        made(
            x509.Name(
                [
                    x509.RelativeDistinguishedName(
                        [
                            x509.NameAttribute(NameOID.COMMON_NAME, "multi"),
                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "valued"),
                        ]
                    )
                ]
            ),
            [plain],
        ),
        made(x509.Name([]), [plain]),
    ]


def _with_duplicate_extension(raw: bytes) -> bytes:
    """The certificate with its first extension listed twice (cryptography refuses the set)."""
    fields = der.certificate_fields(raw)
    doubled = der.encode(0xA3, der.encode(0x30, b"".join((fields.extensions[0], *fields.extensions))))
    (_, _, start, end), *_ = der.children(raw)
    tbs, algorithm, signature = (raw[a:d] for _, a, _, d in der.children(raw, start, end))
    (_, _, tbs_start, tbs_end), *_ = der.children(tbs)
    kept = b"".join(tbs[a:d] for tag, a, _, d in der.children(tbs, tbs_start, tbs_end) if tag != 0xA3)
    return der.encode(0x30, der.encode(0x30, kept + doubled) + algorithm + signature)


def test_vectors_read_through_the_memos_equal_cryptographys_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    certificates = list(_vector_certificates())
    assert len(certificates) > 100
    expected = {name: _by_cryptography(raw, monkeypatch) for name, raw in certificates}
    _clear()
    for attempt in ("cold memos", "warm memos"):
        for name, raw in certificates:
            assert _describe(raw) == expected[name], (attempt, name)


def test_awkward_certificates_read_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    certificates = _awkward_certificates()
    certificates.append(_with_duplicate_extension(certificates[5]))
    expected = [_by_cryptography(raw, monkeypatch) for raw in certificates]
    assert "extensions" in str(expected[-1][2]) or expected[-1][2], "the duplicate is refused by cryptography"
    _clear()
    for _ in range(2):
        assert [_describe(raw) for raw in certificates] == expected


def test_extensions_known_one_by_one_are_still_refused_when_one_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _awkward_certificates()[5]  # the one with several extensions
    _clear()
    _describe(raw)  # every extension of it is now known
    doubled = _with_duplicate_extension(raw)
    properties, _, failed = _describe(doubled)
    assert (properties, failed) == _by_cryptography(doubled, monkeypatch)[::2]
    assert failed, "a duplicate extension is reported, not read past"


def test_the_direct_readers_leave_what_they_do_not_know_to_cryptography() -> None:
    assert der.dns_names(der.encode(0x30, der.encode(0x82, b"a.example") + der.encode(0x82, b"b"))) == [
        "a.example",
        "b",
    ]
    for odd in (
        der.encode(0x30, der.encode(0x87, b"\x7f\x00\x00\x01")),  # an IP address
        der.encode(0x30, der.encode(0x82, "bücher.example".encode())),  # not ASCII
        der.encode(0x30, der.encode(0x82, b"a b")),  # a space
        der.encode(0x30, b""),  # no names
    ):
        assert der.dns_names(odd) is None
    with pytest.raises(der.DerError):  # a length not in its shortest form is not DER
        der.dns_names(b"\x30\x81\x03\x82\x01a")
    assert der.octet_string(der.encode(0x04, b"\x01\x02")) == b"\x01\x02"
    assert der.octet_string(der.encode(0x04, b"\x01") + der.encode(0x05, b"")) is None


def test_no_extensions_reads_as_the_empty_reading() -> None:
    assert lenient.no_extension_properties() == crypto_assets._extension_properties({})
    assert list(lenient.no_extension_properties()) == list(crypto_assets._extension_properties({}))


def test_plain_names_are_rendered_directly_and_others_left_to_cryptography() -> None:
    plain = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench Corp (EU) / Ops=1?"),
            x509.NameAttribute(NameOID.COMMON_NAME, "host-1.bench.example"),
        ]
    )
    assert crypto_assets._plain_name_text(plain.public_bytes()) == plain.rfc4514_string()
    for odd in (
        x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o" * 150)]),  # long-form lengths
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a,b")]),  # escaped by RFC 4514
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "café")]),
        x509.Name([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example")]),
        x509.Name([]),
    ):
        assert crypto_assets._plain_name_text(odd.public_bytes()) is None, odd


def test_the_memos_are_bounded_and_forget_the_oldest_first() -> None:
    memo: crypto_assets._Memo[int] = crypto_assets._Memo(3)
    for n in range(5):
        memo.remember(bytes([n]), n)
    assert list(memo.items()) == [(b"\x02", 2), (b"\x03", 3), (b"\x04", 4)]


def _extension_parts_by_elements(element: bytes) -> tuple[bytes, bytes] | None:
    """extension_parts as it read every extension before its byte-position path: None for a DerError."""
    try:
        top = der._elements(element, 0, len(element))
        if len(top) != 1 or top[0][0] != 0x30:
            return None
        parts = der._elements(element, top[0][2], top[0][3])
    except der.DerError:
        return None
    if len(parts) not in (2, 3) or parts[0][0] != 0x06 or parts[-1][0] != 0x04:
        return None
    if len(parts) == 3 and element[parts[1][1] : parts[1][3]] != b"\x01\x01\xff":
        return None
    return element[parts[0][1] : parts[0][3]], element[parts[-1][2] : parts[-1][3]]


def test_extension_parts_by_byte_positions_agree_with_the_element_reader() -> None:
    value = der.encode(0x04, bytes(20))
    odd = [
        der.encode(0x30, der.SKI_OID + value),  # the common shape
        der.encode(0x30, der.SKI_OID + b"\x01\x01\xff" + value),  # critical
        der.encode(0x30, der.SKI_OID + b"\x01\x01\x00" + value),  # FALSE written out: not DER
        der.encode(0x30, der.SAN_OID + der.encode(0x04, bytes(200))),  # a long-form value
        der.encode(0x30, der.SAN_OID + der.encode(0x04, bytes(90))),  # the whole extension long-form
        der.encode(0x30, der.SKI_OID + value) + b"\x00",  # trailing byte
        der.encode(0x30, der.SKI_OID + value + b"\x05\x00"),  # a fourth element
        der.encode(0x30, der.SKI_OID + der.encode(0x03, bytes(20))),  # not an OCTET STRING
        der.encode(0x30, der.encode(0x06, b"") + value),  # an empty OID
        der.encode(0x31, der.SKI_OID + value),  # a SET
        b"\x30\x81\x0a" + der.SKI_OID + b"\x04\x03\x04\x01\x00",  # a length not in its shortest form
        der.encode(0x30, der.SKI_OID + b"\x04\x81\x02\x04\x00"),  # the same, inside
        der.encode(0x30, der.SKI_OID + b"\x04\x05\x04\x03"),  # a value running past the end
        der.encode(0x30, der.SKI_OID),
        b"\x30\x00",
    ]
    for element in odd:
        try:
            found: tuple[bytes, bytes] | None = der.extension_parts(element)
        except der.DerError:
            found = None
        assert found == _extension_parts_by_elements(element), element.hex()
    assert der.extension_parts(odd[0]) == (der.SKI_OID, bytes(20))


def _single_by_elements(data: bytes, tag: int) -> tuple[int, int] | str | None:
    """der._single as a list of elements reads it: the DerError's text when it raises."""
    try:
        listed = der._elements(data, 0, len(data))
    except der.DerError as exc:
        return str(exc)
    return (listed[0][2], listed[0][3]) if len(listed) == 1 and listed[0][0] == tag else None


def test_a_single_element_read_without_a_list_agrees_with_the_element_reader() -> None:
    odd = [
        der.encode(0x30, bytes(5)),  # short form
        der.encode(0x30, bytes(200)),  # long form, one length byte
        der.encode(0x30, bytes(70000)),  # long form, three length bytes
        der.encode(0x31, bytes(5)),  # another tag
        der.encode(0x30, bytes(5)) + b"\x05\x00",  # two elements
        der.encode(0x30, bytes(5)) + b"\x00",  # a trailing byte
        der.encode(0x30, bytes(200))[:-1],  # a value running past the end
        b"\x30\x81\x05" + bytes(5),  # a length not in its shortest form
        b"\x30\x82\x00\x90" + bytes(0x90),  # a leading zero length byte
        b"\x30\x80" + bytes(4),  # indefinite length
        b"\x30\x85\x00\x00\x00\x00\x05" + bytes(5),  # five length bytes
        b"\x30\x82\x01",  # length bytes cut short
        b"\x30",
        b"",
    ]
    for data in odd:
        try:
            found: tuple[int, int] | str | None = der._single(data, 0, len(data), 0x30)
        except der.DerError as exc:
            found = str(exc)
        assert found == _single_by_elements(data, 0x30), data[:8].hex()
    assert der._single(odd[1], 0, len(odd[1]), 0x30) == (3, len(odd[1]))

"""Just enough DER to reach a SubjectPublicKeyInfo and its algorithm OID.

cryptography 46 cannot load ML-DSA, SLH-DSA or ML-KEM public keys; keysweep still has to
inventory them, so it reads the SPKI itself.
"""

from __future__ import annotations

from typing import NamedTuple


class DerError(ValueError):
    pass


def _read_tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """Return (tag, start of value, end of value) for the element at ``offset``."""
    if offset + 2 > len(data):
        raise DerError("truncated DER element")
    tag = data[offset]
    length = data[offset + 1]
    pos = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise DerError("DER element runs past the end of the data")
    return tag, pos, end


def children(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int, int, int]]:
    """The elements in data[start:end]: (tag, element start, value start, value end)."""
    end = len(data) if end is None else end
    out = []
    offset = start
    while offset < end:
        tag, value_start, value_end = _read_tlv(data, offset)
        out.append((tag, offset, value_start, value_end))
        offset = value_end
    return out


def decode_oid(value: bytes) -> str:
    if not value:
        raise DerError("empty OID")
    first = value[0]
    arcs = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    current = 0
    for byte in value[1:]:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    return ".".join(str(arc) for arc in arcs)


def spki_algorithm_oid(spki: bytes) -> str:
    """The algorithm OID of a DER SubjectPublicKeyInfo."""
    (tag, _, start, end), *_ = children(spki) or [(0, 0, 0, 0)]
    if tag != 0x30:
        raise DerError("SubjectPublicKeyInfo is not a SEQUENCE")
    parts = children(spki, start, end)
    if len(parts) != 2 or parts[0][0] != 0x30:
        raise DerError("malformed SubjectPublicKeyInfo")
    alg = children(spki, parts[0][2], parts[0][3])
    if not alg or alg[0][0] != 0x06:
        raise DerError("malformed AlgorithmIdentifier")
    return decode_oid(spki[alg[0][2] : alg[0][3]])


def spki_has_parameters(spki: bytes) -> bool:
    """Whether the AlgorithmIdentifier of a SubjectPublicKeyInfo carries parameters (not absent, not NULL)."""
    (_, _, start, end), *_ = children(spki) or [(0, 0, 0, 0)]
    parts = children(spki, start, end)
    if not parts:
        raise DerError("malformed SubjectPublicKeyInfo")
    algorithm = children(spki, parts[0][2], parts[0][3])
    return len(algorithm) > 1 and algorithm[1][0] != 0x05


def spki_from_tbs(tbs: bytes) -> bytes:
    """The SubjectPublicKeyInfo element of a DER TBSCertificate."""
    top = children(tbs)
    if not top or top[0][0] != 0x30:
        raise DerError("TBSCertificate is not a SEQUENCE")
    fields = children(tbs, top[0][2], top[0][3])
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    if len(fields) < 6 or fields[5][0] != 0x30:
        raise DerError("TBSCertificate has no SubjectPublicKeyInfo")
    _, element_start, _, element_end = fields[5]
    return tbs[element_start:element_end]


def leading_integers(data: bytes) -> list[int]:
    """The INTEGERs that open the top-level SEQUENCE of ``data`` (DH parameters: p, g[, q]).

    Raises DerError when ``data`` is not one complete SEQUENCE.
    """
    top = children(data)
    if len(top) != 1 or top[0][0] != 0x30:
        raise DerError("not one DER SEQUENCE")
    out: list[int] = []
    for tag, _, start, end in children(data, top[0][2], top[0][3]):
        if tag != 0x02:
            break
        out.append(int.from_bytes(data[start:end], "big", signed=True))
    return out


def dh_prime_bits(data: bytes) -> int:
    """The size of p in PKCS#3 DHParameter or X9.42 DomainParameters (both start with p, g)."""
    numbers = leading_integers(data)
    if len(numbers) < 2 or numbers[0] <= 2:
        raise DerError("not DH parameters")
    return numbers[0].bit_length()


def first_element(data: bytes) -> tuple[int, int]:
    """(tag, end offset) of the element that starts ``data``, whatever follows it."""
    tag, _, end = _read_tlv(data, 0)
    return tag, end


def certificate_parts(element: bytes) -> tuple[bytes, bytes]:
    """The TBSCertificate and signature AlgorithmIdentifier elements of a certificate.

    Only those two must be whole: a damaged signature part still leaves a certificate that OpenSSL
    reads. Raises DerError otherwise.
    """
    top = children(element)
    if len(top) != 1 or top[0][0] != 0x30:
        raise DerError("not one DER SEQUENCE")
    tbs_tag, _, tbs_end = _read_tlv(element, top[0][2])
    algorithm_tag, _, algorithm_end = _read_tlv(element, tbs_end)
    if (tbs_tag, algorithm_tag) != (0x30, 0x30):
        raise DerError("not a certificate: TBSCertificate and AlgorithmIdentifier must be SEQUENCEs")
    return element[top[0][2] : tbs_end], element[tbs_end:algorithm_end]


def looks_like_certificate(element: bytes) -> bool:
    """Certificate ::= SEQUENCE { TBSCertificate, AlgorithmIdentifier, BIT STRING }, by its TBS's shape.

    The TBS must hold serial, signature, issuer, validity (a SEQUENCE, unlike a CRL's time),
    subject and SubjectPublicKeyInfo, so CRLs and other signed structures do not pass.
    """
    try:
        tbs, _ = certificate_parts(element)
        fields = children(tbs, 2 if tbs[1] < 0x80 else 2 + (tbs[1] & 0x7F))
    except DerError:
        return False
    if fields and fields[0][0] == 0xA0:
        fields = fields[1:]
    return len(fields) >= 6 and [f[0] for f in fields[:6]] == [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]


def encode(tag: int, value: bytes) -> bytes:
    """One DER element (definite length)."""
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + value


def certificate_with_each_extension(certificate: bytes) -> list[tuple[bytes, bytes]]:
    """(extension element, the certificate re-encoded with only that extension) for each extension.

    The signature no longer matches; this is for asking a strict parser which extension it refuses.
    """
    (_, _, start, end), *_ = children(certificate)
    parts = children(certificate, start, end)
    tbs_tag, _, tbs_value, tbs_end = parts[0]
    fields = children(certificate, tbs_value, tbs_end)
    if not fields or fields[-1][0] != 0xA3:
        return []
    head = b"".join(certificate[f[1] : f[3]] for f in fields[:-1])
    tail = b"".join(certificate[p[1] : p[3]] for p in parts[1:])
    (_, _, seq_start, seq_end), *_ = children(certificate, fields[-1][2], fields[-1][3])
    out = []
    for _, ext_start, _, ext_end in children(certificate, seq_start, seq_end):
        extension = certificate[ext_start:ext_end]
        tbs = encode(tbs_tag, head + encode(0xA3, encode(0x30, extension)))
        out.append((extension, encode(0x30, tbs + tail)))
    return out


class CertificateFields(NamedTuple):
    """The elements of a DER certificate that its description is read from, each as its DER bytes."""

    signature_algorithm: bytes  # the outer AlgorithmIdentifier (what cryptography's signature_* read)
    issuer: bytes
    subject: bytes
    spki: bytes
    extensions: tuple[bytes, ...]  # each Extension element, in order; () without extensions


def _elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """``children`` with the TLV reading inlined (this runs for every certificate of a sweep), and
    strict as DER is: what it reads directly must be what cryptography would accept."""
    out = []
    offset = start
    while offset < end:
        if offset + 2 > end:
            raise DerError("truncated DER element")
        tag = data[offset]
        length = data[offset + 1]
        value = offset + 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or value + count > end or data[value] == 0:
                raise DerError("unsupported DER length")
            length = int.from_bytes(data[value : value + count], "big")
            if length < 0x80:  # DER's lengths are minimal: cryptography refuses this, so must this reader
                raise DerError("DER length not in its shortest form")
            value += count
        after = value + length
        if after > end:
            raise DerError("DER element runs past its parent")
        out.append((tag, offset, value, after))
        offset = after
    return out


def _single(data: bytes, start: int, end: int, tag: int) -> tuple[int, int] | None:
    """(value start, value end) when data[start:end] is exactly one element with ``tag``, read as
    strictly as ``_elements`` (which it calls, to fail as it does, when the region is anything else);
    None for one element of another tag or several elements. No list is built for the common case."""
    if start + 2 <= end:
        length = data[start + 1]
        value = start + 2
        if length < 0x80:
            if value + length == end:
                return (value, end) if data[start] == tag else None
        elif length != 0x80 and length <= 0x84 and value + (length & 0x7F) <= end and data[value] != 0:
            count = length & 0x7F
            length = int.from_bytes(data[value : value + count], "big")
            value += count
            if length >= 0x80 and value + length == end:
                return (value, end) if data[start] == tag else None
    listed = _elements(data, start, end)  # raises as _elements does; else not exactly one element
    return (listed[0][2], listed[0][3]) if len(listed) == 1 and listed[0][0] == tag else None


def certificate_fields(certificate: bytes) -> CertificateFields:
    """The elements of a certificate (one DER SEQUENCE), found by their place in the TBSCertificate.

    Raises DerError for any other shape; callers then read through cryptography alone.
    """
    top = _single(certificate, 0, len(certificate), 0x30)
    if top is None:
        raise DerError("not one DER SEQUENCE")
    parts = _elements(certificate, *top)
    if len(parts) != 3 or parts[0][0] != 0x30 or parts[1][0] != 0x30:
        raise DerError("not a certificate: TBSCertificate, AlgorithmIdentifier, signature")
    fields = _elements(certificate, parts[0][2], parts[0][3])
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, then [1] [2] [3]
    if len(fields) < 6 or [f[0] for f in fields[:6]] != [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]:
        raise DerError("not a TBSCertificate")
    extensions: tuple[bytes, ...] = ()
    if len(fields) > 6 and fields[-1][0] == 0xA3:
        wrapper = _single(certificate, fields[-1][2], fields[-1][3], 0x30)
        if wrapper is None:
            raise DerError("Extensions is not one SEQUENCE")
        listed = _elements(certificate, *wrapper)
        extensions = tuple([certificate[start:end] for _, start, _, end in listed])
    issuer, subject, spki = fields[2], fields[4], fields[5]
    return CertificateFields(
        certificate[parts[1][1] : parts[1][3]],
        certificate[issuer[1] : issuer[3]],
        certificate[subject[1] : subject[3]],
        certificate[spki[1] : spki[3]],
        extensions,
    )


# OID 2.5.29.17 (subjectAltName) and 2.5.29.14 (subjectKeyIdentifier), as DER elements
SAN_OID = b"\x06\x03\x55\x1d\x11"
SKI_OID = b"\x06\x03\x55\x1d\x0e"


def extension_parts(element: bytes) -> tuple[bytes, bytes]:
    """(OID element, extnValue contents) of one DER Extension ::= SEQUENCE { OID, critical, OCTET STRING }."""
    size = len(element)
    if size > 4 and element[0] == 0x30 and element[1] == size - 2 < 0x80 and element[2] == 0x06 and element[3] < 0x80:
        # the common shape, by byte positions: a non-critical extension whose lengths are all short
        # (so minimal) and fill it exactly, as the reading below would find it
        value_at = 4 + element[3]
        if value_at + 2 <= size and element[value_at] == 0x04 and element[value_at + 1] == size - value_at - 2:
            return element[2:value_at], element[value_at + 2 :]
    top = _single(element, 0, len(element), 0x30)
    if top is None:
        raise DerError("Extension is not one SEQUENCE")
    parts = _elements(element, *top)
    if len(parts) not in (2, 3) or parts[0][0] != 0x06 or parts[-1][0] != 0x04:
        raise DerError("malformed Extension")
    if len(parts) == 3 and element[parts[1][1] : parts[1][3]] != b"\x01\x01\xff":
        raise DerError("malformed Extension: critical is not DER's TRUE (FALSE is the default, left out)")
    return element[parts[0][1] : parts[0][3]], element[parts[-1][2] : parts[-1][3]]


# the bytes a dNSName is read from directly: visible ASCII; anything else is left to cryptography
_VISIBLE_ASCII = bytes(range(0x21, 0x7F))


def dns_names(value: bytes) -> list[str] | None:
    """GeneralNames holding only dNSName entries of visible ASCII, as text; None for anything else."""
    top = _single(value, 0, len(value), 0x30)
    if top is None:
        return None
    out = []
    for tag, _, start, end in _elements(value, *top):
        text = value[start:end]
        if tag != 0x82 or not text or text.translate(None, _VISIBLE_ASCII):
            return None
        out.append(text.decode("ascii"))
    return out or None


def octet_string(value: bytes) -> bytes | None:
    """The contents of a value that is exactly one OCTET STRING; None for anything else."""
    top = _single(value, 0, len(value), 0x04)
    return None if top is None else value[top[0] : top[1]]


def name_attributes(name: bytes) -> list[tuple[bytes, int, bytes]] | None:
    """(OID element, string tag, string bytes) for each RDN of a DER Name, when every RDN holds
    exactly one attribute (as nearly all do) in short-form lengths; None for anything else, or an
    empty Name. Walked by hand, without a call per element: every subject of a sweep comes here."""
    top = _single(name, 0, len(name), 0x30)
    if top is None:
        return None
    out = []
    position, end = top
    while position < end:
        # SET { SEQUENCE { OID, value } }: the six header bytes up to the OID's length, then the value
        if position + 6 > end:
            return None
        set_tag, set_length, pair_tag, pair_length, oid_tag, oid_length = name[position : position + 6]
        if (set_tag, pair_tag, oid_tag) != (0x31, 0x30, 0x06) or (set_length | pair_length | oid_length) & 0x80:
            return None
        rdn_end = position + 2 + set_length
        value_at = position + 6 + oid_length
        if pair_length + 2 != set_length or rdn_end > end or value_at + 2 > rdn_end:
            return None
        value_tag, value_length = name[value_at], name[value_at + 1]
        if value_length & 0x80 or value_at + 2 + value_length != rdn_end:
            return None
        out.append((name[position + 4 : value_at], value_tag, name[value_at + 2 : rdn_end]))
        position = rdn_end
    return out or None

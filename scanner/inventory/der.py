"""Just enough DER to reach a SubjectPublicKeyInfo and its algorithm OID.

cryptography 46 cannot load ML-DSA, SLH-DSA or ML-KEM public keys; keysweep still has to
inventory them, so it reads the SPKI itself.
"""

from __future__ import annotations


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

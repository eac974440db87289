"""A report body as content-defined chunks, so that a report with a few changes stores only the
chunks that changed (schema 5).

A body is cut where an id that ends in ``00`` is followed by the next key keysweep writes after an
asset's, a relation's or a finding's id: where the cuts fall depends on the bytes around them only,
so an asset added early in the body moves no later cut. About one id in 256 ends so: for the
20k-file report about 350 chunks of ~180 kB. Any cut would give the same bytes back; these are
merely the ones that keep unchanged parts equal between scans.

Each chunk is stored in ``report_bodies`` under the SHA-256 of its bytes (as a whole body is); the
body's own digest then names a *chunk list*: :data:`LIST_MAGIC` and the chunks' digests. A body
starts with ``,"assets":`` and a chunk never starts with the magic, so the two forms cannot be
mistaken for each other. A body with one chunk is stored whole.
"""

from __future__ import annotations

from collections.abc import Sequence

LIST_MAGIC = b"keysweep-chunks\n"
# an id ending in 00, then the key after it in an asset, a relation (its source) and a finding
_CUTS = (b'00","type":"', b'00","target":"', b'00","rule_id":"')


def chunk_bounds(report_json: bytes, start: int) -> list[int]:
    """Where the body (the bytes from ``start``) is cut: the starts of its chunks, ``start`` first.

    Each mark's occurrences, leftmost first and not overlapping one another, cut the body. The
    marks share their first bytes, so the body is searched once for those (bytes.find runs at
    memchr speed: a few hundred hits in 60 MB) and each hit is compared with the marks.
    """
    cuts = {start}
    prefix = _CUTS[0]
    while not all(mark.startswith(prefix) for mark in _CUTS):
        prefix = prefix[:-1]
    free = dict.fromkeys(_CUTS, start)  # where each mark's next occurrence may start
    at = report_json.find(prefix, start)
    while at >= 0:
        for mark in _CUTS:
            if at >= free[mark] and report_json.startswith(mark, at):
                cuts.add(at + 2)
                free[mark] = at + len(mark)
        at = report_json.find(prefix, at + 1)
    return sorted(cuts)


def chunk_list(digests: Sequence[str]) -> bytes:
    return LIST_MAGIC + "\n".join(digests).encode()


def listed(body: bytes) -> list[str] | None:
    """The chunk digests a stored body lists, or None for a body stored whole."""
    if not body.startswith(LIST_MAGIC):
        return None
    return body[len(LIST_MAGIC) :].decode("ascii", "replace").split("\n")

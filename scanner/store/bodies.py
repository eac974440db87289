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


def _prefix() -> bytes:
    """The bytes every mark starts with: the body is searched for these (bytes.find runs at memchr
    speed: a few hundred hits in 60 MB), and each hit compared with the marks (:func:`_cuts_at`)."""
    prefix = _CUTS[0]
    while not all(mark.startswith(prefix) for mark in _CUTS):
        prefix = prefix[:-1]
    return prefix


def _cuts_at(data: bytes | bytearray, at: int, where: int, free: dict[bytes, int]) -> bool:
    """Whether a mark at ``at`` in ``data`` (``where`` in the body) cuts the body after its ``00``:
    each mark's occurrences cut it leftmost first, not overlapping one another (``free``: where each
    mark's next occurrence may start, in the body; updated here)."""
    for mark in _CUTS:
        if where >= free[mark] and data.startswith(mark, at):
            free[mark] = where + len(mark)
            return True  # the marks differ after the prefix: no other one starts here
    return False


def chunk_bounds(report_json: bytes, start: int) -> list[int]:
    """Where the body (the bytes from ``start``) is cut: the starts of its chunks, ``start`` first."""
    cuts, prefix = [start], _prefix()
    free = dict.fromkeys(_CUTS, start)
    at = report_json.find(prefix, start)
    while at >= 0:
        if _cuts_at(report_json, at, at, free):
            cuts.append(at + 2)
        at = report_json.find(prefix, at + 1)
    return cuts


def chunk_list(digests: Sequence[str]) -> bytes:
    return LIST_MAGIC + "\n".join(digests).encode()


def listed(body: bytes) -> list[str] | None:
    """The chunk digests a stored body lists, or None for a body stored whole."""
    if not body.startswith(LIST_MAGIC):
        return None
    return body[len(LIST_MAGIC) :].decode("ascii", "replace").split("\n")


class Chunker:
    """:func:`chunk_bounds` over a body that comes in pieces: each chunk's bytes as soon as the cut
    after it is found, so a streamed save never holds the whole body (docs/fleet.md).

    The chunks are those ``chunk_bounds`` cuts the joined body into, the last one included.
    """

    def __init__(self) -> None:
        self._pending = bytearray()  # the body from the last cut on
        self._base = 0  # where the pending bytes start in the body
        self._next = 0  # where the search for the marks' common prefix resumes, in the body
        self._free = dict.fromkeys(_CUTS, 0)
        self._prefix = _prefix()
        self._longest = max(map(len, _CUTS))

    def feed(self, data: bytes) -> list[bytes]:
        """The chunks that end in what has come so far."""
        self._pending += data
        return self._cut(final=False)

    def finish(self) -> list[bytes]:
        """The chunks left, the last one whatever its length."""
        chunks = self._cut(final=True)
        chunks.append(bytes(self._pending))
        self._pending = bytearray()
        return chunks

    def _cut(self, final: bool) -> list[bytes]:
        chunks: list[bytes] = []
        pending = self._pending
        at = pending.find(self._prefix, self._next - self._base)
        while at >= 0:
            if not final and at + self._longest > len(pending):
                break  # a mark may run on into the next piece: decided when it comes
            if _cuts_at(pending, at, self._base + at, self._free):
                chunks.append(bytes(pending[: at + 2]))
                del pending[: at + 2]
                self._base += at + 2
                at = -1  # the search goes on from the cut (no mark starts at the hit's second byte)
            at = pending.find(self._prefix, at + 1)
        # where the next search starts: at the first hit left undecided, else past what was searched
        self._next = self._base + (at if at >= 0 else max(0, len(pending) - len(self._prefix) + 1))
        return chunks

"""Issue 12 item 2: the crypto handler's sniff cuts PEM blocks out by ``bytes.find`` instead of a lazy
regex with a backreference; it must give exactly what that regex gave, on real files and on
generated marker soup (unterminated blocks, labels with other characters, nested markers)."""

from __future__ import annotations

import random
import re
from pathlib import Path

from scanner.collectors.files import crypto_material

PEM_OR_TAIL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
PIECES = [
    b"-----BEGIN CERTIFICATE-----",
    b"-----END CERTIFICATE-----",
    b"-----BEGIN RSA PRIVATE KEY-----",
    b"-----END RSA PRIVATE KEY-----",
    b"-----BEGIN A B-----",
    b"-----END A B-----",
    b"-----BEGIN x-----",
    b"-----BEGIN ",
    b"-----END ",
    b"-----",
    b"MIIB\n",
    b"API_KEY=abc\n",
    b"Bag Attributes\n",
    b"\n",
]


def test_cutting_pem_blocks_gives_what_the_regex_gave() -> None:
    rng = random.Random(12)
    samples = [b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14))) for _ in range(5000)]
    corpus = Path(__file__).parent / "corpus"
    samples += [p.read_bytes()[:4096] for p in sorted(corpus.rglob("*")) if p.is_file()]
    assert sum(b"-----BEGIN " in s for s in samples) > 3000
    for sample in samples:
        assert crypto_material._outside_pem(sample) == PEM_OR_TAIL.sub(b"", sample), sample

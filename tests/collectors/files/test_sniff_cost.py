"""Issue 12 item 2: the crypto handler's sniff cuts PEM blocks out by ``bytes.find`` instead of a lazy
regex with a backreference; it must give exactly what that regex gave, on real files and on
generated marker soup (unterminated blocks, labels with other characters, nested markers)."""

from __future__ import annotations

import random
import re
from pathlib import Path

from scanner.collectors.files import crypto_material, ssh_files

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


def _plain_is_moduli(head: bytes) -> bool:
    return any(
        line.startswith(ssh_files._MODULI_HEADER) or ssh_files._MODULI_LINE.match(line)
        for line in head.splitlines()[:5]
    )


def _plain_ssh_public(head: bytes) -> bool:
    for line in head.splitlines()[:20]:
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        return any(prefix in line for prefix in crypto_material._SSH_PUBLIC_PREFIXES)
    return False


def _heads() -> list[bytes]:
    """Real heads (the distribution's moduli, public keys and certificates ssh-keygen writes, this
    repository's sources) and near misses of every kind, with each line ending."""
    moduli = Path("/etc/ssh/moduli").read_bytes()[:4096]
    keys = [
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDH2 user@host\n",
        b'# comment\n\ncommand="true",no-pty sk-ecdsa-sha2-nistp256@openssh.com AAAA x\n',
        b"host.example,10.0.0.1 ecdsa-sha2-nistp384 AAAAE2VjZHNh\n",
        b"ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20 c\n",
        b"ssh_config: Host *\n  ForwardAgent no\n",
        b"ecdsa-sha2 is a name, not a key\n",
        b"20230101000000 2 6 100 2047 5 FFFF\n",
        b"2023010100000 2 6 100 2047 5 FFFF\n",  # 13 digits
        b"# Time Type Tests Tries Size Generator Modulus\n",
    ]
    sources = [p.read_bytes()[:4096] for p in sorted(Path(crypto_material.__file__).parent.glob("*.py"))]
    heads = [moduli, *keys, *sources]
    return [h.replace(b"\n", ending) for h in heads for ending in (b"\n", b"\r\n", b"\r")]


def test_the_ssh_sniffs_quick_refusals_refuse_only_what_the_lines_would() -> None:
    heads = _heads()
    assert [ssh_files._is_moduli(h) for h in heads] == [_plain_is_moduli(h) for h in heads]
    assert [crypto_material._looks_like_ssh_public_keys(h) for h in heads] == [_plain_ssh_public(h) for h in heads]
    assert sum(map(_plain_is_moduli, heads)) >= 6 and sum(map(_plain_ssh_public, heads)) >= 12

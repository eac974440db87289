"""Real scans of real files for the reporter and store tests, in-process or through the CLI."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, ScanResult, freeze
from scanner.scan import ScanRequest, run_scan
from tests.support import pki


def scan_paths(*paths: Path, as_of: datetime | None = None) -> ScanResult:
    packs = select_packs(discover_packs(()), ())
    request = ScanRequest(targets=tuple(Target("path", str(p)) for p in paths), packs=tuple(packs), as_of=as_of)
    return run_scan(request)


def keysweep(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def mixed_tree(root: Path) -> dict[str, Path]:
    """A small tree with findings of several severities: weak, expired, long-lived, good, a CA."""
    ca_key = pki.rsa_key(2048)
    ca = pki.certificate(ca_key, "Test CA", days=3650, ca=True)
    weak = pki.rsa_key(1024)
    good = pki.ec_key()
    expired = pki.ec_key()
    files = {
        "ca": pki.write(root / "ca.crt", pki.pem(ca)),
        "weak_cert": pki.write(root / "weak.crt", pki.pem(pki.certificate(weak, "weak.test", days=90))),
        "weak_key": pki.write(root / "weak.key", pki.key_pem(weak)),
        "good": pki.write(
            root / "good.crt",
            pki.pem(pki.certificate(good, "good.test", issuer_key=ca_key, issuer_name="Test CA", san=["good.test"])),
        ),
        "expired": pki.write(
            root / "old" / "expired.crt",
            pki.pem(pki.certificate(expired, "expired.test", not_before=pki.NOW - 400 * pki.DAY, days=365)),
        ),
    }
    return files


def awkward_names_tree(root: Path) -> None:
    """:func:`mixed_tree` with a non-ASCII file name and a non-UTF-8 one (orjson refuses its
    surrogate: the json module writes what holds it), each a copy of its CA certificate."""
    mixed_tree(root)
    pki.write(root / "ünïcode-名前.crt", (root / "ca.crt").read_bytes())
    pki.write(root / os.fsdecode(b"caf\xe9.crt"), (root / "ca.crt").read_bytes())


def with_endpoint_and_token(result: ScanResult) -> ScanResult:
    """Add what the TLS and PKCS#11 collectors contribute, in the shape DESIGN.md fixes."""
    cert = next(a for a in result.assets if a.type == AssetType.CERTIFICATE and "good.test" in a.properties["subject"])
    endpoint = Asset(
        "tls:127.0.0.1:8443",
        AssetType.TLS_ENDPOINT,
        freeze(
            {
                "host": "127.0.0.1",
                "port": 8443,
                "protocols": ["TLSv1.2", "TLSv1.3"],
                "cipher_suites": ["TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                "key_exchange_groups": ["X25519MLKEM768", "x25519", "secp256r1"],
                "pq_key_exchange": True,
            }
        ),
        (Location("tls", "tls:127.0.0.1:8443"),),
    )
    token = Asset("pkcs11:0a1b", AssetType.HSM_TOKEN, freeze({"label": "demo", "slot": 0}))
    hsm_key = Asset(
        "key:pkcs11:0a1b:wrap",
        AssetType.KEY,
        freeze({"algorithm": "AES", "key_size": 256, "security_bits": 256, "quantum_vulnerable": False}),
        (Location("pkcs11", "pkcs11:0a1b", "label 'wrap'"),),
    )
    data_key = Asset(
        "key:pkcs11:0a1b:data",
        AssetType.KEY,
        freeze({"algorithm": "AES", "key_size": 128, "security_bits": 128, "quantum_vulnerable": False}),
        (Location("pkcs11", "pkcs11:0a1b", "label 'data'"),),
    )
    relations = (
        Relation(endpoint.id, cert.id, RelationType.PRESENTS),
        Relation(hsm_key.id, token.id, RelationType.STORED_IN),
        Relation(hsm_key.id, data_key.id, RelationType.WRAPS),
    )
    return dataclasses.replace(
        result,
        assets=(*result.assets, endpoint, token, hsm_key, data_key),
        relations=(*result.relations, *relations),
    )

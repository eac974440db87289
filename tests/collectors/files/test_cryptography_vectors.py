"""Every file of the cryptography_vectors package (installed at cryptography's version by the test
command): each yields assets or an error naming it, nothing crashes, and the scan finishes."""

from __future__ import annotations

import os
from pathlib import Path

import cryptography
import pytest

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType
from tests.support.openssl import openssl_reads_key_or_certificate

vectors = pytest.importorskip(
    "cryptography_vectors", reason="cryptography-vectors (installed by scripts/bootstrap.sh test) is missing"
)


def test_every_vector_file_is_inventoried_or_an_error() -> None:
    assert vectors.__version__ == cryptography.__version__
    root = Path(vectors.__file__).parent
    all_files = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
    assert len(all_files) > 2000

    graph = InventoryGraph()
    graph.add_all(FileCollector().collect([Target("path", str(root))], CollectContext()))

    seen_files = {a.properties["path"] for a in graph.assets(AssetType.FILE)}
    error_targets = {e.target for e in graph.errors}
    for error in graph.errors:
        assert error.target.startswith(str(root)), error
        assert error.message
    # every file the sweep recognised as crypto material is either inventoried or an error naming it
    recognised = seen_files | error_targets
    assert len(recognised) > 500
    assert recognised <= set(all_files)

    # a sample of what must be there: well-known certificates, keys and keystores from the vectors
    x509 = root / "x509"
    assert f"file:{x509 / 'cryptography.io.pem'}" in graph
    assert f"file:{x509 / 'custom' / 'ca' / 'ca.pem'}" in graph
    kinds = {a.type for a in graph.assets()}
    assert {AssetType.CERTIFICATE, AssetType.KEY, AssetType.FILE, AssetType.TRUST_STORE} <= kinds
    formats = {a.properties["format"] for a in graph.assets(AssetType.FILE)}
    assert {"pem", "der-certificate", "pkcs12", "pkcs7", "openssh-public-keys"} <= formats

    # issue 11 and 18 item 10: the sweep's counts add up, and no file that OpenSSL reads as a
    # certificate or key is dropped in silence (found here: a legacy "DSA PUBLIC KEY" PEM)
    sweep = graph.sweep
    assert sweep.examined == len([f for f in all_files if "__pycache__" not in f])
    assert sweep.examined == sweep.recognised + sweep.skipped + sweep.failed
    named = {loc.ref for a in graph.assets() for loc in a.locations} | error_targets
    dropped = [f for f in all_files if f not in named and openssl_reads_key_or_certificate(Path(f))]
    assert dropped == []

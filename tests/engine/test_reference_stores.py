"""Reference CA stores a package ships to compare against (testssl.sh's /etc/testssl/*.pem) are
judged apart from real trust stores: their anchors are inventoried, findings on them are low with
the reason, while the same weak root in a store that software here uses stays high.

The corpus is testssl.sh's own Microsoft.pem and Java.pem (tests/collectors/files/corpus/
reference-stores/NOTE.md): as files under a tests/ directory they are package data by location; the
installed /etc/testssl files are package data because dpkg records them unchanged.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scanner.inventory.model import AssetType, Severity
from tests.engine.helpers import cert_id
from tests.support.scans import keysweep

CORPUS = Path(__file__).parents[1] / "collectors" / "files" / "corpus" / "reference-stores"
MICROSOFT = CORPUS / "Microsoft.pem"
WEAK_RULE = "cms.key.min-strength"


def _report(tmp_path: Path, *paths: Path) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "report.json"
    args = [a for p in paths for a in ("--path", str(p))]
    done = keysweep("scan", "--no-store", *args, "--json", str(out), "-q")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def _weak_roots() -> list[x509.Certificate]:
    with warnings.catch_warnings():  # a few of Microsoft's roots have a negative serial number
        warnings.simplefilter("ignore")
        roots = x509.load_pem_x509_certificates(MICROSOFT.read_bytes())
    return [c for c in roots if isinstance(c.public_key(), rsa.RSAPublicKey) and c.public_key().key_size < 2048]


def test_a_packaged_reference_store_is_inventoried_and_its_findings_are_low(tmp_path: Path) -> None:
    report = _report(tmp_path, CORPUS)
    stores = {a["id"]: a["properties"] for a in report["assets"] if a["type"] == AssetType.TRUST_STORE}
    assert set(stores) == {f"truststore:{CORPUS / name}" for name in ("Microsoft.pem", "Java.pem")}
    for props in stores.values():
        assert props["reference"] is True
        assert props["reason"].startswith("reference copy of CA roots (test, example or documentation material")
    weak = [f for f in report["findings"] if f["rule_id"] == WEAK_RULE]
    assert len(weak) == len(_weak_roots()) == 12
    for finding in weak:
        assert finding["severity"] == "low"
        assert finding["evidence"]["rule_severity"] == "high"
        assert finding["evidence"]["reference_copy"].startswith("reference copy of CA roots")
    # nothing on a reference copy is reported above low (expired roots, unapproved anchors, ...)
    assert {f["severity"] for f in report["findings"]} <= {"low", "info"}


def test_the_same_weak_root_in_a_real_trust_store_stays_high(tmp_path: Path) -> None:
    weak = _weak_roots()
    real = tmp_path / "ca-bundle.crt"  # a trust store by its conventional name, outside package data
    real.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in weak[:2]))
    report = _report(tmp_path, CORPUS, real)
    severity = {f["asset_id"]: f["severity"] for f in report["findings"] if f["rule_id"] == WEAK_RULE}
    keys = {a["id"]: a for a in report["assets"] if a["type"] == AssetType.KEY}
    in_real = {k for k, a in keys.items() if any(loc["ref"] == str(real) for loc in a["locations"])}
    assert len(in_real) == 2 and all(severity[k] == "high" for k in in_real)
    assert sorted(v for k, v in severity.items() if k not in in_real) == ["low"] * 10
    for cert in weak[:2]:
        props = next(a["properties"] for a in report["assets"] if a["id"] == cert_id(cert))
        assert props["trust_anchor"] is True and "reference_copy" not in props


def test_a_reference_store_a_configuration_names_is_a_real_trust_store(tmp_path: Path) -> None:
    """Named by nginx as its client CA file: used for trust, whatever package shipped it."""
    from tests.support import pki

    key = pki.ec_key()
    pki.write(tmp_path / "server.pem", pki.pem(pki.certificate(key, "www.example")), 0o644)
    pki.write(tmp_path / "server.key", pki.key_pem(key), 0o600)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "events {}\nhttp {\n  server {\n    listen 443 ssl;\n    ssl_certificate server.pem;\n"
        f"    ssl_certificate_key server.key;\n    ssl_client_certificate {MICROSOFT};\n  }}\n}}\n"
    )
    report = _report(tmp_path, conf, CORPUS)
    store = next(a["properties"] for a in report["assets"] if a["id"] == f"truststore:{MICROSOFT}")
    assert store["reference"] is False and store["reason"] == f"named as CA certificates (ca-certificates) by {conf}:7"
    weak = [f for f in report["findings"] if f["rule_id"] == WEAK_RULE]
    assert len(weak) == 12 and {f["severity"] for f in weak} == {"high"}


def test_the_installed_testssl_stores_are_reference_copies_by_dpkg(tmp_path: Path) -> None:
    """/etc/testssl is not package data by location: dpkg's record of the unchanged file decides."""
    installed = Path("/etc/testssl/Microsoft.pem")
    assert installed.read_bytes() == MICROSOFT.read_bytes(), "testssl.sh (scripts/bootstrap.sh) is not installed"
    copy = tmp_path / "Microsoft.pem"  # the same roots, owned by no package: not a reference copy
    shutil.copy(installed, copy)
    report = _report(tmp_path, installed, copy)
    stores = {a["id"]: a["properties"] for a in report["assets"] if a["type"] == AssetType.TRUST_STORE}
    assert stores == {
        f"truststore:{installed}": {
            "path": str(installed),
            "anchors": stores[f"truststore:{installed}"]["anchors"],
            "reason": "reference copy of CA roots (shipped unchanged by the Debian package testssl.sh), "
            "not a trust location any software here is known to use",
            "reference": True,
            "reference_copy": stores[f"truststore:{installed}"]["reason"],
        }
    }
    # the copy in /tmp is no store (no trust location, no name, no configuration): the keys sit
    # there too, so they are not reference copies only, and keep the rule's severity
    weak = {f["severity"] for f in report["findings"] if f["rule_id"] == WEAK_RULE}
    assert weak == {Severity.HIGH.value}


def test_example_keys_a_package_ships_are_low_and_the_same_key_elsewhere_is_not(tmp_path: Path) -> None:
    """xmlsec's examples in /usr/share/doc hold an RSA-512 key and its certificate: package data
    secures nothing here. The same key in an admin's own directory is judged in full."""
    from tests.support import pki

    weak = pki.rsa_key(1024)
    other = pki.rsa_key(1024)
    examples = tmp_path / "docs" / "examples"  # a documentation tree, as a package ships it
    pki.write(examples / "rsakey.pem", pki.key_pem(weak), 0o644)
    pki.write(examples / "rsacert.pem", pki.pem(pki.certificate(weak, "example.test")), 0o644)
    pki.write(examples / "otherkey.pem", pki.key_pem(other), 0o644)
    own = tmp_path / "srv"
    pki.write(own / "server.key", pki.key_pem(other), 0o600)  # the admin's own copy of one example key
    report = _report(tmp_path, examples, own)
    by_key = {}
    for finding in report["findings"]:
        if finding["rule_id"] == WEAK_RULE:
            by_key[finding["asset_id"]] = finding
    assert len(by_key) == 2
    severities = sorted(f["severity"] for f in by_key.values())
    assert severities == ["high", "low"] or severities == ["critical", "low"], severities
    low = next(f for f in by_key.values() if f["severity"] == "low")
    assert "package data (test, example or documentation material (a 'docs' directory))" in low["message"]
    assert low["evidence"]["rule_severity"] in ("high", "critical")


def test_a_single_root_named_as_a_bundle_in_package_data_is_a_reference_copy(tmp_path: Path) -> None:
    """xmlsec's /usr/share/doc/libxmlsec1-dev/examples/cacert.pem: one RSA-1024 root, a trust store by
    its name. In a package's examples it is a reference copy; the same file in /etc/myapp is a real
    trust store and its weak root stays high."""
    from tests.support import pki

    pem = pki.pem(pki.certificate(pki.rsa_key(1024), "XML Security Library Root CA", ca=True, days=3650))
    shipped = tmp_path / "doc" / "examples" / "cacert.pem"
    own = tmp_path / "etc" / "myapp" / "cacert.pem"
    for path in (shipped, own):
        path.parent.mkdir(parents=True)
        path.write_bytes(pem)
    report = _report(tmp_path, shipped)
    (store,) = [a["properties"] for a in report["assets"] if a["type"] == AssetType.TRUST_STORE]
    assert store["reference"] is True and store["reason"].startswith("reference copy of CA roots (test, example")
    assert {f["severity"] for f in report["findings"]} <= {"low", "info"}
    (weak,) = [f for f in report["findings"] if f["rule_id"] == WEAK_RULE]
    assert weak["evidence"]["rule_severity"] == "high"
    report = _report(tmp_path, own)
    (store,) = [a["properties"] for a in report["assets"] if a["type"] == AssetType.TRUST_STORE]
    assert "reference" not in store and store["reason"] == "named as a CA bundle (cacert.pem)"
    (weak,) = [f for f in report["findings"] if f["rule_id"] == WEAK_RULE]
    assert weak["severity"] == "high"

"""What issue 6 asks to see, end to end through the command line and the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from scanner.cli import main
from scanner.inventory.graph import InventoryGraph
from tests.engine.helpers import cert_id, endpoint, evaluate, failing, key_id, scan, write_cert
from tests.support import pki


def _scan_json(tmp_path: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["scan", *args, "--json", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data: dict = json.loads(out.read_text())  # type: ignore[type-arg]
    return data


def test_rsa_2048_moves_from_acceptable_to_deprecated_to_disallowed(tmp_path: Path) -> None:
    targets = tmp_path / "targets"
    key = pki.rsa_key(2048)
    write_cert(targets, "rsa.pem", pki.certificate(key, "rsa.example"))
    seen = {}
    for day in ("2026-12-01", "2031-01-01", "2036-01-01"):
        report = _scan_json(tmp_path, "--path", str(targets), "--as-of", day)
        assert report["scan"]["as_of"].startswith(day)
        [finding] = [f for f in report["findings"] if f["rule_id"] == "cms.key.quantum-vulnerable"]
        assert finding["asset_id"] == key_id(key.public_key())
        seen[day] = (finding["evidence"]["status"], finding["severity"], finding["deadline"])
    assert seen == {
        "2026-12-01": ("acceptable until migration", "info", "2030-12-31"),
        "2031-01-01": ("deprecated", "medium", "2035-12-31"),
        "2036-01-01": ("disallowed", "high", "2035-12-31"),
    }


def test_fips_ed25519_certificate_approved_and_x25519_only_key_exchange_not(tmp_path: Path) -> None:
    ed = pki.ed25519_key()
    cert = pki.certificate(ed, "ed.example")
    write_cert(tmp_path, "ed.pem", cert)
    result = scan([tmp_path], ["fips-140-3"])
    fips = [f for f in result.findings if f.category == "fips"]
    assert fips == []  # neither the certificate's signature nor its key is flagged
    [key_asset] = [a for a in result.assets if a.id == key_id(ed.public_key())]
    assert key_asset.properties["fips_approved"] is True
    assert next(a for a in result.assets if a.id == cert_id(cert)).properties["signature_algorithm"] == "ed25519"

    # no TLS collector on this branch: the endpoint is built as the TLS collector will report it
    graph = InventoryGraph()
    x25519_only = endpoint(graph, "127.0.0.1", ["X25519"], port=8443)
    findings = evaluate(graph, ["fips-140-3"])
    assert failing(findings, "fips.tls.key-exchange-not-approved") == {x25519_only}
    [finding] = findings
    assert finding.severity.value == "high"
    assert "no FIPS 140-3 approved group" in finding.message
    assert finding.requirements == ("fips-140-3:APPROVED-KEY-EXCHANGE",)


def test_cnsa_ml_dsa_65_below_and_ml_dsa_87_meets(tmp_path: Path) -> None:
    d65 = pki.ml_dsa_certificate("a.example", parameter_set="ML-DSA-65")
    d87 = pki.ml_dsa_certificate("b.example", parameter_set="ML-DSA-87")
    pki.write(tmp_path / "65.der", d65)
    pki.write(tmp_path / "87.der", d87)
    result = scan([tmp_path], ["cnsa-2.0"], day="2026-12-01")
    keys = {a.properties["algorithm"]: a.id for a in result.assets if a.type.value == "key"}
    assert set(keys) == {"ML-DSA-65", "ML-DSA-87"}
    flagged = {f.asset_id: f for f in result.findings}
    assert set(flagged) == {keys["ML-DSA-65"], cert_id(d65)}
    assert "ML-DSA-65 is below the CNSA 2.0 algorithms" in flagged[keys["ML-DSA-65"]].message
    # the severity rises at the 2027 acquisition gate and at the 2031 mandate
    for day, severity in (("2026-12-01", "low"), ("2027-01-02", "medium"), ("2032-01-01", "high")):
        later = scan([tmp_path], ["cnsa-2.0"], day=day)
        assert {f.severity.value for f in later.findings} == {severity}


def test_default_packs_leave_a_good_p256_certificate_with_the_inventory_finding_only(tmp_path: Path) -> None:
    key = pki.ec_key()
    write_cert(tmp_path, "good.pem", pki.certificate(key, "good.example"))
    report = _scan_json(tmp_path, "--path", str(tmp_path / "good.pem"))
    assert [(f["rule_id"], f["severity"]) for f in report["findings"]] == [("cms.key.quantum-vulnerable", "info")]
    [finding] = report["findings"]
    assert finding["policies"] == ["cms-km-handbook"]
    assert finding["requirements"] == ["cms-km-handbook:PQC-INVENTORY"]


def test_findings_name_every_selected_pack_and_requirement_that_maps_the_rule(tmp_path: Path) -> None:
    weak = pki.rsa_key(1024)
    write_cert(tmp_path, "weak.pem", pki.certificate(weak, "weak.example"))
    result = scan([tmp_path], ["cms-km-handbook", "nist-sp800-131a", "fips-140-3"])
    [finding] = [f for f in result.findings if f.rule_id == "cms.key.min-strength"]
    assert finding.policies == ("cms-km-handbook", "nist-sp800-131a", "fips-140-3")
    assert finding.requirements == (
        "cms-km-handbook:KS-TABLE1",
        "nist-sp800-131a:STRENGTH-112",
        "fips-140-3:APPROVED-KEYS",
    )
    # a pack alone runs the rules its requirements map from other packs
    alone = scan([tmp_path], ["nist-sp800-131a"])
    [mapped] = [f for f in alone.findings if f.rule_id == "cms.key.min-strength"]
    assert mapped.policies == ("nist-sp800-131a",)
    assert mapped.requirements == ("nist-sp800-131a:STRENGTH-112",)


def test_as_of_decides_certificate_expiry(tmp_path: Path) -> None:
    cert = pki.certificate(pki.ec_key(), "c.example", not_before=pki.NOW - pki.DAY, days=90)
    write_cert(tmp_path, "c.pem", cert)
    later = (pki.NOW + 100 * pki.DAY).date().isoformat()
    assert failing(scan([tmp_path], ["cms-km-handbook"]), "cms.cert.expired") == set()
    assert failing(scan([tmp_path], ["cms-km-handbook"], later), "cms.cert.expired") == {cert_id(cert)}

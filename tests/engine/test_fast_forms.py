"""The engine's fast path says exactly what the checks say, called one asset at a time.

Checks may carry a fast form (scanner.engine.checks.fast_form) and share per-evaluation memos
(parsed instants, a key's certificates); the engine also builds and orders findings its own way.
Each is held here to the plain evaluation on real scans: the demo's samples, and a generated tree
of varied certificates (every validity edge, CAs and roots, shared keys, non-ASCII names, a file
name that is not UTF-8, huge serials), at several as-of dates, under every built-in pack.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.collectors.base import SilentProgress, Target
from scanner.engine.checks import Check, EvalContext, Hit, fast_form, fast_prepare, load_check
from scanner.engine.evaluate import Evaluation, RuleEngine
from scanner.engine.rules import Pack, Rule
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, CollectionError, Finding, Severity, freeze
from scanner.scan import ScanRequest, build_graph
from tests.engine.helpers import PACKS
from tests.support import pki, samples

NOW, DAY = pki.NOW, pki.DAY
SECOND = dt.timedelta(seconds=1)
# as-of dates around the generated validity edges, and far before and after all of them
DATES = (NOW, NOW + 20 * DAY, NOW - 400 * DAY, NOW + 3000 * DAY)


def _graph(*paths: Path) -> InventoryGraph:
    request = ScanRequest(targets=tuple(Target("path", str(p)) for p in paths), packs=())
    return build_graph(request, SilentProgress())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's file and config samples (sample-targets/files and configs), made fresh."""
    out = tmp_path_factory.mktemp("demo")
    for part in ("files", "configs"):
        samples.start(part, out / part)
    return out


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates at every edge the certificate and key rules look at."""
    root = tmp_path_factory.mktemp("varied")
    ca_key, other_ca_key = pki.ec_key(), pki.ec_key()
    ca = pki.certificate(ca_key, "Varied Root", ca=True, days=3650, not_before=NOW - 800 * DAY)
    pki.write(root / "ca-bundle.pem", pki.pem(ca), 0o644)  # a trust store by its name
    lone_root = pki.certificate(other_ca_key, "Lone Root CA", ca=True, days=7300)
    pki.write(root / "lone-root.pem", pki.pem(lone_root), 0o644)
    shared = pki.ec_key()  # one key behind many certificates: reuse, several identities, functions
    server, client, code = (
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.CODE_SIGNING,
    )
    lifetimes = (1, 29, 30, 31, 90, 397, 398, 399, 825, 3650, 36500)
    for i, days in enumerate(lifetimes):
        for shift, label in ((max(-days - 5, -20000), "expired"), (-1, "current"), (days // 2, "future")):
            start = NOW + shift * DAY
            key = shared if i % 3 == 0 else pki.ec_key()
            subject = f"host{i % 4}.example" if key is shared else f"v{i}-{label}.example"
            issuer = (ca_key, "Varied Root") if i % 2 else (other_ca_key, "Lone Root CA")
            cert = pki.certificate(
                key,
                subject,
                issuer_key=issuer[0],
                issuer_name=issuer[1],
                not_before=start,
                days=days,
                eku=[(server, client, code)[(i // 3 + len(label)) % 3]],
                crl_url="http://crl.example/root.crl" if i % 2 else None,
                ocsp_url="http://ocsp.example" if i % 4 == 1 else None,
                serial=2**158 + i if i % 5 == 0 else None,  # a huge serial number
            )
            pki.write(root / f"v{i}-{label}.pem", pki.pem(cert), 0o644)
    # 398 days exactly (notAfter inclusive) and one second more: the rotation rule's edge
    for extra, label in ((-SECOND, "edge"), (dt.timedelta(0), "edge-plus-1s")):
        start = NOW - 10 * DAY
        cert = (
            x509.CertificateBuilder()
            .subject_name(pki.name(f"{label}.example"))
            .issuer_name(pki.name("Varied Root"))
            .public_key(pki.ec_key().public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + 398 * DAY + extra)
            .sign(ca_key, hashes.SHA256())
        )
        pki.write(root / f"{label}.pem", pki.pem(cert), 0o644)
    # names that are not ASCII, and a file name that is not UTF-8 (a lone surrogate in the id)
    pki.write(root / "ünïcødé.pem", pki.pem(pki.certificate(pki.ec_key(), "Zürich Straße 東京", days=900)), 0o644)
    odd = os.fsencode(root) + b"/caf\xe9-\xff.pem"
    with open(odd, "wb") as handle:
        handle.write(pki.pem(pki.certificate(pki.ec_key(), "latin1.example", days=1000)))
    # a SHA-1 signature (openssl: cryptography refuses to sign with it); private keys readable by others
    sha1 = pki.openssl_sha1_certificate("sha1.example", tmp_path_factory.mktemp("openssl"))
    pki.write(root / "sha1.pem", pki.pem(sha1), 0o644)
    pki.write(root / "world.key", pki.key_pem(pki.ec_key()), 0o644)
    pki.write(root / "group.key", pki.key_pem(shared), 0o640)
    pki.write(root / "private.key", pki.key_pem(pki.rsa_key()), 0o600)
    return root


def _direct(packs: list[Pack], graph: InventoryGraph, as_of: dt.datetime) -> Evaluation:
    """The plain evaluation: every rule's check called on every asset, no fast form, one sort."""
    engine = RuleEngine(packs)  # for its rule order and requirement mapping only
    context = EvalContext(as_of=as_of)
    findings: list[Finding] = []
    errors: list[CollectionError] = []
    assets = list(graph.assets())
    for rule in engine.rules:
        check = load_check(rule.check)
        policies = tuple(dict.fromkeys(p.name for p in packs if rule.id in {r.id for r in p.all_rules()}))
        for asset_type in rule.applies_to:
            for asset in (a for a in assets if a.type == asset_type):
                try:
                    hits = list(check(asset, graph, rule.params, context))
                except Exception as exc:
                    errors.append(
                        CollectionError(asset.id, "engine", f"rule {rule.id} failed: {type(exc).__name__}: {exc}")
                    )
                    continue
                for hit in hits:
                    findings.append(_finding(rule, asset, hit, policies, engine.requirements_of(rule.id)))
    findings.sort(key=lambda f: (-f.severity.rank, f.rule_id, f.asset_id, f.id))
    return Evaluation(tuple(findings), tuple(errors))


def _finding(rule: Rule, asset: Asset, hit: Hit, policies: tuple[str, ...], requirements: tuple[str, ...]) -> Finding:
    why = asset.properties.get("reference_copy")
    severity = hit.severity or rule.severity
    if why and severity.rank > Severity.LOW.rank:
        hit = replace(
            hit,
            message=f"{hit.message} [{why}]",
            evidence={**hit.evidence, "reference_copy": why, "rule_severity": severity.value},
            severity=Severity.LOW,
        )
    return Finding(
        id=Finding.make_id(rule.id, asset.id, hit.discriminator),
        rule_id=rule.id,
        title=rule.title,
        severity=hit.severity or rule.severity,
        category=rule.category,
        asset_id=asset.id,
        message=hit.message,
        evidence=freeze(hit.evidence),
        references=rule.references,
        policies=policies,
        remediation=rule.remediation,
        deadline=hit.deadline or rule.deadline,
        requirements=requirements,
    )


def _fast_checks() -> list[str]:
    names = sorted({rule.check for pack in PACKS.values() for rule in pack.rules})
    return [name for name in names if fast_prepare(load_check(name)) is not None]


def test_the_hot_certificate_and_key_checks_have_fast_forms() -> None:
    assert {
        "certificate_validity_too_long",
        "certificate_expired",
        "certificate_expiring",
        "certificate_not_yet_valid",
        "private_key_permissions",
        "signature_algorithm_allowed",
        "fips_signature_algorithm",
    } <= set(_fast_checks())


@pytest.mark.parametrize("tree", ["demo", "varied"])
def test_every_fast_form_gives_its_checks_hits_on_every_asset(tree: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(tree)
    graph = _graph(root)
    rules = [rule for pack in PACKS.values() for rule in pack.rules if fast_prepare(load_check(rule.check))]
    assert rules
    compared = hits = 0
    for as_of in DATES:
        enrich(graph, as_of)
        context = EvalContext(as_of=as_of)  # shared by the fast forms, as in the engine
        for rule in rules:
            check = load_check(rule.check)
            prepare = fast_prepare(check)
            assert prepare is not None
            run = prepare(graph, rule.params, context)
            for asset in graph.assets():
                if asset.type not in rule.applies_to:
                    continue
                expected = list(check(asset, graph, rule.params, EvalContext(as_of=as_of)))  # memo of its own
                assert list(run(asset)) == expected, (rule.id, asset.id, as_of)
                compared += 1
                hits += len(expected)
    assert compared > 100 and hits > 20


@pytest.mark.parametrize("tree", ["demo", "varied"])
def test_the_engine_finds_what_the_plain_evaluation_finds(tree: str, request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(tree)
    graph = _graph(root)
    for packs in ([p for p in PACKS.values() if p.default], list(PACKS.values())):
        engine = RuleEngine(packs)
        for as_of in DATES:
            enrich(graph, as_of)
            got = engine.evaluate(graph, EvalContext(as_of=as_of))
            want = _direct(packs, graph, as_of)
            assert got.errors == want.errors
            assert [f.id for f in got.findings] == [f.id for f in want.findings]  # the same order
            assert got.findings == want.findings
            assert got.findings  # the comparison saw findings
            assert RuleEngine(packs, fast=False).evaluate(graph, EvalContext(as_of=as_of)) == got
    rules = {f.rule_id for f in got.findings}
    assert {"cms.cert.validity-exceeds-rotation", "cms.cert.expired"} <= rules


def test_the_varied_tree_reaches_the_edges(varied: Path) -> None:
    """The generated tree does hit what it is there to hit (else the comparisons above prove little)."""
    graph = _graph(varied)
    engine = RuleEngine(list(PACKS.values()))
    enrich(graph, NOW)
    findings = engine.evaluate(graph, EvalContext(as_of=NOW)).findings
    by_rule: dict[str, set[str]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, set()).add(finding.asset_id)
    for rule_id in (
        "cms.cert.validity-exceeds-rotation",
        "cms.cert.expired",
        "cms.cert.not-yet-valid",
        "cms.cert.expiring-soon",
        "cms.cert.weak-signature-hash",
        "cms.cert.crl-without-ocsp",
        "cms.cert.untrusted-root",
        "cms.cert.key-reused-on-renewal",
        "cms.key.multiple-functions",
        "cms.key.readable-private-key-file",
    ):
        assert by_rule.get(rule_id), rule_id
    too_long = {graph.asset(a).properties.get("subject") for a in by_rule["cms.cert.validity-exceeds-rotation"]}
    assert "CN=edge-plus-1s.example" in too_long and "CN=edge.example" not in too_long
    assert "CN=Zürich Straße 東京" in too_long
    assert any("\udcff" in a for a in by_rule["cms.cert.validity-exceeds-rotation"] | set(graph.asset_ids()))


def _rule(check: str, **params: Any) -> Rule:
    return Rule(
        id=f"test.{check}",
        title="test",
        category="certificate-validity",
        severity=Severity.MEDIUM,
        applies_to=(AssetType.CERTIFICATE,),
        check=check,
        pack="test",
        remediation="",
        references=(),
        params=params,
    )


def _pack(*rules: Rule) -> Pack:
    return Pack("test", "1", "test", False, (), rules, Path("test.toml"))


def test_a_malformed_parameter_is_reported_per_asset_as_the_check_reports_it(varied: Path) -> None:
    # the fast form cannot be prepared; the check itself skips CAs before it reads max_days
    graph = _graph(varied)
    enrich(graph, NOW)
    packs = [_pack(_rule("certificate_validity_too_long", max_days="a year"))]
    got = RuleEngine(packs).evaluate(graph, EvalContext(as_of=NOW))
    want = _direct(packs, graph, NOW)
    assert got.errors == want.errors and got.findings == want.findings == ()
    cas = {a.id for a in graph.assets(AssetType.CERTIFICATE) if a.properties.get("is_ca")}
    assert cas and not cas & {e.target for e in got.errors}
    assert "ValueError: invalid literal for int() with base 10: 'a year'" in got.errors[0].message


def test_an_odd_property_value_is_left_to_the_check(varied: Path) -> None:
    """A value the fast form cannot read (a number for a date) gets the check's own error."""
    graph = InventoryGraph()
    for asset in _graph(varied).assets():
        graph.add_asset(asset)
    odd = Asset("cert:odd", AssetType.CERTIFICATE, freeze({"not_before": 20240101, "not_after": 20990101}))
    listed = Asset("cert:list", AssetType.CERTIFICATE, freeze({"not_before": ["2024"], "not_after": ["2099"]}))
    graph.add_asset(odd)
    graph.add_asset(listed)
    rules = [_rule(name) for name in ("certificate_expired", "certificate_validity_too_long", "certificate_expiring")]
    packs = [_pack(*rules)]
    got = RuleEngine(packs).evaluate(graph, EvalContext(as_of=NOW))
    want = _direct(packs, graph, NOW)
    assert got == want
    assert {e.target for e in got.errors} == {"cert:odd", "cert:list"}
    assert all("AttributeError" in e.message for e in got.errors)


def _broken_fast(graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Any:
    def run(asset: Asset) -> Iterable[Hit]:
        if asset.properties.get("self_signed"):
            raise RuntimeError("a fast form's bug")
        return ()  # and it misses everything else: only its failures reach the check

    return run


@fast_form(_broken_fast)
def _named_check(asset: Asset, graph: InventoryGraph, params: Mapping[str, Any], context: EvalContext) -> Iterator[Hit]:
    yield Hit(f"seen {asset.id}")


def test_a_fast_form_that_fails_on_an_asset_leaves_it_to_the_check(
    varied: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = _graph(varied)
    enrich(graph, NOW)
    real_load = load_check

    def load(name: str) -> Check:
        return _named_check if name == "named" else real_load(name)

    monkeypatch.setattr("scanner.engine.evaluate.load_check", load)
    engine = RuleEngine([_pack(_rule("named"))])
    findings = engine.evaluate(graph, EvalContext(as_of=NOW)).findings
    roots = {a.id for a in graph.assets(AssetType.CERTIFICATE) if a.properties.get("self_signed")}
    assert roots and {f.asset_id for f in findings} == roots


def test_certificates_sharing_a_validity_window_each_get_their_own_finding(tmp_path: Path) -> None:
    """The rotation rule works a window out once (a fleet's certificates share a few thousand):
    every certificate of the window still gets its own name in its message, a CA of the same
    window is still skipped, and a shorter window at the same start still passes."""
    start = NOW - 30 * DAY
    ca_key = pki.ec_key()
    ca = pki.certificate(ca_key, "Window Root", ca=True, days=825, not_before=start)
    pki.write(tmp_path / "root.pem", pki.pem(ca), 0o644)
    names = ("window-a.example", "window-b.example", "Zürich Straße 東京")
    for n, subject in enumerate(names):
        cert = pki.certificate(
            pki.ec_key(), subject, issuer_key=ca_key, issuer_name="Window Root", not_before=start, days=825
        )
        pki.write(tmp_path / f"leaf{n}.pem", pki.pem(cert), 0o644)
    short = pki.certificate(
        pki.ec_key(), "short.example", issuer_key=ca_key, issuer_name="Window Root", not_before=start
    )
    pki.write(tmp_path / "short.pem", pki.pem(short), 0o644)
    graph = _graph(tmp_path)
    enrich(graph, NOW)
    packs = [_pack(_rule("certificate_validity_too_long"))]
    got = RuleEngine(packs).evaluate(graph, EvalContext(as_of=NOW))
    assert got == _direct(packs, graph, NOW)
    assert len(got.findings) == len(names)
    for subject in names:
        assert sum(subject in f.message for f in got.findings) == 1
    assert len({f.message for f in got.findings}) == len(names)
    assert len({tuple(f.evidence.items()) for f in got.findings}) == 1  # one window
    # with CAs included, the root (same window) is found too, and named as itself
    with_ca = [_pack(_rule("certificate_validity_too_long", include_ca=True))]
    got = RuleEngine(with_ca).evaluate(graph, EvalContext(as_of=NOW))
    assert got == _direct(with_ca, graph, NOW)
    assert sum("Window Root" in f.message for f in got.findings) == 1 and len(got.findings) == len(names) + 1

"""Trust stores by location and use, roots in them, and validity compared as exact instants."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.checks_builtin import certificates
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Asset, AssetType, RelationType, freeze
from tests.engine.helpers import cert_id, failing, scan, write_cert
from tests.support import pki

NOW, DAY = pki.NOW, pki.DAY
SECOND = dt.timedelta(seconds=1)


def _stores(result: object) -> dict[str, Asset]:
    return {a.id: a for a in result.assets if a.type is AssetType.TRUST_STORE}  # type: ignore[attr-defined]


# -- trust stores ---------------------------------------------------------------------------------
def test_a_chain_file_is_not_a_trust_store_and_its_untrusted_root_is_reported(tmp_path: Path) -> None:
    trusted = pki.certificate(pki.ec_key(), "Trusted Root", ca=True, days=3650)
    rogue_key = pki.ec_key()
    rogue = pki.certificate(rogue_key, "Rogue Root", ca=True, days=3650)
    inter_key = pki.ec_key()
    inter = pki.certificate(inter_key, "Rogue Intermediate", ca=True, issuer_key=rogue_key, issuer_name="Rogue Root")
    leaf = pki.certificate(pki.ec_key(), "app.example", issuer_key=inter_key, issuer_name="Rogue Intermediate")
    pki.write(tmp_path / "ca-bundle.pem", pki.pem(trusted), 0o644)  # one certificate: a trust store by its name
    pki.write(tmp_path / "chain.pem", pki.pem(rogue) + pki.pem(inter), 0o644)  # two CAs, no key: not a store
    write_cert(tmp_path, "leaf.pem", leaf)
    result = scan([tmp_path], ["cms-km-handbook"])
    stores = _stores(result)
    assert set(stores) == {f"truststore:{tmp_path / 'ca-bundle.pem'}"}
    assert (
        stores[f"truststore:{tmp_path / 'ca-bundle.pem'}"].properties["reason"]
        == "named as a CA bundle (ca-bundle.pem)"
    )
    assert failing(result, "cms.cert.untrusted-root") == {cert_id(leaf)}


def test_a_one_certificate_ca_file_named_by_nginx_is_a_trust_store_with_the_reason(tmp_path: Path) -> None:
    key = pki.ec_key()
    pki.write(tmp_path / "server.pem", pki.pem(pki.certificate(key, "www.example")), 0o644)
    pki.write(tmp_path / "server.key", pki.key_pem(key), 0o600)
    client_ca = pki.certificate(pki.ec_key(), "Client CA", ca=True, days=3650)
    pki.write(tmp_path / "clients.pem", pki.pem(client_ca), 0o644)
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "events {}\nhttp {\n  server {\n    listen 443 ssl;\n    ssl_certificate server.pem;\n"
        "    ssl_certificate_key server.key;\n    ssl_client_certificate clients.pem;\n  }\n}\n"
    )
    result = scan([conf], ["cms-km-handbook"])
    store = _stores(result)[f"truststore:{tmp_path / 'clients.pem'}"]
    assert store.properties["reason"] == f"named as CA certificates (ca-certificates) by {conf}:7"
    assert store.properties["anchors"] == 1
    trusted = {r.target for r in result.relations if r.type is RelationType.TRUSTS and r.source == store.id}
    assert trusted == {cert_id(client_ca)}


def test_a_ca_directory_named_by_apache_is_one_trust_store(tmp_path: Path) -> None:
    key = pki.ec_key()
    pki.write(tmp_path / "server.pem", pki.pem(pki.certificate(key, "www.example")), 0o644)
    pki.write(tmp_path / "server.key", pki.key_pem(key), 0o600)
    cas = tmp_path / "client-cas"
    cas.mkdir()
    roots = [pki.certificate(pki.ec_key(), f"Client Root {i}", ca=True, days=3650) for i in range(2)]
    for index, root in enumerate(roots):
        write_cert(cas, f"root{index}.crt", root)
    conf = tmp_path / "site.conf"
    conf.write_text(
        "<VirtualHost *:443>\n  SSLEngine on\n  SSLCertificateFile server.pem\n  SSLCertificateKeyFile server.key\n"
        f"  SSLCACertificatePath {cas}\n</VirtualHost>\n"
    )
    result = scan([conf], ["cms-km-handbook"])
    store = _stores(result)[f"truststore:{cas}"]
    assert store.properties["anchors"] == 2
    assert store.properties["reason"].startswith("named as CA certificates (ca-directory) by ")


def test_a_ca_directory_is_read_one_level_deep_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the files directly in an SSLCACertificatePath are read: never a walk, never without a bound."""
    from scanner.collectors.files import collector

    key = pki.ec_key()
    pki.write(tmp_path / "server.pem", pki.pem(pki.certificate(key, "www.example")), 0o644)
    pki.write(tmp_path / "server.key", pki.key_pem(key), 0o600)
    cas = tmp_path / "client-cas"
    (cas / "nested").mkdir(parents=True)
    roots = [pki.certificate(pki.ec_key(), f"Client Root {i}", ca=True, days=3650) for i in range(3)]
    for index, root in enumerate(roots[:2]):
        write_cert(cas, f"root{index}.crt", root)
    write_cert(cas / "nested", "deeper.crt", roots[2])  # below the directory: Apache never reads it
    (cas / "README").write_text("CA certificates for client authentication\n")  # beside them: no error
    conf = tmp_path / "site.conf"
    conf.write_text(
        "<VirtualHost *:443>\n  SSLEngine on\n  SSLCertificateFile server.pem\n  SSLCertificateKeyFile server.key\n"
        f"  SSLCACertificatePath {cas}\n</VirtualHost>\n"
    )
    result = scan([conf], ["cms-km-handbook"])
    certificates_read = {a.id for a in result.assets if a.type is AssetType.CERTIFICATE}
    assert {cert_id(roots[0]), cert_id(roots[1])} <= certificates_read
    assert cert_id(roots[2]) not in certificates_read
    assert not result.errors, result.errors

    monkeypatch.setattr(collector, "MAX_CA_DIRECTORY_ENTRIES", 2)  # README, nested, root0.crt, root1.crt
    bounded = scan([conf], ["cms-km-handbook"])
    assert [e.message for e in bounded.errors if e.target == str(cas)] == [
        "named as a CA directory, but holds 4 entries; only the first 2 by name were read"
    ]
    assert not {cert_id(r) for r in roots} & {a.id for a in bounded.assets}


def test_the_system_trust_store_by_location() -> None:
    """The machine's own Debian ca-certificates bundle and one anchor file of its source directory."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    anchor = sorted(Path("/usr/share/ca-certificates/mozilla").glob("*.crt"))[0]
    result = scan([bundle, anchor], ["cms-km-handbook"])
    stores = _stores(result)
    system = stores[f"truststore:{bundle}"]
    assert system.properties["reason"] == "Debian/Ubuntu system CA bundle (ca-certificates, OpenSSL CAfile)"
    assert system.properties["anchors"] == bundle.read_bytes().count(b"-----BEGIN CERTIFICATE-----")
    source = stores["truststore:/usr/share/ca-certificates"]  # one certificate, a trust store by where it is
    assert source.properties["anchors"] == 1
    assert source.properties["reason"] == "Debian CA certificates offered to update-ca-certificates"


@pytest.fixture(scope="module")
def v1_sha1_root(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A version-1 self-signed SHA-1 root with no extensions, as old roots were made (openssl x509 -req)."""
    work = tmp_path_factory.mktemp("v1root")
    for command in (
        "openssl req -new -newkey rsa:2048 -nodes -keyout k.pem -subj /CN=Old_V1_Root -out csr.pem",
        "openssl x509 -req -in csr.pem -signkey k.pem -sha1 -days 3650 -out r.pem",
    ):
        subprocess.run(command.split(), check=True, capture_output=True, cwd=work, timeout=60)
    data = (work / "r.pem").read_bytes()
    assert x509.load_pem_x509_certificate(data).version is x509.Version.v1
    return data


def test_a_self_signed_v1_root_in_a_trust_store_is_a_root(tmp_path: Path, v1_sha1_root: bytes) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "loose").mkdir()
    pki.write(tmp_path / "store" / "ca-certificates.crt", v1_sha1_root, 0o644)
    in_store = scan([tmp_path / "store"], ["cms-km-handbook"])
    [cert] = [a for a in in_store.assets if a.type is AssetType.CERTIFICATE]
    assert cert.properties["self_signed"] and not cert.properties["is_ca"] and cert.properties["trust_anchor"]
    assert failing(in_store, "cms.cert.weak-signature-hash") == set()
    # the same certificate outside any trust store is judged by its signature like any other
    pki.write(tmp_path / "loose" / "old.pem", v1_sha1_root, 0o644)
    loose = scan([tmp_path / "loose"], ["cms-km-handbook"])
    assert failing(loose, "cms.cert.weak-signature-hash") == {cert.id}


def test_a_v1_root_in_a_trust_store_is_held_to_no_end_entity_lifetime(tmp_path: Path, v1_sha1_root: bytes) -> None:
    # ten years valid, judged two years on: a leaf's lifetime and its key's rotation are both exceeded
    (tmp_path / "store").mkdir()
    (tmp_path / "loose").mkdir()
    pki.write(tmp_path / "store" / "ca-certificates.crt", v1_sha1_root, 0o644)
    pki.write(tmp_path / "loose" / "old.pem", v1_sha1_root, 0o644)
    later = (NOW + 730 * DAY).date().isoformat()
    in_store = scan([tmp_path / "store"], ["cms-km-handbook"], day=later)
    assert failing(in_store, "cms.cert.validity-exceeds-rotation") == set()
    assert failing(in_store, "cms.key.rotation-overdue") == set()
    # the same certificate outside any trust store is a self-signed end-entity certificate
    loose = scan([tmp_path / "loose"], ["cms-km-handbook"], day=later)
    [cert] = [a for a in loose.assets if a.type is AssetType.CERTIFICATE]
    [key] = [a for a in loose.assets if a.type is AssetType.KEY]
    assert failing(loose, "cms.cert.validity-exceeds-rotation") == {cert.id}
    assert failing(loose, "cms.key.rotation-overdue") == {key.id}


# -- validity as exact instants --------------------------------------------------------------------
def _cert_asset(not_before: dt.datetime, not_after: dt.datetime) -> Asset:
    props = {"subject": "CN=t", "not_before": _iso(not_before), "not_after": _iso(not_after)}
    return Asset("cert:sha256:t", AssetType.CERTIFICATE, freeze(props))


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _hits(check: object, asset: Asset, as_of: dt.datetime, **params: object) -> list[str]:
    found = check(asset, InventoryGraph(), params, EvalContext(as_of=as_of))  # type: ignore[operator]
    return [hit.message for hit in found]


START = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("length", "too_long"),
    [
        (398 * DAY - SECOND, False),  # notBefore through notAfter inclusive: exactly 398 x 86,400 s
        (398 * DAY, True),  # one second more
        (398 * DAY + 5 * 3600 * SECOND, True),  # a whole-day count (.days) once let this pass
        (397 * DAY, False),
    ],
)
def test_a_limit_of_n_days_is_n_times_86400_seconds(length: dt.timedelta, too_long: bool) -> None:
    asset = _cert_asset(START, START + length)
    hits = _hits(certificates.certificate_validity_too_long, asset, START, max_days=398)
    assert bool(hits) is too_long
    if too_long:
        assert "399 days" in hits[0] and "at most 398 days (34387200 s)" in hits[0]


def test_expiry_is_an_instant() -> None:
    not_after = START + 90 * DAY
    asset = _cert_asset(START, not_after)
    assert _hits(certificates.certificate_expired, asset, not_after) == []  # notAfter itself is still valid
    [message] = _hits(certificates.certificate_expired, asset, not_after + dt.timedelta(milliseconds=5))
    assert "0.005 seconds before" in message
    assert _hits(certificates.certificate_not_yet_valid, asset, START) == []
    assert _hits(certificates.certificate_not_yet_valid, asset, START - dt.timedelta(milliseconds=5))


def test_expiring_within_n_days_is_exact() -> None:
    not_after = START + 90 * DAY
    asset = _cert_asset(START, not_after)
    assert _hits(certificates.certificate_expiring, asset, not_after - 30 * DAY, days=30) == []
    [message] = _hits(certificates.certificate_expiring, asset, not_after - 30 * DAY + SECOND, days=30)
    assert "in 29 days" in message


def test_a_real_certificate_one_second_over_398_days(tmp_path: Path) -> None:
    key = pki.ec_key()
    start = NOW - DAY
    for name, length in (("ok.pem", 398 * DAY - SECOND), ("over.pem", 398 * DAY)):
        cert = (
            x509.CertificateBuilder()
            .subject_name(pki.name(name))
            .issuer_name(pki.name("Issuing CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + length)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(pki.ec_key(), hashes.SHA256())
        )
        write_cert(tmp_path, name, cert)
    result = scan([tmp_path], ["cms-km-handbook"])
    flagged = {
        a.properties["subject"] for a in result.assets if a.id in failing(result, "cms.cert.validity-exceeds-rotation")
    }
    assert flagged == {"CN=over.pem"}


@pytest.mark.parametrize(
    ("path", "store"),
    [
        ("/etc/ssl/certs/002c0b4f.0", "/etc/ssl/certs"),  # CApath: found by subject hash
        ("/etc/ssl/certs/ssl-cert-snakeoil.pem", None),  # a server's own certificate beside them
        ("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"),
        ("/usr/local/share/ca-certificates/corp-root.crt", "/usr/local/share/ca-certificates"),
        (
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts",
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts",
        ),
        (
            "/opt/app/venv/lib/python3.12/site-packages/certifi/cacert.pem",
            "/opt/app/venv/lib/python3.12/site-packages/certifi/cacert.pem",
        ),
        ("/srv/kafka/client.truststore.p12", "/srv/kafka/client.truststore.p12"),
        ("/srv/app/tls/chain.pem", None),
        ("/srv/app/tls/fullchain.pem", None),
    ],
)
def test_trust_locations(path: str, store: str | None) -> None:
    from scanner.inventory.trust import location_reason

    found = location_reason(path)
    assert (found[0] if found else None) == store

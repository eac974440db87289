"""keysweep's own enumeration of versions, suites and groups (issue 12) against sslyze's, on every
test server: the lab's three (TLS 1.0 with every OpenSSL suite and 1024-bit DH; nginx TLS 1.2 +
1.3; OpenSSL 3.5 with ML-KEM) and openssl s_server configured for TLS 1.2 only with DHE and RSA
suites, for TLS 1.1 and 1.2 with CBC suites, and for TLS 1.3 with every 1.3 suite (CCM included).

The same scans prove the facts keysweep's own hellos now answer (features_probe: compression, EMS,
fallback SCSV, Heartbleed) and ROBOT, run only where RSA key transport was found, equal to what
sslyze's commands answer on the same servers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.collectors.base import Target
from scanner.inventory import knowledge
from scanner.inventory.model import Asset, AssetType
from scanner.scan import ScanRequest, run_scan
from tests.collectors.tls.conftest import Lab
from tests.support import pki
from tests.support import tls_servers as ts


def _s_server(directory: Path, name: str, *options: str) -> ts.Server:
    key = pki.rsa_key(2048)
    cert = pki.write(directory / f"{name}.crt", pki.pem(pki.certificate(key, "127.0.0.1", san=["127.0.0.1"])))
    key_file = pki.write(directory / f"{name}.key", pki.key_pem(key))
    for _ in range(5):
        port = ts.free_port()
        argv = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key_file)]
        argv += ["-www", "-quiet", *options]
        try:
            return ts._start(name, argv, port, stderr=subprocess.DEVNULL)
        except RuntimeError:
            continue
    raise RuntimeError("openssl s_server did not start")


@pytest.fixture(scope="module")
def extra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ts.Server]]:
    directory = tmp_path_factory.mktemp("enumeration")
    servers: list[ts.Server] = []
    try:
        servers.append(_s_server(directory, "tls12-dhe", "-tls1_2", "-cipher", "DHE:kRSA:@SECLEVEL=0"))
        servers.append(
            _s_server(
                directory,
                "tls11-cbc",
                "-min_protocol",
                "TLSv1.1",
                "-max_protocol",
                "TLSv1.2",
                "-cipher",
                "AES:@SECLEVEL=0",
            )
        )
        ccm = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256"
        servers.append(_s_server(directory, "tls13-ccm", "-tls1_3", "-ciphersuites", ccm + ":TLS_AES_128_CCM_8_SHA256"))
        yield servers
    finally:
        for server in servers:
            server.stop()


# the facts keysweep's own hellos now answer (or, for ROBOT, decide that sslyze need not run): both
# paths must report them alike. The facts sslyze answers on both paths are left out: session-ID
# resumption, for one, comes back "partially" or "not" supported from one run to the next against
# the same busy single-threaded server.
FACTS = ("compression", "extended_master_secret", "fallback_scsv", "heartbleed", "robot", "secure_renegotiation")


def _endpoints(targets: list[str], enumeration: str) -> tuple[dict[str, Asset], float]:
    start = time.monotonic()
    result = run_scan(
        ScanRequest(
            targets=tuple(Target("tls", t) for t in targets),
            packs=(),
            timeout=5,
            options={"concurrency": 4, "tls_enumeration": enumeration},
        )
    )
    assert result.errors == (), result.errors
    return {a.id: a for a in result.assets if a.type is AssetType.TLS_ENDPOINT}, time.monotonic() - start


def _ec_groups(groups: list[str]) -> set[str]:
    """The groups sslyze's elliptic-curves scan can see: not the finite-field or post-quantum ones."""
    return {g for g in groups if (f := knowledge.tls_group(g)) is not None and f.kind == "ecdhe"}


@pytest.mark.slow
def test_keysweep_enumeration_equals_sslyze_on_every_test_server(lab: Lab, extra: list[ts.Server]) -> None:
    targets = [s.target for s in (lab.legacy, lab.modern, lab.pq, *extra)]
    ours, _ = _endpoints(targets, "keysweep")
    theirs, _ = _endpoints(targets, "sslyze")
    assert set(ours) == set(theirs) == {f"tls:{t}" for t in targets}
    for asset_id, mine in ours.items():
        other = theirs[asset_id].properties
        assert mine.properties["protocols"] == other["protocols"], asset_id
        assert mine.properties["cipher_suites_by_protocol"] == other["cipher_suites_by_protocol"], asset_id
        assert mine.properties["dh_key_sizes"] == other["dh_key_sizes"], asset_id
        assert _ec_groups(list(mine.properties["key_exchange_groups"])) == set(other["sslyze_key_exchange_groups"]), (
            asset_id
        )
        for fact in FACTS:
            assert fact in mine.properties, (asset_id, fact)
            assert mine.properties[fact] == other[fact], (asset_id, fact)
    # the servers differ: the comparison covered every version from TLS 1.0 to 1.3 and the CCM suites
    seen = {p for a in ours.values() for p in a.properties["protocols"]}
    assert seen == {"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
    assert "TLS_AES_128_CCM_8_SHA256" in {s for a in ours.values() for s in a.properties["cipher_suites"]}
    # and ROBOT both ways: tested where RSA key transport is accepted, skipped where it is not
    robot = {a.properties["robot"] for a in ours.values()}
    assert "NOT_VULNERABLE_RSA_NOT_SUPPORTED" in robot and robot - {"NOT_VULNERABLE_RSA_NOT_SUPPORTED"}, robot

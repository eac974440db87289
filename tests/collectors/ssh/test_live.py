"""Live SSH probes of real OpenSSH servers: what the server offers, its host keys as shared key
nodes, the SSH rules on live endpoints, and ssh-audit's verdicts as the reference."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

from scanner import resources
from scanner.collectors.base import Target
from scanner.compat import UTC
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import AssetType, ScanResult
from scanner.scan import ScanRequest, run_scan
from tests.collectors.ssh.conftest import SshLab
from tests.conftest import RunKeysweep
from tests.support.sshd import SSHD, SshServer

TIMEOUT = 5.0


def scan(*targets: Target, timeout: float = TIMEOUT, policies: tuple[str, ...] = ("server-config",)) -> ScanResult:
    packs = select_packs(discover_packs(), list(policies))
    return run_scan(ScanRequest(targets=targets, packs=tuple(packs), timeout=timeout, options={"concurrency": 10}))


def endpoint(result: ScanResult, server: SshServer) -> dict[str, object]:
    asset = next(a for a in result.assets if a.id == f"ssh:{server.target}")
    assert asset.type is AssetType.SSH_ENDPOINT
    return dict(asset.properties)


def effective(server: SshServer) -> dict[str, list[str]]:
    """`sshd -T`: what this OpenSSH build really enables under the config (the oracle)."""
    out = subprocess.run([SSHD, "-T", "-f", str(server.config)], capture_output=True, text=True, check=True).stdout
    lists = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        if name in ("kexalgorithms", "ciphers", "macs", "hostkeyalgorithms"):
            lists[name] = value.split(",")
    return lists


def flagged(result: ScanResult, server: SshServer) -> set[str]:
    names: set[str] = set()
    for finding in result.findings:
        if finding.asset_id == f"ssh:{server.target}":
            names.update(finding.evidence.get("weak", []))
    return names


@pytest.fixture(scope="module")
def lab_scan(ssh_lab: SshLab) -> ScanResult:
    servers = (ssh_lab.stock, ssh_lab.hardened, ssh_lab.legacy, ssh_lab.classical)
    return scan(*(Target("ssh", s.target) for s in servers))


def test_lists_are_what_the_server_enables(ssh_lab: SshLab, lab_scan: ScanResult) -> None:
    assert not lab_scan.errors, lab_scan.errors
    for server in (ssh_lab.stock, ssh_lab.hardened, ssh_lab.legacy, ssh_lab.classical):
        props, oracle = endpoint(lab_scan, server), effective(server)
        assert props["kex"] == oracle["kexalgorithms"], server.config.name
        assert props["ciphers"] == oracle["ciphers"], server.config.name
        assert props["macs"] == oracle["macs"], server.config.name
        assert str(props["software"]).startswith("OpenSSH_")
        assert props["protocol_version"] == "2.0"


def test_host_keys_are_fetched_per_key_with_the_certificate_ca(ssh_lab: SshLab, lab_scan: ScanResult) -> None:
    props = endpoint(lab_scan, ssh_lab.stock)
    keys = {k["algorithm"]: k for k in props["host_keys"]}  # type: ignore[attr-defined]
    # one exchange per key: rsa-sha2-256 shows the key rsa-sha2-512 already showed
    assert set(keys) == {"ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256", "rsa-sha2-512"}
    presented = {r.target for r in lab_scan.relations if r.source == f"ssh:{ssh_lab.stock.target}"}
    certificate = keys["ssh-ed25519-cert-v01@openssh.com"]
    assert presented == {k["key_id"] for k in keys.values() if "key_id" in k} | {certificate["certificate_id"]}
    # the certified key is the plain ed25519 host key
    assert certificate["key_id"] == keys["ssh-ed25519"]["key_id"]
    ca = next(a for a in lab_scan.assets if a.id == keys["ssh-ed25519-cert-v01@openssh.com"]["ca_key_id"])
    # the CA key is the one the test signed the host certificate with, seen on disk the same way
    on_disk = scan(Target("path", str(ssh_lab.ca_public_key)), policies=())
    assert ca.id in {a.id for a in on_disk.assets}
    legacy_algorithms = {k["algorithm"] for k in endpoint(lab_scan, ssh_lab.legacy)["host_keys"]}  # type: ignore[attr-defined]
    assert {"ssh-rsa", "ssh-dss", "ssh-ed25519"} <= legacy_algorithms


def test_host_key_is_one_node_across_endpoint_file_and_config(ssh_lab: SshLab) -> None:
    result = scan(Target("ssh", ssh_lab.stock.target), Target("path", str(ssh_lab.keys_dir / "sshd_config")))
    ed25519 = next(k for k in endpoint(result, ssh_lab.stock)["host_keys"] if k["algorithm"] == "ssh-ed25519")  # type: ignore[attr-defined]
    key = next(a for a in result.assets if a.id == ed25519["key_id"])
    kinds = {loc.kind for loc in key.locations}
    assert "endpoint" in kinds and len(key.locations) >= 2, key.locations
    assert any(str(ssh_lab.keys_dir) in loc.ref for loc in key.locations)


def test_rules_on_live_endpoints(ssh_lab: SshLab, lab_scan: ScanResult) -> None:
    by_endpoint: dict[str, set[str]] = {}
    for finding in lab_scan.findings:
        by_endpoint.setdefault(finding.asset_id, set()).add(finding.rule_id)
    legacy = by_endpoint[f"ssh:{ssh_lab.legacy.target}"]
    assert {"server.ssh.weak-cipher", "server.ssh.weak-mac", "server.ssh.weak-kex"} <= legacy
    assert "server.ssh.weak-host-key-algorithm" in legacy
    hardened = by_endpoint.get(f"ssh:{ssh_lab.hardened.target}", set())
    assert not {r for r in hardened if r.startswith("server.ssh.weak-")}, hardened
    assert "server.ssh.no-pq-kex" not in hardened
    assert "server.ssh.no-pq-kex" in by_endpoint[f"ssh:{ssh_lab.classical.target}"]
    assert endpoint(lab_scan, ssh_lab.stock)["pq_key_exchange"] is True
    assert endpoint(lab_scan, ssh_lab.classical)["pq_key_exchange"] is False
    # group exchange asked for 1024 bits: OpenSSH (since 7.x) never goes below 2048 (DH_GRP_MIN), and
    # Debian's moduli start there; a server without group exchange has no figure
    assert endpoint(lab_scan, ssh_lab.stock)["gex_modulus_bits"] == 2048
    assert endpoint(lab_scan, ssh_lab.legacy)["gex_modulus_bits"] == 2048
    assert endpoint(lab_scan, ssh_lab.hardened)["gex_modulus_bits"] is None
    assert "server.ssh.dh-gex-small-modulus" not in legacy
    # Debian's build has the Terrapin fix (strict key exchange)
    assert endpoint(lab_scan, ssh_lab.stock)["strict_kex"] is True
    assert "server.ssh.terrapin" not in by_endpoint[f"ssh:{ssh_lab.stock.target}"]


# ssh-audit 2.5.0 (Debian 12) verdicts that keysweep does not share, each with its reason (docs/ssh.md)
SSH_AUDIT_DIFFERENCES = {
    # ssh-audit distrusts the NIST curves; NIST SP 800-186 approves P-256/384/521 and CNSA 2.0 keeps P-384
    "ecdh-sha2-nistp256": "NIST curve",
    "ecdh-sha2-nistp384": "NIST curve",
    "ecdh-sha2-nistp521": "NIST curve",
    "ecdsa-sha2-nistp256": "NIST curve",
    # ssh-audit 2.5.0 predates OpenSSH 9.0's default post-quantum hybrid and its strict-kex marker
    "sntrup761x25519-sha512": "post-quantum hybrid unknown to ssh-audit 2.5.0",
    "sntrup761x25519-sha512@openssh.com": "post-quantum hybrid unknown to ssh-audit 2.5.0",
    "kex-strict-s-v00@openssh.com": "a marker, not an algorithm",
    # encrypt-and-MAC with SHA-2 HMACs or UMAC-128: no practical attack; keysweep flags weak hashes and short tags
    "hmac-sha2-256": "encrypt-and-MAC only",
    "hmac-sha2-512": "encrypt-and-MAC only",
    "umac-128@openssh.com": "encrypt-and-MAC only",
}
_AUDIT_LINE = re.compile(r"^\((kex|key|enc|mac)\) (\S+)(?: \(\d+-bit\))?\s+-- \[(fail|warn)\]")


def ssh_audit_flags(server: SshServer) -> set[str]:
    out = subprocess.run(
        ["ssh-audit", "-n", "-p", str(server.port), server.host], capture_output=True, text=True, timeout=60
    ).stdout
    return {m[2] for line in out.splitlines() if (m := _AUDIT_LINE.match(line))}


@pytest.mark.parametrize("name", ["stock", "hardened", "legacy", "classical"])
def test_covers_every_algorithm_ssh_audit_fails_or_warns(ssh_lab: SshLab, lab_scan: ScanResult, name: str) -> None:
    assert shutil.which("ssh-audit"), "ssh-audit is installed by scripts/bootstrap.sh test"
    server: SshServer = getattr(ssh_lab, name)
    audit = ssh_audit_flags(server)
    assert audit, "ssh-audit printed no verdicts"
    missed = audit - flagged(lab_scan, server) - set(SSH_AUDIT_DIFFERENCES)
    assert not missed, f"ssh-audit fails or warns on {missed} and keysweep does not"


@pytest.fixture
def hostile() -> Iterator[dict[str, int]]:
    """A silent peer (accepts, never speaks), an HTTP server, a garbage speaker; closed after."""
    servers: list[socket.socket] = []
    stop = threading.Event()

    def serve(answer: bytes | None) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        servers.append(listener)

        def loop() -> None:
            held = []
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                held.append(conn)
                if answer is not None:
                    with contextlib.suppress(OSError):
                        conn.sendall(answer)
            for conn in held:
                conn.close()

        threading.Thread(target=loop, daemon=True).start()
        return int(listener.getsockname()[1])

    ports = {
        "silent": serve(None),
        "http": serve(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
        "garbage": serve(b"SSH-2.0-x\r\n" + b"\xff" * 64),
    }
    yield ports
    stop.set()
    for listener in servers:
        listener.close()


def test_hostile_peers_cost_one_timeout_each_and_healthy_ones_are_reported(
    ssh_lab: SshLab, hostile: dict[str, int]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    targets = [Target("ssh", f"127.0.0.1:{p}") for p in (*hostile.values(), closed)]
    start = time.monotonic()
    result = scan(*targets, Target("ssh", ssh_lab.hardened.target), timeout=2.0)
    elapsed = time.monotonic() - start
    # endpoints run concurrently: the whole scan costs about one timeout, with margin for a loaded machine
    assert elapsed < 2.0 * 4, elapsed
    errors = {e.target: e.message for e in result.errors}
    assert "within 2 s" in errors[f"127.0.0.1:{hostile['silent']}"]
    assert "not an SSH server" in errors[f"127.0.0.1:{hostile['http']}"]
    assert "packet length" in errors[f"127.0.0.1:{hostile['garbage']}"]
    assert "cannot connect" in errors[f"127.0.0.1:{closed}"]
    assert len(result.errors) == 4
    assert any(a.id == f"ssh:{ssh_lab.hardened.target}" for a in result.assets)


def test_cli_targets_file_cidr_and_every_report(ssh_lab: SshLab, tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text(f"# SSH by range, and one more by name\nssh://127.0.0.1/32:{ssh_lab.hardened.port}\n")
    outputs = {name: tmp_path / f"out.{name}" for name in ("html", "cbom", "sarif", "csv")}
    argv = ["--targets", str(listing), "--ssh", ssh_lab.legacy.target, "--timeout", "5"]
    run = run_keysweep([*argv, *(arg for name, path in outputs.items() for arg in (f"--{name}", str(path)))])
    assert run.exit_code == 0, run.output
    assert {a["id"] for a in run.assets("ssh-endpoint")} == {
        f"ssh:{ssh_lab.hardened.target}",
        f"ssh:{ssh_lab.legacy.target}",
    }
    schema = json.loads((resources.reports_dir() / "report.schema.json").read_text())
    jsonschema.validate(run.report, schema)
    for path in outputs.values():
        assert path.stat().st_size > 0
    assert f"ssh:{ssh_lab.legacy.target}" in outputs["html"].read_text()


def test_config_versus_live(ssh_lab: SshLab) -> None:
    """The stock and classical servers share host keys; the scanned classical_config describes the
    classical server exactly and the stock one not at all."""
    config = ssh_lab.classical.config
    result = scan(
        Target("ssh", ssh_lab.stock.target), Target("ssh", ssh_lab.classical.target), Target("path", str(config))
    )
    drift = [f for f in result.findings if f.rule_id == "server.ssh.config-differs-from-live"]
    assert {f.asset_id for f in drift} == {f"ssh:{ssh_lab.stock.target}"}
    (finding,) = drift
    assert finding.evidence["setting"] == "kex"
    assert "sntrup761x25519-sha512" in finding.evidence["offered_not_configured"]


def test_host_certificate_shows_validity_and_principals(ssh_lab: SshLab, lab_scan: ScanResult) -> None:
    """The stock server's HostCertificate (ssh-keygen -s CA -h -I stock -n 127.0.0.1 -V +52w), read from
    the key exchange: what the certificate says, on the endpoint and as a certificate asset."""
    props = endpoint(lab_scan, ssh_lab.stock)
    entry = next(k for k in props["host_keys"] if k["algorithm"] == "ssh-ed25519-cert-v01@openssh.com")  # type: ignore[attr-defined]
    assert entry["principals"] == ["127.0.0.1"]
    assert entry["cert_type"] == "host" and entry["subject"] == "stock"
    assert entry["valid_forever"] is False
    not_before = datetime.fromisoformat(str(entry["not_before"]).replace("Z", "+00:00"))
    not_after = datetime.fromisoformat(str(entry["not_after"]).replace("Z", "+00:00"))
    assert abs((not_after - not_before).days - 52 * 7) <= 1
    assert not_before <= datetime.now(UTC) < not_after
    cert = next(a for a in lab_scan.assets if a.id == entry["certificate_id"])
    assert cert.properties["certificate_format"] == "openssh"
    assert cert.properties["signing_key_id"] == entry["ca_key_id"]
    # the same certificate file on disk is the same node (content-derived id)
    on_disk = scan(Target("path", f"{ssh_lab.stock.host_keys[0]}-cert.pub"), policies=())
    assert cert.id in {a.id for a in on_disk.assets}

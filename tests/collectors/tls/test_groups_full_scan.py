"""Issue 11: the supported-groups list against a deliberately slow single-threaded server, by full scans.

Ten `keysweep scan --tls` runs (the CLI, as users run it, with sslyze's parallel connections
competing with keysweep's own probes for the one server thread). Each run meets its own
single-threaded server (SlowRelay: one connection at a time, each held back 50 ms, in front of
openssl s_server with a known group list; a client that sends nothing holds it 0.6 s), so the runs
go in parallel without sharing a server (about 40 s for the ten on two loaded cores). The probe's
failure path (a server that stops answering, clients hogging it) is driven directly in
test_groups_probe.py.
Every run must either list every configured group, marked complete, or say in its errors that
the groups probe failed or missed a group, and mark the list incomplete: never a silently
shorter list.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.collectors.tls.test_groups_probe import SlowRelay, s_server
from tests.support import tls_servers as ts
from tests.support.scans import keysweep

CONFIGURED = ["x25519", "secp256r1", "ffdhe2048", "ffdhe3072"]
RUNS = 10


@pytest.fixture
def slow_servers(tmp_path: Path) -> Iterator[list[SlowRelay]]:
    backends: list[ts.Server] = []
    relays: list[SlowRelay] = []
    try:
        for _ in range(RUNS):
            backends.append(s_server(tmp_path, "-groups", ":".join(CONFIGURED)))
            relays.append(SlowRelay(backends[-1].port, delay=0.05, idle=0.6))
        yield relays
    finally:
        for relay in relays:
            relay.stop()
        for backend in backends:
            backend.stop()


def _full_scan(port: int, out: Path) -> dict[str, Any]:
    target = f"127.0.0.1:{port}"
    done = keysweep("scan", "--no-store", "--tls", target, "--timeout", "2", "--json", str(out), "-q", timeout=300)
    assert done.returncode in (0, 1), (target, done.returncode, done.stderr[-2000:])
    report: dict[str, Any] = json.loads(out.read_text())
    return report


@pytest.mark.slow
def test_ten_full_scans_of_a_slow_single_threaded_server_list_every_group_or_say_why_not(
    slow_servers: list[SlowRelay], tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        reports = list(pool.map(lambda n: _full_scan(slow_servers[n].port, tmp_path / f"run{n}.json"), range(RUNS)))
    complete = 0
    for relay, report in zip(slow_servers, reports, strict=True):
        target = f"127.0.0.1:{relay.port}"
        endpoint = next(a["properties"] for a in report["assets"] if a["type"] == "tls-endpoint")
        groups = endpoint["key_exchange_groups"]
        errors = [e["message"] for e in report["errors"] if e["target"] == target and "groups probe" in e["message"]]
        assert set(groups) <= set(CONFIGURED), (target, groups)
        if endpoint["key_exchange_groups_complete"]:
            # complete: every configured group, and no error about the probe
            assert sorted(groups) == sorted(CONFIGURED) and errors == [], (target, groups, errors)
            complete += 1
        else:
            # incomplete: the reason is in the report, never a silent "not supported"
            assert errors, (target, groups, report["errors"])
    # the probe's retries carry most runs through the load
    assert complete >= RUNS // 2, [r["errors"] for r in reports]

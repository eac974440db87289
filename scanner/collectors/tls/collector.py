"""The TLS endpoint collector: --tls and --targets endpoints into tls-endpoint assets.

Three steps, each bounded by the per-target timeout:
1. reachability: DNS, TCP connect and one ClientHello offering TLS 1.0 to 1.3. A server that
   never answers, resets, or speaks another protocol costs one error here, and is never handed to
   sslyze (whose connectivity test would retry it version by version);
2. sslyze's scan commands over the reachable endpoints, with sslyze's own concurrency (servers in
   flight = --concurrency, connections per server capped), in waves: the endpoints that answered
   within a second first, while the slow and silent ones run into their timeout, then the rest;
3. meanwhile, the post-quantum probe on every endpoint that chose TLS 1.3.
sslyze is imported only in collect(), so that a scan of files never loads it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.tls import hello, pq_probe
from scanner.collectors.tls.models import Endpoint, Reachability, SslyzeOutcome
from scanner.inventory.crypto_assets import certificate_observations
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Observation,
    Relation,
    RelationType,
    freeze,
)
from scanner.targets import TargetError, parse_endpoint

# sslyze's default; ROBOT and the cipher-suite scans open many connections to one server
DEFAULT_CONNECTIONS_PER_SERVER = 5
# how long the first wave of sslyze scans waits for reachability answers
_FIRST_WAVE_GRACE = 1.0
_REACH_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019, 0x001E, 0x11EC, 0x0100, 0x0101)


def resolve(host: str, port: int) -> str:
    """One address for the host, IPv4 preferred (as sslyze does)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for family, _, _, _, sockaddr in infos:
        if family == socket.AF_INET:
            return str(sockaddr[0])
    return str(infos[0][4][0])


def check_reachable(endpoint: Endpoint, timeout: float) -> Reachability:
    deadline = time.monotonic() + timeout
    try:
        ip = resolve(endpoint.host, endpoint.port)
    except (OSError, UnicodeError) as exc:
        return Reachability(endpoint, error=f"cannot resolve {endpoint.host}: {getattr(exc, 'strerror', None) or exc}")
    if time.monotonic() > deadline:
        return Reachability(endpoint, error=f"resolving {endpoint.host} took longer than the timeout")
    message = hello.client_hello(
        endpoint.host,
        versions=[0x0304, 0x0303, 0x0302, 0x0301],
        cipher_suites=hello.TLS13_SUITES + hello.LEGACY_SUITES,
        groups=_REACH_GROUPS,
        key_shares=[(0x001D, pq_probe.key_share("x25519"))],
    )
    try:
        reply = hello.exchange((ip, endpoint.port), message, deadline)
    except hello.ProbeError as exc:
        return Reachability(
            endpoint, ip=ip, error=f"{exc} (timeout {timeout:g}s)" if "timeout" in str(exc) else str(exc)
        )
    # an alert still proves a TLS server: sslyze will find what it does accept
    return Reachability(endpoint, ip=ip, version=None if reply.kind == "alert" else reply.version_name)


class TlsCollector:
    name: ClassVar[str] = "tls"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"tls"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        endpoints: list[Endpoint] = []
        seen: set[Endpoint] = set()
        for target in targets:
            try:
                pairs = parse_endpoint(target.value)
            except TargetError as exc:
                yield CollectionError(target.value, self.name, str(exc))
                continue
            for host, port in pairs:
                endpoint = Endpoint(host, port)
                if endpoint not in seen:
                    seen.add(endpoint)
                    endpoints.append(endpoint)
        if endpoints:
            yield from self._scan(endpoints, context)

    def _scan(self, endpoints: list[Endpoint], context: CollectContext) -> Iterator[Observation]:
        from scanner.collectors.tls import sslyze_scan  # loads sslyze: only when there is work

        timeout = float(context.timeout)
        concurrency = max(1, int(context.options.get("concurrency", 10)))
        per_server = max(1, int(context.options.get("tls_connections_per_server", DEFAULT_CONNECTIONS_PER_SERVER)))
        progress = context.progress
        # the probes get their own threads, so that reachability checks still waiting on a silent
        # server never hold up the probes of endpoints already being scanned
        with (
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="keysweep-tls-reach") as reach_pool,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="keysweep-tls-pq") as probe_pool,
        ):
            pending: set[Future[Reachability]] = {reach_pool.submit(check_reachable, e, timeout) for e in endpoints}
            # first wave: what answered within a moment; the rest (slow, or silent until the
            # timeout) is the second wave, so a silent server's timeout overlaps the first wave's scan
            grace = min(timeout, _FIRST_WAVE_GRACE)
            while pending:
                done, pending = wait(pending, timeout=grace)
                if not done:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                reachable: list[Reachability] = []
                for future in done:
                    reach = future.result()
                    progress.target_started(self.name, reach.endpoint.display)
                    if reach.error is not None:
                        yield CollectionError(reach.endpoint.display, self.name, reach.error)
                        progress.target_finished(self.name, reach.endpoint.display, False)
                    else:
                        reachable.append(reach)
                if not reachable:
                    continue
                # the post-quantum probe runs beside sslyze, on the endpoints that chose TLS 1.3
                probes: dict[Endpoint, Future[list[pq_probe.GroupAnswer]]] = {
                    r.endpoint: probe_pool.submit(
                        pq_probe.probe, (r.ip or "", r.endpoint.port), r.endpoint.host, timeout
                    )
                    for r in reachable
                    if r.version == "TLSv1.3"
                }
                results = sslyze_scan.scan(
                    [(r.endpoint, r.ip or "") for r in reachable],
                    timeout=timeout,
                    concurrency=concurrency,
                    connections_per_server=per_server,
                )
                for endpoint, outcome in results:
                    answers = probes[endpoint].result() if endpoint in probes else None
                    yield from list(self._observations(endpoint, outcome, answers))
                    progress.target_finished(self.name, endpoint.display, outcome.fatal is None)

    def _observations(
        self, endpoint: Endpoint, outcome: SslyzeOutcome, answers: list[pq_probe.GroupAnswer] | None
    ) -> Iterator[Observation]:
        if outcome.fatal is not None:
            yield CollectionError(endpoint.display, self.name, outcome.fatal)
            return
        for message in outcome.errors:
            yield CollectionError(endpoint.display, self.name, message)
        props: dict[str, Any] = {"host": endpoint.host, "port": endpoint.port, **outcome.properties}
        groups = list(props.get("key_exchange_groups", []))
        pq_accepted = [a.group for a in answers or () if a.accepted]
        for answer in answers or ():
            if answer.detail.startswith("error:"):
                yield CollectionError(
                    endpoint.display, self.name, f"post-quantum probe {answer.group}: {answer.detail}"
                )
        props["key_exchange_groups"] = pq_accepted + [g for g in groups if g not in pq_accepted]
        # unknown (None) when every probe failed: neither a pass nor a finding
        all_failed = bool(answers) and all(a.detail.startswith("error:") for a in answers or ())
        props["pq_key_exchange"] = None if all_failed else bool(pq_accepted)
        props["pq_groups_probed"] = [a.group for a in answers] if answers is not None else []

        chains: list[list[str]] = []
        related: list[Observation] = []
        for chain in outcome.chains:
            ids: list[str] = []
            for position, cert in enumerate(chain):
                location = Location("tls", endpoint.asset_id, f"chain position {position}")
                observations, failed = certificate_observations(cert, location)
                cert_id = observations[0].id if isinstance(observations[0], Asset) else ""
                ids.append(cert_id)
                related.extend(observations)
                related.append(Relation(endpoint.asset_id, cert_id, RelationType.PRESENTS))
                if failed:
                    fields = ", ".join(sorted(failed))
                    related.append(
                        CollectionError(endpoint.display, self.name, f"certificate {cert_id}: unreadable {fields}")
                    )
            chains.append(ids)
        props["certificate_chains"] = chains
        props["leaf_certificates"] = [c[0] for c in chains if c]
        yield Asset(
            id=endpoint.asset_id,
            type=AssetType.TLS_ENDPOINT,
            properties=freeze(props),
            locations=(Location("tls", endpoint.asset_id),),
        )
        yield from related

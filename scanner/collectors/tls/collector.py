"""The TLS endpoint collector: --tls and --targets endpoints into tls-endpoint assets.

Each endpoint has a deadline for everything below (--tls-deadline); each network operation has
the timeout (--timeout):
1. reachability: DNS, TCP connect, one ClientHello offering TLS 1.0 to 1.3 and the rest of the
   server's first flight. A server that never answers, resets, speaks another protocol, stalls
   after its ServerHello or sends a certificate too large for clients costs one error here, and
   is never handed to sslyze (whose connectivity test would retry it version by version);
2. sslyze's scan commands, one worker process per endpoint (sslyze_pool), --concurrency at once,
   in waves: the endpoints that answered within a second first, while the slow and silent ones
   run into their timeout, then the rest;
3. meanwhile, keysweep's own probes (probes): versions and suites, groups, signature schemes,
   post-quantum groups, and the facts a ServerHello tells (compression, EMS, fallback SCSV,
   Heartbleed: features_probe), which sslyze's worker then leaves out, as it leaves out ROBOT on
   a server without RSA key transport;
4. chain validation of every presented chain against the system store and --ca-file/--ca-path.
sslyze is imported only by the workers' fork server: neither a scan of files nor this process loads it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.tls import chain, hello, pq_probe
from scanner.collectors.tls.models import Endpoint, Reachability, SslyzeOutcome, suite_properties
from scanner.collectors.tls.probes import ProbeResults, highest_version, owns_features, run_probes
from scanner.inventory import knowledge
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


def target_deadline_seconds(context: CollectContext) -> float:
    """The most one endpoint may take, all steps together (``tls_deadline``; default 60 s or 20 timeouts)."""
    configured = context.options.get("tls_deadline")
    return float(configured) if configured else max(60.0, 20 * float(context.timeout))


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
        # the whole first flight, so that a server that stalls after its ServerHello, or sends a
        # certificate no client accepts, costs one timeout here instead of many in sslyze
        reply, _ = hello.exchange_flight((ip, endpoint.port), message, deadline)
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

    def _anchors(self, context: CollectContext) -> Iterator[CollectionError | chain.Anchors]:
        """The trust anchors of chain validation: the system store, --ca-file and --ca-path."""
        files = [Path(p) for p in context.options.get("tls_ca_files", ())]
        paths = [Path(p) for p in context.options.get("tls_ca_paths", ())]
        anchors = chain.load_anchors(files, paths)
        for target, message in anchors.errors:
            yield CollectionError(target, self.name, message)
        yield anchors

    def _scan(self, endpoints: list[Endpoint], context: CollectContext) -> Iterator[Observation]:
        from scanner.collectors.tls import sslyze_pool

        sslyze_pool.warm_up()
        timeout = float(context.timeout)
        target_deadline = target_deadline_seconds(context)
        concurrency = max(1, int(context.options.get("concurrency", 10)))
        per_server = max(1, int(context.options.get("tls_connections_per_server", DEFAULT_CONNECTIONS_PER_SERVER)))
        # keysweep's own ClientHellos enumerate versions and suites; "sslyze" keeps sslyze's, to compare
        enumeration = str(context.options.get("tls_enumeration") or "keysweep")
        progress = context.progress
        anchors = chain.Anchors()
        for item in self._anchors(context):
            if isinstance(item, chain.Anchors):
                anchors = item
            else:
                yield item
        # each endpoint's deadline starts with its reachability check, and bounds everything after
        deadlines = {e: time.monotonic() + target_deadline for e in endpoints}
        # the probes get their own threads, so that reachability checks still waiting on a silent
        # server never hold up the probes of endpoints already being scanned
        with (
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="keysweep-tls-reach") as reach_pool,
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="keysweep-tls-probe") as probe_pool,
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
                # the oldest servers first: their scans take longest (more versions to try, slower
                # handshakes, often one connection at a time), so that they overlap the others
                # instead of running on alone at the end (measured: the TLS 1.0 ones ended last)
                reachable.sort(key=lambda r: highest_version(r) or 0)
                # keysweep's own probes run beside sslyze's worker processes
                given_up = {r.endpoint: threading.Event() for r in reachable}
                probes: dict[Endpoint, Future[ProbeResults]] = {
                    r.endpoint: probe_pool.submit(
                        run_probes, r, timeout, deadlines[r.endpoint], enumeration == "keysweep", given_up[r.endpoint]
                    )
                    for r in reachable
                }
                results = sslyze_pool.scan(
                    [(r.endpoint, r.ip or "", deadlines[r.endpoint]) for r in reachable],
                    timeout=timeout,
                    concurrency=concurrency,
                    connections_per_server=per_server,
                    enumeration=enumeration,
                    own_features={
                        r.endpoint: highest_version(r) or 0
                        for r in reachable
                        if owns_features(r, enumeration == "keysweep")
                    },
                )
                for endpoint, outcome in results:
                    if outcome.fatal is not None:
                        given_up[endpoint].set()  # its probes stop instead of running to the deadline
                    observations = list(self._observations(endpoint, outcome, probes[endpoint].result(), anchors))
                    yield from observations
                    progress.target_finished(self.name, endpoint.display, outcome.fatal is None)

    def _observations(
        self, endpoint: Endpoint, outcome: SslyzeOutcome, probes: ProbeResults, anchors: chain.Anchors
    ) -> Iterator[Observation]:
        if outcome.fatal is not None:
            yield CollectionError(endpoint.display, self.name, outcome.fatal)
            return
        for message in outcome.errors:
            yield CollectionError(endpoint.display, self.name, message)
        props: dict[str, Any] = {"host": endpoint.host, "port": endpoint.port, **outcome.properties}
        if probes.features is not None:
            # the facts keysweep's own hellos answered instead of sslyze's commands
            features = probes.features
            for key, value in (
                ("compression", features.compression),
                ("extended_master_secret", features.extended_master_secret),
                ("fallback_scsv", features.fallback_scsv),
                ("heartbleed", features.heartbleed),
            ):
                if value is not None:
                    props[key] = value
            for message in features.errors:
                yield CollectionError(endpoint.display, self.name, message)
        if probes.suites is not None:
            # keysweep's enumeration, with what sslyze found over SSL 2.0 (the one version left to it)
            by_protocol = {**props.get("cipher_suites_by_protocol", {}), **probes.suites.by_protocol}
            props.update(
                suite_properties(by_protocol, {**props.get("ephemeral_keys", {}), **probes.suites.ephemeral_keys})
            )
            for message in probes.suites.errors:
                yield CollectionError(endpoint.display, self.name, message)
        answers = probes.pq
        pq_accepted = [a.group for a in answers or () if a.accepted]
        for answer in answers or ():
            if answer.detail.startswith("error:"):
                yield CollectionError(
                    endpoint.display, self.name, f"post-quantum probe {answer.group}: {answer.detail}"
                )
        groups, complete, group_errors = _classical_groups(probes, props)
        for message in group_errors:
            yield CollectionError(endpoint.display, self.name, message)
        props["key_exchange_groups"] = pq_accepted + [g for g in groups if g not in pq_accepted]
        props["key_exchange_groups_complete"] = complete and not any(
            a.detail.startswith("error:") for a in answers or ()
        )
        # unknown (None) when every probe failed: neither a pass nor a finding
        all_failed = bool(answers) and all(a.detail.startswith("error:") for a in answers or ())
        props["pq_key_exchange"] = None if all_failed else bool(pq_accepted)
        props["pq_groups_probed"] = [a.group for a in answers] if answers is not None else []
        protocols = set(props.get("protocols", ()))
        signatures: dict[str, list[str]] = {}
        for result in probes.signatures:
            if result.error is not None:
                yield CollectionError(endpoint.display, self.name, result.error)
            if result.version in protocols:
                signatures[result.version] = list(result.schemes)
        props["signature_algorithms"] = signatures

        chains: list[list[str]] = []
        verdicts: list[dict[str, Any]] = []
        related: list[Observation] = []
        for presented in outcome.chains:
            ids: list[str] = []
            certificates = [x509.load_der_x509_certificate(der) for der in presented]
            if certificates:
                verdicts.append(chain.validate(certificates, anchors))
            for position, (der, cert) in enumerate(zip(presented, certificates, strict=True)):
                location = Location("tls", endpoint.asset_id, f"chain position {position}")
                observations, failed = certificate_observations(cert, location, der_bytes=der)
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
        props["chain_validation"] = verdicts
        props["leaf_certificates"] = [c[0] for c in chains if c]
        yield Asset(
            id=endpoint.asset_id,
            type=AssetType.TLS_ENDPOINT,
            properties=freeze(props),
            locations=(Location("tls", endpoint.asset_id),),
        )
        yield from related


def _classical_groups(probes: ProbeResults, props: dict[str, Any]) -> tuple[list[str], bool, list[str]]:
    """The groups probe's list, checked against the ephemeral keys sslyze's handshakes negotiated.

    A group the server used in a handshake but the probe did not list means the list is
    incomplete: the group is added and the gap reported, never left silent.
    """
    errors: list[str] = []
    result = probes.groups
    groups = list(result.groups) if result is not None else []
    complete = result is not None and result.error is None
    if result is not None and result.error is not None:
        errors.append(result.error)
    used = sorted({str(k["group"]) for k in props.get("ephemeral_keys", {}).values() if k.get("group")})
    missed = [g for g in used if g not in groups and knowledge.tls_group(g) is not None]
    if missed:
        groups += missed
        complete = False
        errors.append(
            f"groups probe did not list {', '.join(missed)}, which the server negotiated in a handshake: "
            "added from the negotiated keys; the list may be incomplete"
        )
    return groups, complete, errors

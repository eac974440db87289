"""keysweep's own first-flight probes of one endpoint, run beside sslyze: post-quantum groups,
classical groups (TLS 1.3 finite-field ones included), signature schemes, and with keysweep's
enumeration the versions and suites and the facts a ServerHello tells (features_probe)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from scanner.collectors.tls import features_probe, groups_probe, hello, pq_probe, sigalgs_probe, suites_probe
from scanner.collectors.tls.models import Reachability

_CODES = {name: code for code, name in hello.VERSION_NAMES.items()}


@dataclass(frozen=True, slots=True)
class ProbeResults:
    pq: tuple[pq_probe.GroupAnswer, ...] | None = None  # None: the server does not choose TLS 1.3
    groups: groups_probe.GroupsResult | None = None
    signatures: tuple[sigalgs_probe.SignatureResult, ...] = ()
    suites: suites_probe.SuitesResult | None = None  # None: sslyze enumerated the suites
    features: features_probe.FeaturesResult | None = None  # None: sslyze's commands answered


def run_probes(
    reach: Reachability,
    timeout: float,
    deadline: float,
    enumerate_suites: bool = True,
    given_up: threading.Event | None = None,
) -> ProbeResults:
    """Every probe of one endpoint, each exchange within ``timeout``, all by ``deadline``; once
    ``given_up`` is set, the probes left end at their next exchange."""
    hello.GIVEN_UP.set(given_up)
    address = (reach.ip or "", reach.endpoint.port)
    suites = features = None
    if enumerate_suites:
        suites = suites_probe.enumerate_all(address, reach.endpoint.host, timeout, deadline)
        if owns_features(reach, enumerate_suites):
            highest = _CODES[reach.version or ""]
            features = features_probe.probe(address, reach.endpoint.host, highest, timeout, deadline)
    return replace(_feature_probes(reach, timeout, deadline), suites=suites, features=features)


def owns_features(reach: Reachability, enumerate_suites: bool) -> bool:
    """Whether features_probe stands for sslyze's compression, EMS, fallback and Heartbleed commands."""
    return enumerate_suites and features_probe.applies(_CODES.get(reach.version or ""))


def highest_version(reach: Reachability) -> int | None:
    return _CODES.get(reach.version or "")


def _feature_probes(reach: Reachability, timeout: float, deadline: float) -> ProbeResults:
    address = (reach.ip or "", reach.endpoint.port)
    name = reach.endpoint.host
    version = _CODES.get(reach.version or "")
    if version is None:
        # the server refused the reachability hello with an alert: ask for groups both ways anyway
        groups = groups_probe.enumerate_tls13(address, name, timeout, deadline)
        if not groups.groups:
            groups = groups_probe.enumerate_legacy(address, name, 0x0303, timeout, deadline)
        return ProbeResults(None, groups)
    if version == 0x0304:
        pq = tuple(pq_probe.probe(address, name, timeout, deadline=deadline))
        groups = groups_probe.enumerate_tls13(address, name, timeout, deadline)
        # signing needs a ServerHello: offer a key share for the group the server likes best
        codes = {groups_probe.group_name(c): c for c in groups_probe.TLS13_GROUPS}
        first = next((codes[g] for g in groups.groups if g in codes and sigalgs_probe.key_share(codes[g])), 0x001D)
        signatures = (
            sigalgs_probe.probe(address, name, 0x0304, timeout, deadline, group=first),
            sigalgs_probe.probe(address, name, 0x0303, timeout, deadline),
        )
        return ProbeResults(pq, groups, signatures)
    groups = groups_probe.enumerate_legacy(address, name, version, timeout, deadline)
    if version != 0x0303:
        return ProbeResults(None, groups)
    return ProbeResults(None, groups, (sigalgs_probe.probe(address, name, 0x0303, timeout, deadline),))

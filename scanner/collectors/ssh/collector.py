"""The live SSH collector: --ssh endpoints (and ssh:// lines of --targets) into ssh-endpoint assets.

Per endpoint, within one deadline (--timeout): the server's identification and KEXINIT, read raw
(kexinit.py), then each host key it offers, one key exchange per key family (hostkeys.py).
Host keys become `key` assets with the same content-derived id as the same key on disk, linked
by `presents`. Endpoints run concurrently (--concurrency), each connection one at a time.
"""

from __future__ import annotations

import asyncio
import base64
import warnings
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import openssh_cert
from scanner.collectors.ssh import hostkeys, kexinit
from scanner.inventory import knowledge
from scanner.inventory.crypto_assets import public_key_asset
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
from scanner.targets import DEFAULT_SSH_PORT, TargetError, format_endpoint, parse_endpoint

# markers in the kex list that are not key exchanges (RFC 8308, OpenSSH's strict-kex extension)
_KEX_MARKERS = ("ext-info-", "kex-strict-")
_STRICT_KEX = "kex-strict-s-v00@openssh.com"
_HOST_KEY_CONNECTIONS = 3
# (minimum, preferred, maximum) bits asked of a group-exchange server (RFC 4419 allows 1024-8192)
_GEX_ASK = (1024, 1024, 8192)
# what a host certificate says, copied onto the endpoint's host_keys entry
_CERT_FACTS = ("cert_type", "subject", "serial", "principals", "not_before", "not_after", "valid_forever")


@dataclass
class _Probe:
    """What one endpoint showed so far; filled step by step so a deadline keeps what was read."""

    host: str
    port: int
    server: kexinit.ServerKexInit | None = None
    gex_modulus_bits: int | None = None
    keys: list[hostkeys.HostKeyAttempt] = field(default_factory=list)
    error: str = ""

    @property
    def endpoint_id(self) -> str:
        return f"ssh:{format_endpoint(self.host, self.port)}"


async def _probe(probe: _Probe) -> None:
    probe.server = await kexinit.read_server_kexinit(probe.host, probe.port)
    server = probe.server
    if not server.host_key_algorithms:
        return
    gex = next((m for m in kexinit.GEX_METHODS if m in server.kex), None)
    if gex is not None:
        # the group a client asking for as little as 1024 bits gets: the weakest the server will use
        probe.gex_modulus_bits = await kexinit.read_gex_modulus_bits(probe.host, probe.port, gex, *_GEX_ASK)
    ciphers = _union(server.ciphers_client_to_server, server.ciphers_server_to_client)
    macs = _union(server.macs_client_to_server, server.macs_server_to_client)
    supported = hostkeys.supported_host_key_algorithms()
    # a few exchanges at once: well inside sshd's MaxStartups (10 unauthenticated connections)
    gate = asyncio.Semaphore(_HOST_KEY_CONNECTIONS)

    async def fetch(algorithm: str) -> hostkeys.HostKeyAttempt:
        async with gate:
            return await hostkeys.fetch_host_key(probe.host, probe.port, algorithm, server.kex, ciphers, macs)

    tasks = [asyncio.ensure_future(fetch(a)) for a in hostkeys.one_per_family(server.host_key_algorithms, supported)]
    try:
        for task in tasks:  # in the server's order; each result kept as it comes, for a deadline
            probe.keys.append(await task)
    finally:
        for task in tasks:
            task.cancel()
    unsupported = [a for a in server.host_key_algorithms if a not in supported]
    probe.keys += [
        hostkeys.HostKeyAttempt(a, error="the SSH library cannot verify this algorithm") for a in unsupported
    ]


async def _bounded(probe: _Probe, timeout: float, gate: asyncio.Semaphore, context: CollectContext) -> _Probe:
    async with gate:
        target = format_endpoint(probe.host, probe.port)
        context.progress.target_started("ssh", target)
        try:
            await asyncio.wait_for(_probe(probe), timeout)
        except (TimeoutError, asyncio.TimeoutError):  # one class on 3.11+, two on 3.10
            step = "host keys" if probe.server else "identification and KEXINIT"
            probe.error = f"no answer within {timeout:g} s (--timeout) while reading the {step}"
        except kexinit.SshProtocolError as exc:
            probe.error = f"not an SSH server as RFC 4253 describes: {exc}"
        except OSError as exc:
            probe.error = f"cannot connect: {exc.strerror or exc}"
        context.progress.target_finished("ssh", target, not probe.error)
    return probe


async def _probe_all(probes: Sequence[_Probe], context: CollectContext) -> list[_Probe]:
    gate = asyncio.Semaphore(int(context.options.get("concurrency", 10)))
    return list(await asyncio.gather(*(_bounded(p, context.timeout, gate, context) for p in probes)))


def _union(*lists: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for names in lists for n in names))


class SshCollector:
    name: ClassVar[str] = "ssh"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"ssh"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        probes: list[_Probe] = []
        seen: set[tuple[str, int]] = set()
        for target in targets:
            try:
                pairs = parse_endpoint(target.value, DEFAULT_SSH_PORT)
            except TargetError as exc:
                yield CollectionError(target.value, self.name, str(exc))
                continue
            for pair in pairs:
                if pair not in seen:
                    seen.add(pair)
                    probes.append(_Probe(*pair))
        for probe in asyncio.run(_probe_all(probes, context)):
            yield from observations(probe)


def _host_certificate(
    target: str, endpoint_id: str, algorithm: str, blob: bytes
) -> Generator[Observation, None, dict[str, Any]]:
    """An OpenSSH host certificate's assets (parsed as a *-cert.pub file is) and its facts for the
    endpoint's host_keys entry: the certified key, validity and principals."""
    line = algorithm.encode() + b" " + base64.b64encode(blob)
    try:
        found = openssh_cert.certificate_observations(
            line, Location("endpoint", endpoint_id, f"host certificate {algorithm}")
        )
    except (ValueError, TypeError) as exc:
        yield CollectionError(target, "ssh", f"host certificate {algorithm}: cannot read it: {exc}")
        return {}
    yield from found
    cert = found[0]
    assert isinstance(cert, Asset)
    facts = {name: cert.properties.get(name) for name in _CERT_FACTS}
    return {"certificate_id": cert.id, "key_id": found[1].id if isinstance(found[1], Asset) else None, **facts}


def observations(probe: _Probe) -> Iterator[Observation]:
    target = format_endpoint(probe.host, probe.port)
    if probe.error:
        yield CollectionError(target, "ssh", probe.error)
    server = probe.server
    if server is None:
        return
    where = Location("endpoint", probe.endpoint_id)
    key_ids: list[str] = []
    host_keys: list[dict[str, Any]] = []
    for attempt in probe.keys:
        if attempt.key is None:
            yield CollectionError(target, "ssh", f"host key {attempt.algorithm}: {attempt.error}")
            continue
        entry: dict[str, Any] = {"algorithm": attempt.algorithm}
        for field_name, blob, detail in (
            ("key_id", attempt.key.openssh, f"host key {attempt.algorithm}"),
            ("ca_key_id", attempt.key.ca_openssh, f"host certificate CA key ({attempt.algorithm})"),
        ):
            if not blob:
                continue
            try:
                with warnings.catch_warnings():  # DSA host keys are deprecated, and inventoried all the same
                    warnings.simplefilter("ignore")
                    public_key = serialization.load_ssh_public_key(blob)
            except (ValueError, TypeError) as exc:  # UnsupportedAlgorithm is a ValueError subclass here
                yield CollectionError(target, "ssh", f"{detail}: cannot read the key: {exc}")
                continue
            asset = public_key_asset(
                public_key,
                Location("endpoint", probe.endpoint_id, detail),
                has_private_key=False,
            )
            yield asset
            entry[field_name] = asset.id
            if field_name == "key_id":
                key_ids.append(asset.id)
        if attempt.key.certificate:
            certified = yield from _host_certificate(
                target, probe.endpoint_id, attempt.algorithm, attempt.key.certificate
            )
            entry.update(certified)
            key_ids.extend(i for i in (certified.get("certificate_id"), certified.get("key_id")) if i)
        if len(entry) > 1:
            host_keys.append(entry)
    kex = [k for k in server.kex if not k.startswith(_KEX_MARKERS)]
    pq_methods = [k for k in kex if knowledge.ssh_algorithm("kex", k).post_quantum]
    ciphers = _union(server.ciphers_server_to_client, server.ciphers_client_to_server)
    macs = _union(server.macs_server_to_client, server.macs_client_to_server)
    properties: dict[str, Any] = {
        "host": probe.host,
        "port": probe.port,
        "banner": server.banner,
        "protocol_version": server.protocol_version,
        "software": server.software,
        "software_comments": server.comments,
        "kex": kex,
        "host_key_algorithms": list(server.host_key_algorithms),
        "ciphers": list(ciphers),
        "macs": list(macs),
        "compression": list(_union(server.compression_server_to_client, server.compression_client_to_server)),
        "strict_kex": _STRICT_KEX in server.kex,
        # a bool like a TLS endpoint's; the methods themselves beside it
        "pq_key_exchange": bool(pq_methods),
        "pq_kex_methods": pq_methods,
        "host_keys": host_keys,
        "gex_modulus_bits": probe.gex_modulus_bits,
    }
    yield Asset(probe.endpoint_id, AssetType.SSH_ENDPOINT, freeze(properties), (where,))
    for key_id in dict.fromkeys(key_ids):
        yield Relation(probe.endpoint_id, key_id, RelationType.PRESENTS)

"""The importer extension point: one module per peer tool's file format.

An importer recognises its tool's JSON by content (``detect``) and turns it into the same assets
and relations a live scan creates, with the same ids, each located at the imported file
(location kind ``import``). Importers are found through the entry-point group ``keysweep.importers``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cryptography import x509

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
from scanner.targets import format_endpoint


class ImportFormatError(ValueError):
    """The file is of the importer's kind but a part of it cannot be read; the message says which."""


@dataclass(frozen=True, slots=True)
class ImportSource:
    """The imported file and the tool that wrote it."""

    path: Path  # absolute
    tool: str

    def location(self, detail: str) -> Location:
        return Location("import", str(self.path), f"{self.tool}: {detail}")

    def error(self, message: str) -> CollectionError:
        return CollectionError(str(self.path), f"import:{self.tool}", message)


class Importer(Protocol):
    name: ClassVar[str]  # the tool, as locations and errors name it

    def detect(self, document: Any) -> bool: ...

    def observations(self, document: Any, source: ImportSource) -> Iterator[Observation]: ...


def tls_endpoint_id(host: str, port: int) -> str:
    return f"tls:{format_endpoint(host, port)}"


def tls_endpoint(
    host: str,
    port: int,
    properties: Mapping[str, Any],
    chains: Sequence[Sequence[x509.Certificate]],
    source: ImportSource,
) -> Iterator[Observation]:
    """A tls-endpoint asset as the TLS collector makes it: the endpoint, every certificate of every
    chain it presented (with the keys they certify) and the ``presents`` relations."""
    endpoint_id = tls_endpoint_id(host, port)
    related: list[Observation] = []
    chain_ids: list[list[str]] = []
    for chain in chains:
        ids: list[str] = []
        for position, cert in enumerate(chain):
            observations, failed = certificate_observations(
                cert, source.location(f"{endpoint_id} chain position {position}")
            )
            cert_id = observations[0].id if isinstance(observations[0], Asset) else ""
            ids.append(cert_id)
            related.extend(observations)
            related.append(Relation(endpoint_id, cert_id, RelationType.PRESENTS))
            if failed:
                related.append(
                    source.error(f"{endpoint_id}: certificate {cert_id}: unreadable {', '.join(sorted(failed))}")
                )
        chain_ids.append(ids)
    props = {"host": host, "port": port, **properties}
    props["certificate_chains"] = chain_ids
    props["leaf_certificates"] = [c[0] for c in chain_ids if c]
    props["imported_from"] = source.tool
    yield Asset(endpoint_id, AssetType.TLS_ENDPOINT, freeze(props), (source.location(endpoint_id),))
    yield from related


def group_name(name: str) -> str:
    """A TLS group by the IANA name the TLS collector uses (prime256v1 -> secp256r1)."""
    group = knowledge.tls_group(name)
    return group.name if group else name


def pq_key_exchange(supported: Sequence[str], tested: Sequence[str]) -> tuple[bool | None, list[str]]:
    """(pq_key_exchange, pq_groups_probed) from the groups a tool tested and those the server took:
    unknown (None) when the tool tested no post-quantum group, as a live probe that failed."""
    probed = [g for g in tested if (group := knowledge.tls_group(g)) is not None and group.post_quantum]
    if not probed:
        return None, []
    return any(g in supported for g in probed), probed

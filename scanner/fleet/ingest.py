"""``keysweep ingest``: verify signed bundles, then store each one (once, whatever the retries)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanner.compat import StrEnum
from scanner.fleet.bundle import BundleError, read_bundle
from scanner.store.interface import SaveStatus, Store, StoreError


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # stored before: nothing written
    REJECTED = "rejected"  # failed verification: nothing of it stored
    FAILED = "failed"  # verified, but the store could not take it: nothing of it stored, retry later


@dataclass(frozen=True, slots=True)
class Ingested:
    source: str
    outcome: Outcome
    message: str
    scan_id: str = ""
    scope: str = ""
    signer: str = ""


def ingest(paths: Sequence[Path], store: Store, trusted: dict[str, Ed25519PublicKey]) -> list[Ingested]:
    results: list[Ingested] = []
    for path in paths:
        try:
            bundle = read_bundle(path, trusted)
        except BundleError as exc:
            results.append(Ingested(str(path), Outcome.REJECTED, str(exc)))
            continue
        try:
            saved = store.save(bundle.report_json, bundle.report)
        except StoreError as exc:
            results.append(
                Ingested(str(path), Outcome.FAILED, f"bundle {path} not stored: {exc}", signer=bundle.signer)
            )
            continue
        outcome = Outcome.STORED if saved.status is SaveStatus.STORED else Outcome.DUPLICATE
        message = f"bundle {path}: scan {saved.scan_id} of scope {saved.scope} {outcome}"
        results.append(Ingested(str(path), outcome, message, saved.scan_id, saved.scope, bundle.signer))
    return results

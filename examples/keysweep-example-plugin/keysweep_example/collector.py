"""A collector for a target kind keysweep does not know: ``cert-list``, a text file naming PEM
certificate files one per line (what a certificate-management tool might export).

It follows the collector contract (scanner/collectors/base.py): take the targets of its kinds,
yield observations (assets, relations, errors), never raise for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from scanner.collectors.base import CollectContext, Target
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Observation, freeze


class CertificateListCollector:
    name: ClassVar[str] = "cert-list"
    target_kinds: ClassVar[frozenset[str]] = frozenset({"cert-list"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        for target in targets:
            context.progress.target_started(self.name, target.value)
            try:
                listed = Path(target.value).read_text("utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                yield CollectionError(target.value, self.name, f"cannot read the list: {exc}")
                context.progress.target_finished(self.name, target.value, False)
                continue
            base = Path(target.value).absolute().parent
            for line in (entry.strip() for entry in listed):
                if line and not line.startswith("#"):
                    yield from self._certificate(base / line)
            context.progress.target_finished(self.name, target.value, True)

    def _certificate(self, path: Path) -> Iterator[Observation]:
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            yield CollectionError(str(path), self.name, f"not a PEM certificate: {exc}")
            return
        fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        try:
            san = [str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
        except x509.ExtensionNotFound:
            san = []
        yield Asset(
            id=f"cert:sha256:{fingerprint}",
            type=AssetType.CERTIFICATE,
            properties=freeze(
                {
                    "sha256_fingerprint": fingerprint,
                    "subject": cert.subject.rfc4514_string(),
                    "issuer": cert.issuer.rfc4514_string(),
                    "serial": format(cert.serial_number, "x"),
                    "not_before": cert.not_valid_before_utc.isoformat(),
                    "not_after": cert.not_valid_after_utc.isoformat(),
                    "san": san,
                }
            ),
            locations=(Location("file", str(path.absolute()), "listed"),),
        )

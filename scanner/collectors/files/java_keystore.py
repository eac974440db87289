"""Java keystores (JKS, JCEKS) read with pyjks.

Certificates in a keystore are stored in clear, so their public keys (and the private keys they
pair with) are inventoried without any password; a supplied password also verifies the store and
opens secret keys to learn their algorithm and size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509

from scanner.collectors.base import CollectContext
from scanner.collectors.files.crypto_material import _Findings
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import crypto_assets, knowledge
from scanner.inventory.model import Asset, AssetType, Location, Relation, RelationType, freeze

_MAGIC = {b"\xfe\xed\xfe\xed": "jks", b"\xce\xce\xce\xce": "jceks"}
_SECRET_ALGORITHMS = {"AES": "AES", "DESede": "3DES", "TripleDES": "3DES", "DES": "DES"}


class JavaKeystoreHandler:
    name: ClassVar[str] = "jks"
    priority: ClassVar[int] = 20

    def sniff(self, path: Path, head: bytes) -> bool:
        return head[:4] in _MAGIC

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        import jks  # pyjks pulls in pyasn1 and pycryptodome: only when a keystore is found

        fmt = _MAGIC[source.data[:4]]
        found = _Findings(source)
        store: Any = None
        opened_with_password = False
        for secret in context.passwords:
            try:
                store = jks.KeyStore.loads(source.data, secret.reveal_str(), try_decrypt_keys=True)
                opened_with_password = True
                break
            except (jks.util.KeystoreException, UnicodeDecodeError, ValueError):
                continue
        if store is None:
            try:
                # no integrity check without the store password; entries are still readable
                store = jks.KeyStore.loads(source.data, None, try_decrypt_keys=False)
            except Exception as exc:
                raise ValueError(f"not a readable {fmt.upper()} keystore: {type(exc).__name__}: {exc}") from exc

        found.file_properties["integrity_verified"] = opened_with_password
        trusted: list[Asset] = []
        for alias, entry in sorted(store.private_keys.items()):
            chain = [der for _, der in entry.cert_chain]
            for n, der_bytes in enumerate(chain):
                cert = x509.load_der_x509_certificate(der_bytes)
                found.add_certificate(cert, f"alias '{alias}' chain certificate {n + 1}", der_bytes)
                if n == 0:
                    # the private key is sealed with the key password; its public half is the leaf's
                    key = crypto_assets.public_key_asset(
                        cert.public_key(),
                        source.location(f"alias '{alias}' private key"),
                        has_private_key=True,
                        encrypted_at_rest=True,
                    )
                    found.items.extend([key, source.stored_here(key)])
                    found.file_properties["contains_private_key"] = True
        for alias, entry in sorted(store.certs.items()):
            before = len(found.certificates)
            found.add_certificate(x509.load_der_x509_certificate(entry.cert), f"alias '{alias}' trusted certificate")
            trusted.extend(found.certificates[before:])
        for alias, entry in sorted(getattr(store, "secret_keys", {}).items()):
            found.items.extend(self._secret_key(source, alias, entry))

        observations = list(found.items)
        if trusted:
            path = str(source.path)
            anchor_store = Asset(
                id=f"truststore:{path}",
                type=AssetType.TRUST_STORE,
                properties=freeze(
                    {"path": path, "anchors": len(trusted), "format": fmt, "reason": "trusted-certificate entries"}
                ),
                locations=(Location("file", path),),
            )
            observations.append(anchor_store)
            observations.extend(Relation(anchor_store.id, c.id, RelationType.TRUSTS) for c in trusted)
        return ParsedFile(format=fmt, observations=tuple(observations), file_properties=found.file_properties)

    def _secret_key(self, source: FileSource, alias: str, entry: Any) -> list[Asset | Relation]:
        algorithm: str | None = None
        size: int | None = None
        if entry.is_decrypted():
            algorithm = _SECRET_ALGORITHMS.get(entry.algorithm, entry.algorithm)
            size = entry.key_size
        facts = knowledge.key_facts(algorithm, size) if algorithm else None
        asset = Asset(
            id=f"key:keystore:{source.path}:{alias}",
            type=AssetType.KEY,
            properties=freeze(
                {
                    "algorithm": algorithm,
                    "key_size": size,
                    "curve": None,
                    "spki_sha256": None,
                    "symmetric": True,
                    "has_private_key": False,
                    "has_secret_key": True,
                    "encrypted_at_rest": True,
                    "locked": algorithm is None,
                    "security_bits": facts.security_bits if facts else None,
                }
            ),
            locations=(source.location(f"alias '{alias}' secret key"),),
        )
        return [asset, source.stored_here(asset)]

"""Names of what a remote sweep found: ``ssh://HOST[:PORT]/PATH`` where a local sweep says ``PATH``.

The file handlers speak in paths (the remote paths, as the remote host names them). What is named
by its place (a file, a config, a keystore's secret key, a trust store, a secret's line) gets the
host in its id, so that the same path on two hosts is two nodes; what is named by its content
(certificates, keys) keeps its id, so the same certificate local and remote is one node. Locations
become ``remote-file``.
"""

from __future__ import annotations

import dataclasses
import hashlib

from scanner.inventory.model import Asset, CollectionError, Location, Observation, Relation
from scanner.targets import DEFAULT_SSH_PORT, RemoteSpec

# ids that hold the path of the file they were found in, as "<prefix><path>[...]"
_PLACE_IDS = ("file:", "config:", "truststore:", "key:keystore:")
_SECRET = "secret:"


class RemoteNames:
    def __init__(self, spec: RemoteSpec) -> None:
        host = f"[{spec.host}]" if ":" in spec.host else spec.host
        self.prefix = f"ssh://{host}" if spec.port == DEFAULT_SSH_PORT else f"ssh://{host}:{spec.port}"

    def url(self, path: str) -> str:
        return self.prefix + path

    def asset_id(self, ident: str) -> str:
        if ident.startswith(_SECRET):  # the hash of a local location: hashed again with the host
            return _SECRET + hashlib.sha256((self.prefix + ident).encode()).hexdigest()
        if ident.startswith(_PLACE_IDS):
            at = ident.find(":/")
            if at >= 0:
                return ident[: at + 1] + self.prefix + ident[at + 1 :]
        return ident

    def location(self, location: Location) -> Location:
        if location.kind != "file":
            return location
        return Location("remote-file", self.url(location.ref), location.detail)

    def observation(self, item: Observation) -> Observation:
        if isinstance(item, Asset):
            return dataclasses.replace(
                item, id=self.asset_id(item.id), locations=tuple(self.location(loc) for loc in item.locations)
            )
        if isinstance(item, Relation):
            return dataclasses.replace(item, source=self.asset_id(item.source), target=self.asset_id(item.target))
        if isinstance(item, CollectionError) and item.target.startswith("/"):
            return dataclasses.replace(item, target=self.url(item.target))
        return item

"""The file-handler extension point: one handler per kind of file content.

The file collector walks the paths, reads each file once, and gives it to the first handler
(by priority) whose ``sniff`` recognises the content. Handlers are found through the entry-point
group ``keysweep.file_handlers``: crypto material, keystores, and each configuration format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from scanner.collectors.base import CollectContext
from scanner.inventory.model import Asset, CollectionError, Location, Relation, RelationType


@dataclass(frozen=True, slots=True)
class FileSource:
    path: Path  # absolute
    data: bytes

    @property
    def file_id(self) -> str:
        return f"file:{self.path}"

    def location(self, detail: str = "") -> Location:
        return Location("file", str(self.path), detail)

    def stored_here(self, asset: Asset) -> Relation:
        return Relation(asset.id, self.file_id, RelationType.STORED_IN)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What a handler found in one file."""

    format: str  # "pem", "der-certificate", "pkcs12", "jks", "nginx", ...
    observations: tuple[Asset | Relation | CollectionError, ...] = ()
    # facts about the file itself (e.g. contains_plaintext_private_key), merged into its asset
    file_properties: Mapping[str, Any] = field(default_factory=dict)
    # other files this one names (a config's certificate and key): collected too
    follow: tuple[Path, ...] = ()
    # directories it names as CA directories (Apache SSLCACertificatePath): the files directly in
    # them are collected (bounded), never a walk below them
    follow_dirs: tuple[Path, ...] = ()
    # False for files whose node is not a `file` asset of their own (e.g. a trust store file)
    emit_file_asset: bool = True


class FileHandler(Protocol):
    name: ClassVar[str]
    # lower runs first; crypto material is 10, keystores 20, configs 50, generic secrets last
    priority: ClassVar[int]
    # optional ClassVar ``oversize_is_error: bool``: a file over the size limit that this handler
    # sniffs is reported as an error (configs) instead of skipped silently (disk images, logs)
    # optional method ``sniff_whole(path, data) -> bool``: asked with the whole file when no handler
    # knows its head (PEM after a long text preamble); must stay linear in the file's size
    # optional method ``may_find_further(head) -> bool``: whether ``sniff_whole`` can claim a file that
    # begins with ``head`` (its first 4 KiB) when no sniff claimed that head; False lets a large file
    # no handler wants go unread past its first 64 KiB (a binary for one that looks for text); a
    # handler with ``sniff_whole`` and without this method has every large file read whole

    def sniff(self, path: Path, head: bytes) -> bool:
        """Cheap content check on the first 4 KiB (and the name, only as a hint)."""
        ...

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        """Parse the whole file; raise only for a file that turned out unreadable as a whole."""
        ...

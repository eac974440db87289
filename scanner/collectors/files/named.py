"""Who names each file a configuration names, and what becomes of one that cannot be read.

A config asset lists the files it names (``references``: path, role, file, line) and says whether
the server reads it (``composition.role``). When a named file is missing or unreadable:

- every config naming it records it in ``missing_references`` (path, role, file, line, reason), so
  the inventory shows it where it is written;
- it is an error naming the configs in effect that name it, with file, line and role (a server
  reading that config would fail to start);
- it is no error when every config naming it is not in effect (``not-included``: a site or module not
  enabled, a snippet no root includes): Debian's ``default-ssl.conf`` names the snakeoil certificate
  that only the ssl-cert package creates.

A file no config asset names (a handler that keeps no ``references``) stays an error as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from scanner.inventory.model import Asset, AssetType, CollectionError, Observation, SweepCounts, freeze

# the composition role of a config the server does not read (docs/configs.md)
NOT_IN_EFFECT = "not-included"
PROPERTY = "missing_references"


@dataclass(frozen=True, slots=True)
class Namer:
    """One place a config asset names a file: the directive's file, line and role."""

    config: str  # the config asset's id
    path: str  # the named path as the config's ``references`` give it
    role: str
    file: str
    line: int
    in_effect: bool

    def describe(self) -> str:
        # line 0: a compiled-in default (sshd's host keys), written on no line
        where = f"{self.file} line {self.line}" if self.line else self.file
        return f"{where} ({self.role})"


def _namers(asset: Asset) -> Iterator[Namer]:
    references = asset.properties.get("references")
    if not references:
        return
    composition = asset.properties.get("composition")
    in_effect = not (isinstance(composition, Mapping) and composition.get("role") == NOT_IN_EFFECT)
    for ref in references:
        if not isinstance(ref, Mapping) or not ref.get("path"):
            continue
        role, file, line = str(ref.get("role", "")), str(ref.get("file", "")), int(ref.get("line") or 0)
        yield Namer(asset.id, str(ref["path"]), role, file, line, in_effect)


class NamedFiles:
    """The files config assets name, by absolute path, for one collector run.

    What becomes of a named file that could not be read is decided at the end of the run, once every
    config that names it is known (a root read after its snippet, a second ``--path``).
    """

    __slots__ = ("_collector", "_configs", "_failed", "_namers")

    def __init__(self, collector: str) -> None:
        self._collector = collector
        self._namers: dict[str, list[Namer]] = {}
        self._configs: dict[str, Asset] = {}  # the config assets that name a file, by id
        self._failed: dict[str, str] = {}  # a named path that could not be read -> why, in the order met

    def note(self, observations: Iterable[object]) -> None:
        """Learns what the config assets among ``observations`` name."""
        for item in observations:
            if type(item) is not Asset or item.type is not AssetType.CONFIG:
                continue
            for namer in _namers(item):
                self._configs.setdefault(item.id, item)
                known = self._namers.setdefault(os.path.abspath(namer.path), [])
                if namer not in known:
                    known.append(namer)

    def unreadable(self, path: str, reason: str) -> None:
        """A named file that could not be opened, read or listed, and why (reported by ``finish``)."""
        self._failed.setdefault(os.path.abspath(path), reason)

    def finish(self) -> Iterator[Observation]:
        """The errors for named files that could not be read and that a config in effect (or nothing
        known) names; each config naming one again, with ``missing_references`` (a second sighting of
        the same asset, which the inventory graph merges into the first); their counts."""
        missing: dict[str, list[dict[str, Any]]] = {}
        failed = 0
        for path, reason in self._failed.items():
            namers = self._namers.get(path, [])
            for namer in namers:
                entry = {
                    "path": namer.path,
                    "role": namer.role,
                    "file": namer.file,
                    "line": namer.line,
                    "reason": reason,
                }
                entries = missing.setdefault(namer.config, [])
                if entry not in entries:
                    entries.append(entry)
            active = [n for n in namers if n.in_effect]
            if active or not namers:
                failed += 1
                yield self._error(path, reason, active)
        for config, entries in missing.items():
            asset = self._configs[config]
            ordered = sorted(entries, key=lambda e: (e["file"], e["line"], e["path"]))
            yield replace(asset, properties=freeze({**asset.properties, PROPERTY: ordered}))
        if self._failed:
            # a file only configs not in effect name was looked for: examined and skipped
            yield SweepCounts(examined=len(self._failed), skipped=len(self._failed) - failed, failed=failed)

    def _error(self, path: str, reason: str, active: Sequence[Namer]) -> CollectionError:
        if not active:
            return CollectionError(path, self._collector, reason)
        # a root lists the references of the files it includes: the same directive once
        places = dict.fromkeys(n.describe() for n in sorted(active, key=lambda n: (n.file, n.line, n.role)))
        return CollectionError(path, self._collector, f"named by {', '.join(places)}: {reason}")

"""The collector extension point: a collector turns targets of its kind into observations.

Collectors are found through the entry-point group ``keysweep.collectors``; built-ins register the
same way as third-party packages. A collector never raises for bad input: it yields a
``CollectionError`` naming the target and goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import Observation
from scanner.secrets import Secret


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to scan. ``kind`` routes it to the collectors that accept that kind."""

    kind: str  # "path", "tls", "pkcs11", ...
    value: str  # a path, "host:port", a module path

    def __str__(self) -> str:
        return self.value


class ProgressObserver(Protocol):
    def target_started(self, collector: str, target: str) -> None: ...

    def target_finished(self, collector: str, target: str, ok: bool) -> None: ...


@runtime_checkable
class ItemProgress(Protocol):
    """Optional, finer progress within one target (the files of a directory sweep): an observer
    that has these methods gets them from collectors that can count their items."""

    def items_found(self, collector: str, count: int) -> None: ...

    def item_done(self, collector: str, item: str) -> None: ...


class SilentProgress:
    def target_started(self, collector: str, target: str) -> None:
        pass

    def target_finished(self, collector: str, target: str, ok: bool) -> None:
        pass

    def items_found(self, collector: str, count: int) -> None:
        pass

    def item_done(self, collector: str, item: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class CollectContext:
    timeout: float = 10.0
    # passwords tried on encrypted PKCS#12 files, keystores and keys, in order
    passwords: tuple[Secret, ...] = ()
    # collector-specific options (e.g. "concurrency", "pkcs11_token", "pkcs11_pin")
    options: Mapping[str, Any] = field(default_factory=dict)
    progress: ProgressObserver = field(default_factory=SilentProgress)
    # the graph the observations go into, when the consumer builds one: a collector may put what it
    # kept of an unchanged sweep into it whole (see collectors/files/whole.py) instead of yielding it
    graph: InventoryGraph | None = None


@runtime_checkable
class Collector(Protocol):
    name: ClassVar[str]
    # the Target.kind values this collector accepts
    target_kinds: ClassVar[frozenset[str]]

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]: ...

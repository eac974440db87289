"""Fixtures: the committed config samples, copied with their generated keys by the part's own start.sh."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext
from scanner.collectors.files.collector import FileCollector
from scanner.engine.rules import Pack, discover_packs
from scanner.inventory.model import CollectionError, Observation, ScanResult
from scanner.scan import ScanRequest, path_targets, run_scan
from tests.support import samples as sample_targets


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_targets.start("configs", tmp_path_factory.mktemp("config-samples"))


def packs(*names: str) -> tuple[Pack, ...]:
    found = discover_packs()
    return tuple(found[n] for n in names)


def scan(paths: Sequence[Path], *names: str) -> ScanResult:
    request = ScanRequest(targets=tuple(path_targets(list(paths))), packs=packs(*(names or ("server-config",))))
    return run_scan(request)


def collect(*paths: Path) -> list[Observation]:
    return list(FileCollector().collect(path_targets(list(paths)), CollectContext()))


def errors(observations: Sequence[Observation]) -> list[CollectionError]:
    return [o for o in observations if isinstance(o, CollectionError)]

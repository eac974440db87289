"""The store test-suite runs against every backend: SQLite in a file, PostgreSQL in a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.store.helpers import real_report


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    server: Any = request.getfixturevalue("postgres_server")
    return str(server.new_database())


@pytest.fixture(scope="module")
def report_json(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return real_report(tmp_path_factory.mktemp("tree") / "tree")

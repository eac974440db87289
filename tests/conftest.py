"""Shared fixtures: running the real CLI and reading its JSON report.

Every test (and every `keysweep` subprocess a test starts, which inherits the environment) uses a
history store in a temporary directory: no test ever writes to the user's real data directory.
Tests that look at the store pass --store explicitly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scanner.cli import main


@dataclass(frozen=True)
class Run:
    exit_code: int
    output: str  # stdout and stderr together
    report: dict[str, Any] | None
    report_text: str

    def findings(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        assert self.report is not None
        return [f for f in self.report["findings"] if asset_id is None or f["asset_id"] == asset_id]

    def assets(self, type: str | None = None) -> list[dict[str, Any]]:
        assert self.report is not None
        return [a for a in self.report["assets"] if type is None or a["type"] == type]

    def asset(self, asset_id: str) -> dict[str, Any]:
        return next(a for a in self.assets() if a["id"] == asset_id)


RunKeysweep = Callable[..., Run]


@pytest.fixture
def run_keysweep(tmp_path: Path) -> RunKeysweep:
    """Run `keysweep scan ARGS --json <tmp>` in-process and parse the report it wrote."""

    def run(args: Sequence[str], env: dict[str, str] | None = None, json_report: bool = True) -> Run:
        report_path = tmp_path / f"report-{len(list(tmp_path.glob('report-*.json')))}.json"
        argv = ["scan", *args, *(["--json", str(report_path)] if json_report else [])]
        result = CliRunner().invoke(main, argv, env=env, catch_exceptions=False)
        text = report_path.read_text() if report_path.exists() else ""
        return Run(result.exit_code, result.output, json.loads(text) if text else None, text)

    return run


@pytest.fixture(scope="session", autouse=True)
def _private_history_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("KEYSWEEP_STORE")
    os.environ["KEYSWEEP_STORE"] = str(tmp_path_factory.mktemp("store") / "history.sqlite3")
    yield
    if previous is None:
        os.environ.pop("KEYSWEEP_STORE", None)
    else:
        os.environ["KEYSWEEP_STORE"] = previous


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One real PostgreSQL server per test session (per xdist worker); each test takes a database."""
    from tests.support.postgres import PostgresServer

    server = PostgresServer.start()
    previous = os.environ.get("PGPASSWORD")
    # the way keysweep's users pass credentials: libpq's environment, never argv
    os.environ["PGPASSWORD"] = server.password
    yield server
    if previous is None:
        os.environ.pop("PGPASSWORD", None)
    else:
        os.environ["PGPASSWORD"] = previous
    server.remove()

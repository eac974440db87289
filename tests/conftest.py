"""Suite-wide settings.

Every test (and every `keysweep` subprocess a test starts, which inherits the environment) uses a
history store in a temporary directory: no test ever writes to the user's real data directory.
Tests that look at the store pass --store explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_history_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("KEYSWEEP_STORE")
    os.environ["KEYSWEEP_STORE"] = str(tmp_path_factory.mktemp("store") / "history.sqlite3")
    yield
    if previous is None:
        os.environ.pop("KEYSWEEP_STORE", None)
    else:
        os.environ["KEYSWEEP_STORE"] = previous

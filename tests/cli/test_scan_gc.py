"""The cyclic garbage collector during `keysweep scan`: off from the end of collection (the rules,
reports and store build only long-lived values), on again for the caller once the command ends."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.engine.evaluate import RuleEngine
from tests.support.scans import mixed_tree


def test_collector_off_for_the_rules_and_on_again_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mixed_tree(tmp_path / "tree")
    seen: list[bool] = []
    evaluate = RuleEngine.evaluate

    def observed(self: RuleEngine, *args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return evaluate(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RuleEngine, "evaluate", observed)
    assert gc.isenabled()
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["scan", "--path", str(tmp_path / "tree"), "--no-store", "--json", str(report)])
    assert result.exit_code in (0, 1), result.output
    assert seen == [False]
    assert gc.isenabled()
    assert json.loads(report.read_bytes())["findings"]


def test_a_caller_that_disabled_the_collector_keeps_it_disabled(tmp_path: Path) -> None:
    mixed_tree(tmp_path / "tree")
    gc.disable()
    try:
        result = CliRunner().invoke(main, ["scan", "--path", str(tmp_path / "tree"), "--no-store", "-q"])
        assert result.exit_code in (0, 1), result.output
        assert not gc.isenabled()
    finally:
        gc.enable()

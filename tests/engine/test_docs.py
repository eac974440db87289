"""docs/rules.md is generated from the packs and must be up to date."""

from __future__ import annotations

from pathlib import Path

from scanner.engine import docs
from scanner.engine.rules import discover_packs


def test_rules_md_is_fresh() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    expected = docs.render(discover_packs())
    assert path.read_text("utf-8") == expected, "docs/rules.md is stale: run python -m scanner.engine.docs"
    assert docs.main(["--check", "--output", str(path)]) == 0


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "rules.md"
    stale.write_text("# old\n")
    assert docs.main(["--check", "--output", str(stale)]) == 1
    assert docs.main(["--output", str(stale)]) == 0
    assert docs.main(["--check", "--output", str(stale)]) == 0
    text = stale.read_text()
    for pack in discover_packs().values():
        assert f"## {pack.name}" in text
        for rule in pack.rules:
            assert f"`{rule.id}`" in text

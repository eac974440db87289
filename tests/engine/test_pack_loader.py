"""Packs validate on load: unknown checks, fields and categories fail with the file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scanner.engine.rules import PackError, discover_packs, load_pack, select_packs

RULE = """
[[rules]]
id = "custom.rsa"
title = "RSA below 3072"
category = "{category}"
severity = "high"
applies_to = ["key"]
check = "{check}"
remediation = "Use 3072-bit keys."
references = ["NIST SP 800-57 Pt1 Rev5 Table 2"]
{extra}
[rules.params]
min_bits = 128
"""


def write_pack(tmp_path: Path, category: str = "key-size", check: str = "key_strength", extra: str = "") -> Path:
    path = tmp_path / "custom.toml"
    header = '[pack]\nname = "custom"\nversion = "1"\ntitle = "Custom"\n'
    path.write_text(header + RULE.format(category=category, check=check, extra=extra))
    return path


def test_a_valid_custom_pack_loads_and_can_be_selected(tmp_path: Path) -> None:
    write_pack(tmp_path)
    packs = discover_packs([tmp_path])
    assert [r.id for r in packs["custom"].rules] == ["custom.rsa"]
    assert [p.name for p in select_packs(packs, ["custom"])] == ["custom"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"check": "no_such_check"}, "unknown check 'no_such_check'"),
        ({"category": "vibes"}, "unknown category 'vibes'"),
        ({"extra": 'colour = "red"'}, "unknown field 'colour'"),
    ],
)
def test_bad_packs_fail_with_file_and_line(tmp_path: Path, kwargs: dict[str, str], message: str) -> None:
    path = write_pack(tmp_path, **kwargs)
    with pytest.raises(PackError) as raised:
        load_pack(path)
    assert message in str(raised.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", str(raised.value))


def test_unknown_policy_name_lists_the_known_ones() -> None:
    with pytest.raises(PackError, match=r"unknown policy nope.*cms-km-handbook"):
        select_packs(discover_packs(), ["nope"])

"""Packs fail on load with the file and the exact line of the problem; custom packs load with --rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import PackError, discover_packs, load_pack, resolve_mappings, select_packs
from tests.engine.helpers import PACKS, failing, write_cert
from tests.support import pki

GOOD = """\
# a custom pack
[pack]
name = "acme"
version = "1.0"
title = "ACME crypto standard"
documents = ["ACME-STD-7"]

[[rules]]
id = "acme.key.p384"
title = "Keys below 192 bits"
category = "key-size"
severity = "medium"
applies_to = ["key"]
check = "key_strength"
remediation = "Use P-384."
references = ["ACME-STD-7 section 2"]
[rules.params]
min_bits = 192

[[requirements]]
id = "STD-7.2"
title = "192-bit keys"
rules = ["acme.key.p384", "cms.key.dsa"]
"""


def _write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    directory = tmp_path / "packs"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(PackError) as caught:
        resolve_mappings({**PACKS, "acme": load_pack(path)})
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    return message[len(str(path)) + 1 :]


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ('check = "key_strength"', 'check = "key_strenght"', 14, "unknown check 'key_strenght'"),
        ('category = "key-size"', 'category = "key-sizes"', 11, "unknown category 'key-sizes'"),
        ('severity = "medium"', 'severity = "urgent"', 12, "unknown severity 'urgent'"),
        ('applies_to = ["key"]', 'applies_to = ["keys"]', 13, "unknown asset type(s) keys"),
        ("min_bits = 192", "min_bitz = 192", 18, "check 'key_strength' has no parameter 'min_bitz'"),
        ('remediation = "Use P-384."', 'remediation = "Use P-384."\nsevrity = "x"', 16, "unknown field 'sevrity'"),
        ('"cms.key.dsa"]', '"cms.key.dsaa"]', 23, "requirement STD-7.2 maps unknown rule 'cms.key.dsaa'"),
        ('version = "1.0"', 'version = "1.0"\nauthor = "me"', 5, "unknown pack field 'author'"),
        ('references = ["ACME', "references = [ACME", 16, "not valid TOML"),
        ('title = "192-bit keys"\n', "", 20, "requirement STD-7.2: missing title"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, old: str, new: str, line: int, words: str) -> None:
    assert old in GOOD
    message = _error(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith(f"{line}: ")
    assert words in message


def test_a_rule_id_belongs_to_one_pack(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD.replace('id = "acme.key.p384"', 'id = "cms.key.dsa"'))
    assert message.startswith("9: ")
    assert "already defined by pack cms-km-handbook" in message


def test_custom_pack_loads_and_runs(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    packs = discover_packs([path.parent])
    assert [r.id for r in packs["acme"].all_rules()] == ["acme.key.p384", "cms.key.dsa"]
    targets = tmp_path / "targets"
    p256, p384 = pki.ec_key(), pki.ec_key(pki.ec.SECP384R1())
    write_cert(targets, "a.pem", pki.certificate(p256, "a.example"))
    write_cert(targets, "b.pem", pki.certificate(p384, "b.example"))
    from tests.engine import helpers

    result = helpers.run_scan(
        helpers.ScanRequest(targets=(helpers.Target("path", str(targets)),), packs=(packs["acme"],))
    )
    assert failing(result, "acme.key.p384") == {helpers.key_id(p256.public_key())}
    [finding] = result.findings
    assert finding.requirements == ("acme:STD-7.2",)


def test_cli_rules_pack_lists_requirements_and_mapped_rules(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    result = CliRunner().invoke(main, ["rules", "--rules", str(path.parent), "--pack", "acme"])
    assert result.exit_code == 0, result.output
    assert "acme.key.p384" in result.output
    assert "cms.key.dsa" in result.output and "[from cms-km-handbook]" in result.output
    assert "STD-7.2" in result.output


def test_cli_reports_a_bad_pack_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('check = "key_strength"', 'check = "nope"'))
    targets = tmp_path / "t"
    write_cert(targets, "a.pem", pki.certificate(pki.ec_key(), "a.example"))
    result = CliRunner().invoke(main, ["scan", "--path", str(targets), "--rules", str(path.parent)])
    assert result.exit_code == 2
    assert f"{path}:14: rule acme.key.p384: unknown check 'nope'" in result.output


def test_unknown_policy_is_a_usage_error(tmp_path: Path) -> None:
    write_cert(tmp_path, "a.pem", pki.certificate(pki.ec_key(), "a.example"))
    result = CliRunner().invoke(main, ["scan", "--path", str(tmp_path), "--policy", "nist-sp800-999"])
    assert result.exit_code == 2
    assert "unknown policy nist-sp800-999" in result.output


def test_every_built_in_rule_serves_a_requirement_of_its_pack() -> None:
    for pack in PACKS.values():
        mapped = {rule_id for requirement in pack.requirements for rule_id in requirement.rules}
        assert {r.id for r in pack.rules} <= mapped, pack.name


def test_default_selection_is_the_handbook() -> None:
    assert [p.name for p in PACKS.values() if p.default] == ["cms-km-handbook"]


def test_the_default_pack_runs_every_tls_and_config_rule() -> None:
    # the TLS and configuration packs are not default: the handbook's requirements map their rules
    default = RuleEngine(select_packs(PACKS, []))
    every = {r.id for name in ("nist-sp800-52r2", "server-config") for r in PACKS[name].rules}
    assert every <= {r.id for r in default.rules}
    assert all(default.requirements_of(rule_id) for rule_id in every)
    assert all(req.startswith("cms-km-handbook:") for r in every for req in default.requirements_of(r))

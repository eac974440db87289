"""Acceptance (issue 11): a sweep of this machine's configuration and package data.

Also: the JSON summary's counts add up (examined = recognised + skipped + failed), APT's OpenPGP
keys are inventoried, and testssl.sh's reference CA stores in /etc/testssl give nothing above low.

/etc, /usr/share/doc and the Python library directories (the standard library of the interpreter
running the tests, its site-packages with botocore's API models from the test extra) hold no
team's secret: the sweep must report no secret finding above low, and every secret finding must
say why it was judged one and why it is package data. The whole-machine figures (/usr/share in full)
are printed by bench/sweep_machine.py and listed in docs/secrets.md.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from scanner.collectors.base import Target
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.model import Severity
from scanner.scan import ScanRequest, run_scan


def _roots() -> list[str]:
    libs = {sysconfig.get_paths()[k] for k in ("stdlib", "purelib")}
    libs |= {str(p) for p in Path("/usr/lib").glob("python3*")}
    libs = {p for p in libs if os.path.isdir(p)}
    return ["/etc", "/usr/share/doc", *sorted(p for p in libs if not any(p.startswith(q + "/") for q in libs))]


@pytest.mark.slow
def test_no_high_secret_finding_on_this_machine(capsys: pytest.CaptureFixture[str]) -> None:
    import botocore  # the test extra's cloud SDK: its API models once gave hundreds of false findings

    roots = _roots()
    assert any(Path(botocore.__file__).is_relative_to(r) for r in roots)
    request = ScanRequest(
        targets=tuple(Target("path", r) for r in roots), packs=tuple(select_packs(discover_packs(), []))
    )
    result = run_scan(request)
    secrets = [f for f in result.findings if f.category == "secret-exposure"]
    above_low = [f for f in secrets if f.severity not in (Severity.LOW, Severity.INFO)]
    assert above_low == [], [(f.evidence.get("location"), f.evidence.get("reason")) for f in above_low]
    assert all(f.evidence.get("reason") and f.evidence.get("package_data_reason") for f in secrets)
    # nothing missed in silence: every file examined is counted once, as recognised, skipped or failed
    sweep = result.sweep
    assert sweep.examined == sweep.recognised + sweep.skipped + sweep.failed > 0
    # APT's trusted OpenPGP keys are inventoried (once counted as "not cryptographic")
    apt_keys = sorted(str(p) for p in Path("/etc/apt/trusted.gpg.d").glob("*.asc"))
    located = {loc.ref for a in result.assets if a.properties.get("key_format") == "openpgp" for loc in a.locations}
    assert set(apt_keys) <= located
    # testssl.sh's reference CA stores: inventoried, nothing on them above low
    reference = {a.id for a in result.assets if a.properties.get("reference_copy")}
    assert any(a.id.startswith("truststore:/etc/testssl/") for a in result.assets)
    assert [f.rule_id for f in result.findings if f.asset_id in reference and f.severity.rank > Severity.LOW.rank] == []
    with capsys.disabled():
        print(
            f"\nmachine sweep {' '.join(roots)}: {sweep.as_dict()}, {len(result.assets)} assets, "
            f"{len(secrets)} secret findings (all low)"
        )

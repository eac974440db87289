"""Microsoft's SARIF multitool (npm ``@microsoft/sarif-multitool``, installed into ``.tools/`` by
``scripts/bootstrap.sh test``) and the SARIF 2.1.0 JSON schema it ships."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.tls_servers import ROOT

PACKAGE = ROOT / ".tools" / "sarif-multitool" / "node_modules" / "@microsoft" / "sarif-multitool-linux"
BINARY = PACKAGE / "Sarif.Multitool"
SCHEMA = PACKAGE / "sarif-2.1.0.json"


def validate(sarif: Path, workdir: Path) -> list[dict[str, Any]]:
    """``validate`` with the SARIF rules and GitHub's (``--rule-kind Gh;Sarif``); every error and
    warning it reports, as the results of its own SARIF log."""
    if not BINARY.exists():
        raise RuntimeError(f"{BINARY} is missing: run scripts/bootstrap.sh test")
    out = workdir / f"{sarif.stem}.validation.sarif"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [str(BINARY), "validate", "--rule-kind", "Gh;Sarif", "-o", str(out), str(sarif)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"DOTNET_CLI_TELEMETRY_OPTOUT": "1", "HOME": str(workdir), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if not out.exists():
        raise RuntimeError(f"the multitool wrote no log (exit {done.returncode}): {done.stdout}{done.stderr}")
    log = json.loads(out.read_text(encoding="utf-8-sig"))
    notifications = [
        n
        for inv in log["runs"][0].get("invocations", [])
        for n in inv.get("toolExecutionNotifications", []) + inv.get("toolConfigurationNotifications", [])
        if n.get("level", "warning") in ("error", "warning")
    ]
    results = [r for r in log["runs"][0].get("results", []) if r.get("level", "warning") in ("error", "warning")]
    return results + notifications

"""A projection (rules evaluated as of another day) is labelled in every machine-read format too."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunKeysweep
from tests.support import pki


def test_sarif_and_cbom_say_projection(tmp_path: Path, run_keysweep: RunKeysweep) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    pki.write(certs / "server.pem", pki.pem(pki.certificate(pki.rsa_key(2048), "server.example")))
    outputs = {"sarif": tmp_path / "out.sarif", "cbom": tmp_path / "out.cbom.json"}
    args = ["--path", str(certs), "--no-store", "--sarif", str(outputs["sarif"]), "--cbom", str(outputs["cbom"])]
    today = run_keysweep(args)
    assert today.exit_code == 0, today.output
    run = json.loads(outputs["sarif"].read_text())["runs"][0]
    assert run["properties"]["projection"] is False
    assert "projection" not in run["automationDetails"]["id"]
    projected = run_keysweep([*args, "--as-of", "2031-01-01"])
    assert projected.exit_code == 0, projected.output
    run = json.loads(outputs["sarif"].read_text())["runs"][0]
    assert run["properties"] == {"asOf": "2031-01-01T00:00:00Z", "projection": True}
    assert "/projection-" in run["automationDetails"]["id"]
    assert "2031-01-01" in run["automationDetails"]["description"]["text"]
    cbom = {p["name"]: p["value"] for p in json.loads(outputs["cbom"].read_text())["metadata"]["properties"]}
    assert cbom["keysweep:projection"] == "true" and cbom["keysweep:as-of"] == "2031-01-01T00:00:00Z"

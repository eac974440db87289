"""Issue 12 item 2: a scan imports only the collectors its targets need (declared target kinds)."""

from __future__ import annotations

import subprocess
import sys

from scanner import plugins


def test_declared_kinds_match_what_each_collector_accepts() -> None:
    declared = plugins.declared_kinds(plugins.COLLECTORS, plugins.TARGET_KINDS)
    assert set(declared) == set(plugins.names(plugins.COLLECTORS))  # every built-in declares its kinds
    for name, kinds in declared.items():
        assert plugins.load(plugins.COLLECTORS, name).target_kinds == kinds, name


PROBE = """
import sys
from scanner.collectors import routing
from scanner.collectors.base import Target
routed, unclaimed = routing.collectors_for([Target("path", "/tmp")])
print([c.name for c, _ in routed], unclaimed)
heavy = ("scanner.collectors.tls", "scanner.collectors.ssh", "scanner.collectors.pkcs11", "sslyze", "pkcs11")
print(sorted({m.split(".")[0] if not m.startswith("scanner") else ".".join(m.split(".")[:3])
              for m in sys.modules if m.startswith(heavy)}))
"""


def test_a_files_only_scan_imports_no_network_or_token_collector() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    routed, imported = done.stdout.splitlines()
    assert routed == "['files'] []"
    assert imported == "[]", imported

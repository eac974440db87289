"""Sweep this machine's /etc, /usr/share and Python library directories; print what a team would see.

The acceptance sweep of issue 11: zero high secret findings, and no file missed in silence. The
file collector's handlers are wrapped to record which one claimed each file, so the sweep can
tell, for every file examined:
- recognised: a handler claimed it (crypto material, keystore, config, settings file);
- failed: an error names it;
- silent: a crypto, keystore or config handler claimed it, yet no asset location and no error
  names it (should be zero); a settings or text file the secrets handler read and found clean is
  "read, nothing to report", not silent.
Then the default policy packs run on the result, as in `keysweep scan`, and the findings are
counted by severity and category, with every secret finding above low listed.
Usage: python bench/sweep_machine.py [PATH ...]   (default: the machine's roots above)
"""

from __future__ import annotations

import os
import resource
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner import plugins
from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files.collector import FileCollector
from scanner.collectors.files.handler import FileHandler, FileSource, ParsedFile
from scanner.collectors.package_data import package_data_reason
from scanner.compat import UTC
from scanner.engine.checks import EvalContext
from scanner.engine.evaluate import RuleEngine
from scanner.engine.rules import discover_packs, select_packs
from scanner.inventory.enrich import enrich
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, Severity


class Recording:
    """A handler as it is, recording the files it claims."""

    def __init__(self, inner: FileHandler, claimed: dict[str, str]) -> None:
        self.inner, self.claimed = inner, claimed
        self.name, self.priority = inner.name, inner.priority
        self.oversize_is_error = getattr(inner, "oversize_is_error", False)

    def sniff(self, path: Path, head: bytes) -> bool:
        if self.inner.sniff(path, head):
            self.claimed[str(path)] = self.name
            return True
        return False

    def sniff_whole(self, path: Path, data: bytes) -> bool:
        # PEM after a long preamble: asked only when no handler knows the head (see FileHandler)
        sniff_whole = getattr(self.inner, "sniff_whole", None)
        if sniff_whole is not None and sniff_whole(path, data):
            self.claimed[str(path)] = self.name
            return True
        return False

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        return self.inner.parse(source, context)


def default_roots() -> list[str]:
    roots = ["/etc", "/usr/share"]
    libs = {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
    libs |= {str(p) for p in Path("/usr/lib").glob("python3*")}
    # a library directory inside another one is swept once, with its parent
    return roots + sorted(p for p in libs if os.path.isdir(p) and not any(p.startswith(q + "/") for q in libs))


def walk(roots: Sequence[str]) -> Iterator[str]:
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in (".git", ".hg", ".svn", "node_modules", "__pycache__")]
            dirnames[:] = [d for d in dirnames if d not in (".venv", ".tox")]
            yield from (os.path.join(directory, f) for f in filenames)


def _where(graph: InventoryGraph, asset_id: str) -> str:
    """A finding's place, coarse: the package data reason of its files, else its first file's folder."""
    refs = sorted({loc.ref for loc in graph.asset(asset_id).locations if loc.kind == "file"})
    if not refs:
        return "no file location"
    reasons = {package_data_reason(r) for r in refs}
    if None not in reasons:
        # the package: the folder after site-packages, else the first two folders below /usr/share or the root
        parts = Path(refs[0]).parts
        cut = parts.index("site-packages") + 2 if "site-packages" in parts else min(len(parts) - 1, 4)
        return "package data: " + "/".join(parts[1:cut])
    return "deployment file under " + os.path.dirname(next(r for r in refs if package_data_reason(r) is None))


def main(argv: list[str]) -> None:
    roots = argv or default_roots()
    claimed: dict[str, str] = {}
    handlers = [Recording(cls(), claimed) for cls in plugins.load_all(plugins.FILE_HANDLERS).values()]
    start = time.perf_counter()
    graph = InventoryGraph()
    graph.add_all(FileCollector(handlers).collect([Target("path", r) for r in roots], CollectContext()))
    collected = time.perf_counter() - start
    as_of = datetime.now(UTC)
    enrich(graph, as_of)
    evaluation = RuleEngine(select_packs(discover_packs(), [])).evaluate(graph, EvalContext(as_of=as_of))
    elapsed = time.perf_counter() - start

    examined = set(walk(roots))
    named = {loc.ref for asset in graph.assets() for loc in asset.locations if loc.kind == "file"}
    failed = {e.target for e in graph.errors}
    recognised = {p for p in examined if p in claimed}
    silent = sorted(p for p in recognised if claimed[p] != "secrets" and p not in named and p not in failed)
    read_clean = {p for p in recognised if claimed[p] == "secrets" and p not in named and p not in failed}
    findings = list(evaluation.findings)
    severities = Counter(f.severity.value for f in findings)
    secrets = [f for f in findings if f.category == "secret-exposure"]
    secret_by_severity = Counter(f.severity.value for f in secrets)
    stores = [a for a in graph.assets(AssetType.TRUST_STORE)]

    print(f"roots: {' '.join(roots)}")
    by_handler = dict(Counter(claimed[p] for p in recognised))
    print(f"files examined {len(examined)}: recognised {len(recognised)} (by handler {by_handler})")
    print(f"  not cryptographic (no handler claimed them) {len(examined - recognised)}")
    print(f"  failed (an error names them) {len(failed & examined)}; errors in all {len(graph.errors)}")
    print(f"  settings/text files read by the secrets handler with nothing to report {len(read_clean)}")
    print(f"  missed in silence {len(silent)}" + "".join(f"\n    {p}" for p in silent[:20]))
    suffixes = Counter(Path(p).suffix.lower() or Path(p).name for p in silent)
    print(f"    by suffix: {dict(suffixes.most_common(12))}")
    # what no handler claimed, by suffix: cryptographic material skipped as "not cryptographic" shows here
    unclaimed = Counter(Path(p).suffix.lower() for p in examined - recognised)
    crypto_suffixes = (".pem", ".crt", ".cer", ".der", ".key", ".crl", ".p12", ".pfx", ".jks", ".gpg", ".asc", ".kbx")
    print(f"  unclaimed with a crypto-like suffix: { {x: unclaimed[x] for x in crypto_suffixes if unclaimed[x]} }")
    sweep = graph.sweep
    print(
        f"JSON summary files: examined {sweep.examined} = recognised {sweep.recognised} + skipped {sweep.skipped}"
        f" + failed {sweep.failed}"
    )
    print(f"assets {len(graph)}; trust stores {len(stores)}")
    for store in stores:
        props: Any = store.properties
        print(f"  {store.id} anchors={props.get('anchors')} reason={props.get('reason')}")
    high = [f for f in findings if f.severity in (Severity.CRITICAL, Severity.HIGH)]
    where = Counter((f.rule_id, _where(graph, f.asset_id)) for f in high)
    print(f"critical and high findings {len(high)}, by rule and where the asset sits:")
    for (rule, place), count in where.most_common():
        print(f"  {count:5d} {rule}: {place}")
    print(f"findings {len(findings)} by severity {dict(severities)}")
    print(f"secret findings {len(secrets)} by severity {dict(secret_by_severity)}")
    for f in secrets:
        if f.severity not in (Severity.LOW, Severity.INFO):
            where, kind, why = f.evidence.get("location"), f.evidence.get("kind"), f.evidence.get("reason")
            print(f"  {f.severity.value} {where} {kind}: {why}")
    reasons = Counter(str(f.evidence.get("package_data_reason")) for f in secrets)
    print(f"  package data reasons: {dict(reasons)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"time: collection {collected:.0f} s, total {elapsed:.0f} s; peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])

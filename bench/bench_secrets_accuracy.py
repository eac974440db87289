"""False positives and recall of the secrets detector, beside detect-secrets' default scan as baseline.

Negatives: the settings files of installed package data (by default this interpreter's library
directories, /usr/share and /etc) that the secrets handler reads. None holds a team's secret; some
hold test keys and documented sample tokens, which keysweep reports at low severity as package
data. Printed per detector: files with a finding, findings, and findings per 1,000 files read.
Positives: the planted secrets of tests/collectors/configs/corpus/secrets/planted (recall).
Files over 256 KiB are left out (detect-secrets needs minutes for some of them); the baseline runs
on every 20th file (it takes about a second per file), and keysweep on the same sample beside it.
Usage: python bench/bench_secrets_accuracy.py [ROOT ...]
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from scanner.collectors.configs import secrets
from scanner.collectors.package_data import package_data_reason

MAX_BYTES = 256 * 1024
SAMPLE_EVERY = 20
PLANTED = Path(__file__).resolve().parents[1] / "tests/collectors/configs/corpus/secrets/planted"


def settings_files(roots: list[str]) -> list[Path]:
    handler = secrets.SecretsHandler()
    found = []
    for root in roots:
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".git", "node_modules")]
            for name in filenames:
                path = Path(directory, name)
                try:
                    # detect-secrets takes minutes on multi-megabyte JSON schemas: both read the same set
                    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
                        continue
                    with path.open("rb") as handle:
                        head = handle.read(4096)
                except OSError:
                    continue
                if handler.sniff(path, head) and secrets._NAME_HINTS.search(name):
                    found.append(path)
    return found


def keysweep(paths: list[Path]) -> tuple[int, int, int]:
    files = findings = outside_package_data = 0
    for path in paths:
        found = [c for c in secrets.candidates(path.read_bytes()) if not c.excluded]
        if found:
            files += 1
            findings += len({c.line for c in found})
            outside_package_data += 0 if package_data_reason(str(path)) else len({c.line for c in found})
    return files, findings, outside_package_data


def detect_secrets_default(paths: list[Path]) -> tuple[int, int]:
    collection = SecretsCollection()
    with default_settings():
        for path in paths:
            collection.scan_file(str(path))
    per_file = {name: len({s.line_number for s in found}) for name, found in collection.data.items() if found}
    return len(per_file), sum(per_file.values())


def main(argv: list[str]) -> None:
    roots = argv or ["/etc", "/usr/share", *sorted({sysconfig.get_paths()[k] for k in ("stdlib", "purelib")})]
    paths = settings_files(roots)
    print(f"roots: {' '.join(roots)}\nsettings files read: {len(paths)}")
    start = time.perf_counter()
    files, findings, deployed = keysweep(paths)
    took = time.perf_counter() - start
    print(f"keysweep:        {findings} findings in {files} files ({1000 * findings / len(paths):.1f} per 1,000 files)")
    print(f"  of which outside package data (reported high): {deployed}; time {took:.1f} s")
    # detect-secrets' default scan takes about a second per file: baseline and keysweep on one sample
    sample = paths[::SAMPLE_EVERY]
    start = time.perf_counter()
    ds_files, ds_findings = detect_secrets_default(sample)
    took = time.perf_counter() - start
    ks_files, ks_findings, _ = keysweep(sample)
    print(f"sample of every {SAMPLE_EVERY}th file: {len(sample)} files")
    print(f"  detect-secrets default scan (baseline): {ds_findings} findings in {ds_files} files ({took:.0f} s)")
    print(f"  keysweep: {ks_findings} findings in {ks_files} files")
    expected = {tuple(e) for e in json.loads((PLANTED / "expected.json").read_text())}
    planted = [p for p in PLANTED.iterdir() if p.name != "expected.json"]
    found = {(p.name, n, k) for p in planted for n, k, _ in secrets.detect(p.read_text())}
    print(f"recall on planted secrets: {len(found & expected)}/{len(expected)}; unexpected: {sorted(found - expected)}")


if __name__ == "__main__":
    main(sys.argv[1:])

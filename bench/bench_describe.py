"""Per-file CPU of the workers' step (sniff, parse, describe, encode) beside a bare cryptography loop.

Both read the same files, already in memory (the disk is not what is measured), in one run: the bare
loop loads every certificate of a file and reads its fingerprint, public key and subject (key files:
the private key's public half); keysweep's step is what a worker does for a file after reading it:
the handler dispatch (sniffs), the handler's parse and describe, and the file cache's encoding that
goes back to the parent. Each side runs in a fresh process (keysweep keeps descriptions of
certificates met before: a warm process would flatter it), the best of ``--repeat`` runs, as CPU time.

    .venv/bin/python bench/bench_describe.py [TREE] [--limit N] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TREE = "/tmp/benchfiles/files-20000"


def _files(tree: str, limit: int | None) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for root, dirs, names in os.walk(tree):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                found.append((path, handle.read()))
            if limit is not None and len(found) >= limit:
                return found
    return found


def _bare(files: list[tuple[str, bytes]]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    for _, data in files:
        if b"PRIVATE KEY" in data:
            serialization.load_pem_private_key(data, None, unsafe_skip_rsa_key_validation=True).public_key()
            continue
        for cert in x509.load_pem_x509_certificates(data):
            cert.fingerprint(hashes.SHA256())
            cert.public_key()
            cert.subject.rfc4514_string()


def _keysweep(files: list[tuple[str, bytes]], collector: Any) -> None:
    from scanner.collectors.base import CollectContext
    from scanner.collectors.files import cache

    context = CollectContext()
    for path, data in files:
        parsed = collector.parse_content(Path(path), data, context)
        if parsed is not None:
            cache.encode(parsed)


def _one(side: str, tree: str, limit: int | None, profile: bool) -> None:
    files = _files(tree, limit)
    run: Callable[[list[tuple[str, bytes]]], None] = _bare
    if side == "keysweep":  # imports and the handlers' loading are start-up, not per-file work
        from scanner.collectors.files.collector import FileCollector

        run = functools.partial(_keysweep, collector=FileCollector())
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(run, files)
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(45)
        return
    start = time.process_time()
    run(files)
    print(f"{time.process_time() - start:.6f} {len(files)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("tree", nargs="?", default=DEFAULT_TREE)
    parser.add_argument("--limit", type=int, default=None, help="only the first N files (walk order)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile keysweep's side once instead")
    parser.add_argument("--one", choices=("bare", "keysweep"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.profile:
        _one(args.one or "keysweep", args.tree, args.limit, args.profile)
        return
    best: dict[str, float] = {}
    count = 0
    for _ in range(args.repeat):
        for side in ("bare", "keysweep"):
            command = [sys.executable, __file__, args.tree, "--one", side]
            if args.limit is not None:
                command += ["--limit", str(args.limit)]
            seconds, files = subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()
            best[side] = min(best.get(side, float("inf")), float(seconds))
            count = int(files)
    print(f"{count} files from {args.tree}, best of {args.repeat} runs, CPU seconds (process_time)")
    for side in ("bare", "keysweep"):
        print(f"  {side:<9} {best[side]:8.3f} s  {best[side] / count * 1e6:8.1f} us per file")
    print(f"  ratio     {best['keysweep'] / best['bare']:8.2f}x")


if __name__ == "__main__":
    main()

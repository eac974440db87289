"""How much the config and secrets handlers add to a walk of many files.

Makes N files (source code, text, small binaries, a few PEM files and configs) in a temp dir and
times the file collector with only the crypto-material handlers (the baseline, measured in the
same run) and with every registered handler. Prints both and the overhead.
Usage: python bench/bench_config_sniff.py [N]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from scanner.collectors.base import CollectContext
from scanner.collectors.files.collector import FileCollector
from scanner.collectors.files.crypto_material import CryptoMaterialHandler
from scanner.collectors.files.java_keystore import JavaKeystoreHandler
from scanner.scan import path_targets

PY = "import os\n\n\ndef main(argv):\n    return len(argv)  # nothing secret here\n" * 20
TEXT = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 40
NGINX = "http {\n  server {\n    listen 443 ssl;\n    ssl_protocols TLSv1.2;\n  }\n}\n"


def make_tree(root: Path, n: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        folder = root / f"d{i // 500}"
        folder.mkdir(exist_ok=True)
        kind = i % 20
        if kind < 10:
            (folder / f"m{i}.py").write_text(PY)
        elif kind < 15:
            (folder / f"t{i}.txt").write_text(TEXT)
        elif kind < 18:
            (folder / f"b{i}.bin").write_bytes(rng.randbytes(2048))
        elif kind == 18:
            (folder / f"c{i}.yaml").write_text("name: app\nreplicas: 3\nimage: app:1.0\n" * 10)
        else:
            (folder / f"n{i}.conf").write_text(NGINX)


def timed(collector: FileCollector, root: Path) -> tuple[float, int]:
    start = time.perf_counter()
    count = sum(1 for _ in collector.collect(path_targets([root]), CollectContext()))
    return time.perf_counter() - start, count


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tree(root, n)
        os.sync()
        baseline = FileCollector([CryptoMaterialHandler(), JavaKeystoreHandler()])
        full = FileCollector()
        timed(full, root)  # warm the page cache and imports
        base_s, base_obs = min(timed(baseline, root) for _ in range(3))
        full_s, full_obs = min(timed(full, root) for _ in range(3))
        print(f"files: {n}")
        print(f"baseline (crypto, jks handlers): {base_s:.2f} s, {base_obs} observations")
        print(f"all handlers (+ configs, secrets): {full_s:.2f} s, {full_obs} observations")
        overhead = full_s - base_s
        print(f"overhead: {overhead:+.2f} s ({(full_s / base_s - 1) * 100:+.0f}%), {1e6 * overhead / n:.0f} us/file")


if __name__ == "__main__":
    main()

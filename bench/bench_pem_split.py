"""The PEM splitter against the regular expression it replaced, on repeated BEGIN lines.

The old expression (``BEGIN (label) ... END \\1`` with a lazy body) rescanned the rest of the file
for each BEGIN without an END: quadratic. Prints both at growing sizes, measured in the same run;
the baseline stops once it passes a few seconds.
Usage: python bench/bench_pem_split.py [MAX_KIB]
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable

from scanner.collectors.files import pem

OLD_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
LINE = b"-----BEGIN X-----\n"


def timed(action: Callable[[bytes], object], data: bytes) -> float:
    start = time.perf_counter()
    action(data)
    return time.perf_counter() - start


def old_split(data: bytes) -> object:
    return list(OLD_BLOCK.finditer(data))


def main() -> None:
    max_kib = int(sys.argv[1]) if len(sys.argv) > 1 else 10 * 1024
    print(f"{'size':>10}  {'old regex':>10}  {'splitter':>10}")
    size, baseline_alive = 83, True
    while size <= max_kib:
        data = LINE * (size * 1024 // len(LINE))
        new = timed(pem.split, data)
        old = timed(old_split, data) if baseline_alive else None
        baseline_alive = old is not None and old < 3.0
        shown = "-" if old is None else f"{old:.3f}s"
        print(f"{size:>8} K  {shown:>10}  {new:>9.3f}s")
        size *= 2


if __name__ == "__main__":
    main()

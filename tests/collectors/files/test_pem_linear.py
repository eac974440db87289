"""Issue 18 item 3: the PEM splitter's cost is linear in its input, on the inputs that made the old
regular expression quadratic (27 of 33 fuzzing hangs). Each case is timed at n and 4n bytes in the
same run (best of five, alternating, so a loaded machine does not decide it); linear growth multiplies the time
by 4, quadratic growth by 16, and the bound sits between the two (at 2x a cache or allocator step on a loaded
machine once measured x3.4 for a linear case, too close to a bound of 3.2)."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext
from scanner.collectors.files import pem
from scanner.collectors.files.crypto_material import CryptoMaterialHandler
from scanner.collectors.files.handler import FileSource
from tests.support import pki

SIZE = 256 * 1024  # the smaller input; the old regex needed about 8 s at this size, 2 min at 4x
FACTOR = 4
MAX_RATIO = 8.0


def _repeat(unit: bytes, size: int) -> bytes:
    return unit * (size // len(unit))


def _distinct_labels(size: int) -> bytes:
    out, n, total = [], 0, 0
    while total < size:
        line = b"-----BEGIN LABEL %d-----\n" % n
        out.append(line)
        total += len(line)
        n += 1
    return b"".join(out)


CASES: dict[str, Callable[[int], bytes]] = {
    "repeated BEGIN lines": lambda n: _repeat(b"-----BEGIN X-----\n", n),
    "distinct labels, no END": _distinct_labels,
    "one BEGIN, many other ENDs": lambda n: b"-----BEGIN A-----\n" + _repeat(b"-----END B-----\n", n),
    "BEGIN prefixes without a label": lambda n: _repeat(b"-----BEGIN ", n),
    "spaces before markers": lambda n: _repeat(b" " * 60 + b"-----BEGIN X-----", n),
    "real certificates": lambda n: _repeat(pki.pem(pki.certificate(pki.ec_key(), "linear.example")), n),
}


def _growth(small: Callable[[], object], large: Callable[[], object]) -> tuple[float, float, float]:
    """Best times of the two, measured alternately (a load spike hits both), with the collector off."""
    best_small = best_large = float("inf")
    start = time.perf_counter()
    small()
    # fast cases are repeated until a measurement lasts about 50 ms, above the timer's noise
    repeats = max(1, math.ceil(0.05 / max(time.perf_counter() - start, 1e-6)))
    gc.disable()
    try:
        for _ in range(5):
            for action, is_small in ((small, True), (large, False)):
                start = time.perf_counter()
                for _ in range(repeats):
                    action()
                elapsed = (time.perf_counter() - start) / repeats
                if is_small:
                    best_small = min(best_small, elapsed)
                else:
                    best_large = min(best_large, elapsed)
    finally:
        gc.enable()
    return best_small, best_large, best_large / max(best_small, 1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_cost_grows_linearly(case: str) -> None:
    small, large = CASES[case](SIZE), CASES[case](FACTOR * SIZE)
    t_small, t_large, ratio = _growth(lambda: pem.split(small), lambda: pem.split(large))
    print(f"{case}: {len(small)} B {t_small * 1000:.1f} ms, {len(large)} B {t_large * 1000:.1f} ms, x{ratio:.2f}")
    assert ratio < MAX_RATIO, f"{case}: quadrupling the input multiplied the time by {ratio:.2f}"


def test_whole_handler_on_repeated_begin_lines(tmp_path: Path) -> None:
    """The handler around the splitter (sniff, truncation count) is linear too, and says what it found."""
    handler = CryptoMaterialHandler()

    def parse(data: bytes) -> object:
        source = FileSource(tmp_path / "hostile.pem", data)
        assert handler.sniff(source.path, data[:4096])
        return handler.parse(source, CollectContext())

    small, large = _repeat(b"-----BEGIN X-----\n", SIZE), _repeat(b"-----BEGIN X-----\n", FACTOR * SIZE)
    *_, ratio = _growth(lambda: parse(small), lambda: parse(large))
    assert ratio < MAX_RATIO
    parsed = handler.parse(FileSource(tmp_path / "hostile.pem", small), CollectContext())
    [error] = parsed.observations
    assert f"{SIZE // 18} PEM blocks are truncated" in error.message  # type: ignore[union-attr]


def test_split_finds_the_blocks_a_reader_sees() -> None:
    cert = pki.pem(pki.certificate(pki.ec_key(), "split.example"))
    data = (
        b"text before\n  " + cert + b'quoted: "-----BEGIN CERTIFICATE-----" is not a block\n'
        b"-----BEGIN X9.42 DH PARAMETERS-----\nAAAA\n-----END X9.42 DH PARAMETERS-----\n"
        b"-----BEGIN PRIVATE KEY-----\nno end\n"
    )
    split = pem.split(data)
    assert [b.label for b in split.blocks] == ["CERTIFICATE", "X9.42 DH PARAMETERS"]
    assert split.blocks[0].text(data) == cert.rstrip(b"\n")
    assert split.truncated == ("PRIVATE KEY",)

"""Forked helper processes that never outlive the process that forked them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from typing import Final

_PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h


def die_with(parent: int) -> None:
    """A forked helper never outlives its scanning process, however that ends.

    A pool is closed from a generator's ``with`` block, which an interrupt arriving outside the
    generator leaves to the generator's finalisation, and interpreter exit does not always get to
    that: orphaned helpers then wait for ever (one blocked writing answers nobody reads), holding
    the scan's stdout open. On Linux the kernel kills a helper whose parent is gone
    (PR_SET_PDEATHSIG); the check after it covers a parent gone before the request took effect.
    """
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the caller's own shutdown only
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

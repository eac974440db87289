"""Whether this process ends when its command returns: keysweep run as a program (``scanner.cli.run``),
not :func:`scanner.cli.main` called by a test or another program, whose process goes on."""

from __future__ import annotations

_ends_with_command = False


def end_with_command() -> None:
    """Said by ``scanner.cli.run`` before it runs the command."""
    global _ends_with_command
    _ends_with_command = True


def ends_with_command() -> bool:
    """True when nothing runs after the command but the way out: what a command would restore for a
    caller that goes on (the garbage collector it turned off) need not be restored."""
    return _ends_with_command

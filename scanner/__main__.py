"""``python -m scanner`` is the keysweep command (the demo runs its scan this way)."""

from scanner.cli import run

run()

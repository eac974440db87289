"""Secrets (PINs, passwords) travel wrapped, so that no repr, log line or traceback shows them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SecretError(ValueError):
    """A secret could not be read; the message names the source, never the value."""


@dataclass(frozen=True, slots=True)
class Secret:
    _value: bytes

    def reveal(self) -> bytes:
        return self._value

    def reveal_str(self) -> str:
        return self._value.decode("utf-8")

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__


def secret_from_env(variable: str) -> Secret | None:
    value = os.environ.get(variable)
    return None if value is None else Secret(value.encode("utf-8"))


def secret_from_file(path: Path) -> Secret:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from None
    # a trailing newline is how editors and `echo` write such files; it is not part of the secret
    return Secret(raw.rstrip(b"\r\n"))

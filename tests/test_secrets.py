"""Secrets (passwords, PINs) never show their value."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.secrets import Secret, SecretError, secret_from_file


def test_secrets_never_show_their_value(tmp_path: Path) -> None:
    secret = Secret(b"hunter2-very-secret")
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    path = tmp_path / "pin"
    path.write_text("1234-pin\n")
    assert secret_from_file(path).reveal() == b"1234-pin"
    with pytest.raises(SecretError) as raised:
        secret_from_file(tmp_path / "missing")
    assert "missing" in str(raised.value)

"""Real SoftHSM2 tokens for tests: initialised in a temporary directory, keys made on the token.

Keys are created by a child process (python-pkcs11 in a read-write session), because a PKCS#11
library is initialised once per process and SoftHSM reads SOFTHSM2_CONF only then: tests in one
pytest worker would otherwise all see the first test's token directory.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)


def find_module() -> str | None:
    """The SoftHSM2 PKCS#11 module: $SOFTHSM2_MODULE, the distributions' places, or a glob."""
    explicit = os.environ.get("SOFTHSM2_MODULE")
    if explicit and Path(explicit).is_file():
        return explicit
    for candidate in _CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = sorted(glob.glob("/usr/lib*/**/libsofthsm2.so", recursive=True))
    return found[0] if found else None


@dataclass(frozen=True)
class SoftToken:
    module: str
    conf: Path
    label: str
    pin: str
    serial: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def run(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create keys (see _make_keys.py for the spec); returns each key's public SPKI (hex)."""
        request = {"module": self.module, "label": self.label, "pin": self.pin, "keys": keys}
        done = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("_make_keys.py"))],
            input=json.dumps(request).encode(),
            capture_output=True,
            env=self.env(),
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"making keys failed: {done.stderr.decode(errors='replace')[-2000:]}")
        result: list[dict[str, Any]] = json.loads(done.stdout)
        return result


def init_token(directory: Path, label: str, pin: str, so_pin: str = "so-pin-1234") -> SoftToken:
    module = find_module()
    if module is None or shutil.which("softhsm2-util") is None:
        raise RuntimeError("SoftHSM2 is not installed (scripts/bootstrap.sh installs the softhsm2 package)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", pin],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    shown = subprocess.run(
        ["softhsm2-util", "--show-slots"], env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    serial = ""
    for block in shown.split("\nSlot ")[1:]:  # Serial number comes before Label within a slot
        fields = dict((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in block.splitlines()) if v)
        if fields.get("Label") == label:
            serial = fields.get("Serial number", "")
    return SoftToken(module, conf, label, pin, serial)

"""Ed25519 signing keys for bundles: made by ``keysweep keygen``, trusted by the central host.

A host's private key must be readable by its owner only (0600), as ssh insists for its keys. The
public key is a PEM SubjectPublicKeyInfo file (an OpenSSH ``ssh-ed25519`` line is accepted too);
its id is the SHA-256 of the raw 32-byte key, so the same key has the same id in either form.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ID_PREFIX = "ed25519:"


class SigningKeyError(ValueError):
    """A key file cannot be used; the message names it (never its content)."""


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_ID_PREFIX + hashlib.sha256(raw).hexdigest()


def generate(private_path: Path) -> tuple[Path, str]:
    """A new key pair: the private key at ``private_path`` (0600, never overwritten), the public
    key beside it with ``.pub`` added. Returns the public key's path and the key id."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_path = private_path.with_name(private_path.name + ".pub")
    if public_path.exists():
        raise SigningKeyError(f"{public_path} exists already; keysweep never overwrites a key")
    try:
        # O_EXCL: an existing key is never replaced; 0600 from the start, never briefly readable
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{private_path} exists already; keysweep never overwrites a key") from None
    except OSError as exc:
        raise SigningKeyError(f"cannot create {private_path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key()
    public_path.write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return public_path, key_id(public)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The host's private key; refused unless only its owner can read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise SigningKeyError(f"signing key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SigningKeyError(f"signing key {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SigningKeyError(
                f"signing key {path} is accessible by group or others (mode {stat.S_IMODE(info.st_mode):04o});"
                " it must be 0600: chmod 600 it"
            )
        data = handle.read(64 * 1024)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError(f"signing key {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"signing key {path} is not an Ed25519 key (make one with `keysweep keygen`)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    key: object
    try:
        if data.lstrip().startswith(b"ssh-ed25519"):
            key = serialization.load_ssh_public_key(data.strip())
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{path} is not a PEM or OpenSSH public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    keys: dict[str, Ed25519PublicKey]
    problems: tuple[str, ...]  # files in the directory that are not usable keys, named


def load_trusted_keys(directory: Path) -> TrustedKeys:
    """Every Ed25519 public key in ``directory``; other files are named as problems and skipped."""
    if not directory.is_dir():
        raise SigningKeyError(f"trusted keys directory {directory} does not exist or is not a directory")
    keys: dict[str, Ed25519PublicKey] = {}
    problems: list[str] = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            public = load_public_key(path)
        except (SigningKeyError, OSError) as exc:
            problems.append(str(exc))
            continue
        keys[key_id(public)] = public
    return TrustedKeys(keys, tuple(problems))

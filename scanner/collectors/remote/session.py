"""One SSH login to a remote host for an agentless sweep: strict host keys, key auth, bounded in time.

The handlers that read the files are synchronous; the SSH library (asyncssh) is not. A ``Session``
owns one event loop and runs each SFTP request to completion on it, within --timeout. A request
that times out leaves the connection in an unknown state: the session is then broken, every later
request fails at once with the same error, and so a stalled host costs one timeout, not one per file.
"""

from __future__ import annotations

import asyncio
import errno
import getpass
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from scanner.secrets import Secret
from scanner.targets import RemoteSpec

T = TypeVar("T")


class RemoteError(Exception):
    """A host that cannot be swept: the message names the host and the reason, never a secret."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """How to log in: --ssh-identity (with its passphrase) or, without one, the ssh-agent."""

    identity: Path | None = None
    passphrase: Secret | None = None
    known_hosts: Path | None = None  # default ~/.ssh/known_hosts


def default_known_hosts() -> Path:
    return Path("~/.ssh/known_hosts").expanduser()


class _StrictClient(asyncssh.SSHClient):
    """Called by asyncssh only for a host key (or host CA) that known_hosts does not hold: refused,
    and kept so that the error can name its fingerprint."""

    def __init__(self) -> None:
        self.refused: Any = None
        self.refused_ca = False

    def validate_host_public_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        self.refused = key
        return False

    def validate_host_ca_key(self, host: str, addr: str, port: int, key: Any) -> bool:
        self.refused, self.refused_ca = key, True
        return False


def _fingerprint(key: Any) -> str:
    return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"


class Session:
    """A logged-in SFTP session; ``run`` drives one request to completion within the timeout."""

    def __init__(self, spec: RemoteSpec, timeout: float) -> None:
        self.spec = spec
        self.timeout = timeout
        self.broken: str | None = None
        self._loop = asyncio.new_event_loop()
        self._conn: asyncssh.SSHClientConnection | None = None
        self.sftp: asyncssh.SFTPClient | None = None

    def run(self, coro: Awaitable[T], what: str) -> T:
        if self.broken is not None:
            if asyncio.iscoroutine(coro):
                coro.close()
            raise OSError(errno.ETIMEDOUT, self.broken)
        task = asyncio.ensure_future(coro, loop=self._loop)
        # not wait_for: cancelling a request runs its clean-up (closing a remote file), which waits on
        # the very server that stalled; the connection is dropped first, so every wait ends
        self._loop.run_until_complete(asyncio.wait({task}, timeout=self.timeout))
        if task.done():
            return task.result()
        self.broken = f"no answer within {self.timeout:g} s (--timeout) while {what}; the rest of this host skipped"
        if self._conn is not None:
            self._conn.abort()
        task.cancel()
        self._loop.run_until_complete(asyncio.wait({task}, timeout=1.0))
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the loss is reported once, as the timeout
        raise OSError(errno.ETIMEDOUT, self.broken)

    def open(self, credentials: Credentials) -> None:
        """Connect, check the host key against known_hosts, log in, start SFTP; RemoteError if not."""
        known_hosts = credentials.known_hosts or default_known_hosts()
        if not known_hosts.is_file():
            raise RemoteError(
                f"known_hosts file {known_hosts} cannot be read: no host key can be checked, so the host is refused"
                " (--ssh-known-hosts FILE)"
            )
        client = _StrictClient()
        options: dict[str, Any] = {
            "username": self.spec.user or getpass.getuser(),
            "known_hosts": str(known_hosts),
            "config": None,  # what keysweep checks is what its options say, not ~/.ssh/config
            "password_auth": False,
            "kbdint_auth": False,
            "connect_timeout": self.timeout,
            "login_timeout": self.timeout,
        }
        if credentials.identity is not None:
            options["client_keys"] = [_identity(credentials)]
            options["agent_path"] = None
        try:
            self._conn, _ = self.run(
                asyncssh.create_connection(lambda: client, self.spec.host, self.spec.port, **options),
                "connecting and logging in",
            )
            self.sftp = self.run(self._conn.start_sftp_client(), "starting SFTP")
        except asyncssh.HostKeyNotVerifiable:
            what = "host CA key" if client.refused_ca else "host key"
            shown = f" ({_fingerprint(client.refused)})" if client.refused is not None else ""
            raise RemoteError(
                f"{what}{shown} of {self.spec.endpoint} is not in {known_hosts} (unknown or changed):"
                " refused, nothing read"
            ) from None
        except asyncssh.PermissionDenied:
            how = f"identity {credentials.identity}" if credentials.identity else "the ssh-agent or default keys"
            raise RemoteError(f"login as {options['username']} refused with {how}") from None
        except asyncssh.ChannelOpenError as exc:
            raise RemoteError(f"no SFTP subsystem: {exc.reason}") from None
        except asyncssh.Error as exc:
            raise RemoteError(f"SSH: {exc.reason}") from None
        except (OSError, asyncio.TimeoutError) as exc:  # one class on 3.11+, not an OSError on 3.10
            raise RemoteError(f"cannot connect: {getattr(exc, 'strerror', None) or exc or 'timed out'}") from None

    def exec(self, command: str) -> tuple[int | None, str, str]:
        """Runs one command (only with --remote-exec): its exit status, output and error output."""
        if self._conn is None:
            raise RemoteError("not connected")
        result = self.run(self._conn.run(command, check=False, stdin=asyncssh.DEVNULL), f"running {command!r}")
        out = result.stdout if isinstance(result.stdout, str) else ""
        err = result.stderr if isinstance(result.stderr, str) else ""
        return result.exit_status, out, err

    def close(self) -> None:
        try:
            if self.sftp is not None:
                self.sftp.exit()
            if self._conn is not None:
                self._conn.close()
                if self.broken is None:
                    self._loop.run_until_complete(asyncio.wait_for(self._conn.wait_closed(), self.timeout))
        except (TimeoutError, asyncio.TimeoutError, OSError, asyncssh.Error):  # two classes on 3.10
            pass  # closing what is already lost
        finally:
            self._loop.close()


def _identity(credentials: Credentials) -> asyncssh.SSHKey:
    assert credentials.identity is not None
    passphrase = credentials.passphrase.reveal_str() if credentials.passphrase is not None else None
    try:
        return asyncssh.read_private_key(str(credentials.identity), passphrase)
    except asyncssh.KeyEncryptionError:
        # the library's text is generic; never the passphrase itself
        given = "KEYSWEEP_SSH_PASSPHRASE or --ssh-passphrase-file"
        reason = "is encrypted and no passphrase was given" if passphrase is None else "wrong passphrase"
        raise RemoteError(f"identity {credentials.identity}: {reason} ({given})") from None
    except (OSError, asyncssh.KeyImportError) as exc:
        if passphrase is None and "assphrase" in str(exc):
            raise RemoteError(
                f"identity {credentials.identity}: is encrypted and no passphrase was given"
                " (KEYSWEEP_SSH_PASSPHRASE or --ssh-passphrase-file)"
            ) from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a private key asyncssh reads"
        raise RemoteError(f"identity {credentials.identity}: {reason}") from None


def sftp_oserror(exc: asyncssh.SFTPError, path: str) -> OSError:
    """An SFTP status as the OSError the handlers expect from a filesystem."""
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        code = errno.ENOENT
    elif isinstance(exc, asyncssh.SFTPPermissionDenied):
        code = errno.EACCES
    else:
        code = errno.EIO
    return OSError(code, exc.reason or os.strerror(code), path)

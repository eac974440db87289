"""The broker connection of a distributed sweep: a Redis URL whose credentials never pass argv.

The URL comes from ``--broker`` (host, port, database: no password allowed there, since argv is
visible to every user of the machine) or from ``$KEYSWEEP_BROKER_URL``; the password from
``$KEYSWEEP_BROKER_PASSWORD`` or ``--broker-password-file``. ``rediss://`` is TLS; a private CA
comes from ``$KEYSWEEP_BROKER_CA_FILE``.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from scanner.secrets import Secret, SecretError, secret_from_env, secret_from_file

URL_ENV = "KEYSWEEP_BROKER_URL"
PASSWORD_ENV = "KEYSWEEP_BROKER_PASSWORD"
CA_FILE_ENV = "KEYSWEEP_BROKER_CA_FILE"


class BrokerError(ValueError):
    """A broker setting that cannot be used; the message never contains the password."""


@dataclass(frozen=True, slots=True)
class Broker:
    url: str  # without credentials: safe to print
    password: Secret | None = None
    ca_file: str | None = None

    def connection_url(self) -> str:
        """The URL with the password, for the Redis client only."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user = quote(parts.username or "", safe="")
        netloc = f"{user}:{quote(self.password.reveal_str(), safe='')}@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def ssl_options(self) -> dict[str, Any] | None:
        if not self.url.startswith("rediss://"):
            return None
        options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        if self.ca_file:
            options["ssl_ca_certs"] = self.ca_file
        return options


def resolve_broker(url: str | None, password_file: Path | None = None) -> Broker:
    text = url or os.environ.get(URL_ENV)
    if not text:
        raise BrokerError(f"no broker: give --broker redis://HOST:PORT/DB or set ${URL_ENV}")
    parts = urlsplit(text)
    if parts.scheme not in ("redis", "rediss"):
        raise BrokerError(f"broker {parts.scheme}://… is not supported: use redis:// or rediss:// (TLS)")
    if parts.password is not None and url is not None:
        raise BrokerError(f"--broker must not carry a password (argv is visible to all): use ${PASSWORD_ENV}")
    try:
        password = secret_from_file(password_file) if password_file is not None else secret_from_env(PASSWORD_ENV)
    except SecretError as exc:
        raise BrokerError(str(exc)) from None
    if password is None and parts.password is not None:  # from $KEYSWEEP_BROKER_URL only
        password = Secret(parts.password.encode("utf-8"))
    netloc = parts.hostname or "localhost"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return Broker(clean, password, os.environ.get(CA_FILE_ENV))

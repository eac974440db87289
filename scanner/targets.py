"""Parsing of network targets: HOST[:PORT], [v6]:PORT, and CIDR ranges, from argv or a file."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TLS_PORT = 443
DEFAULT_SSH_PORT = 22
# a line of a targets file that starts with this is an SSH endpoint; any other line is TLS
SSH_SCHEME = "ssh://"
# a line of a targets file that starts with this is an agentless remote sweep (USER@HOST[:PORT]:PATH,...)
REMOTE_SCHEME = "remote:"
# a /16 is 65,536 endpoints: larger ranges are almost always a typo, and a scan of them hours long
MAX_CIDR_ADDRESSES = 65536
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$"
)

# all-numeric names are mistyped IPv4 addresses (999.1.1.1), never host names
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")


class TargetError(ValueError):
    """A target that cannot be parsed; the message names it."""


def _port(text: str, target: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise TargetError(f"invalid target {target!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def parse_endpoint(target: str, default_port: int = DEFAULT_TLS_PORT) -> list[tuple[str, int]]:
    """Expand one target into (host, port) pairs. CIDR ranges give every host address."""
    text = target.strip()
    if not text:
        raise TargetError(f"empty target {target!r}")
    if "://" in text:
        raise TargetError(f"invalid target {target!r}: give HOST[:PORT], not a URL")
    if any(c.isspace() for c in text):
        raise TargetError(f"invalid target {target!r}: contains white space")
    host, port = text, default_port
    bracketed = text.startswith("[")
    if bracketed:  # [::1]:443
        end = text.find("]")
        if end < 0:
            raise TargetError(f"invalid target {target!r}: unclosed '['")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise TargetError(f"invalid target {target!r}: expected ':PORT' after ']'")
            port = _port(rest[1:], target)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _port(port_text, target)
    if "/" in host:
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            raise TargetError(f"invalid target {target!r}: {host!r} is not a valid CIDR range") from None
        if network.num_addresses > MAX_CIDR_ADDRESSES:
            raise TargetError(f"invalid target {target!r}: range has more than {MAX_CIDR_ADDRESSES} addresses")
        hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
        return [(str(address), port) for address in hosts]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if bracketed:
            raise TargetError(f"invalid target {target!r}: {host!r} in brackets is not an IPv6 address") from None
        if _DOTTED_NUMBERS.match(host):
            raise TargetError(f"invalid target {target!r}: {host!r} is not a valid IP address") from None
        if not _HOSTNAME.match(host):
            raise TargetError(f"invalid target {target!r}: {host!r} is not a host name or IP address") from None
    return [(host, port)]


def format_endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def read_targets_file(path: Path) -> list[str]:
    """One target per line; '#' starts a comment; blank lines are skipped."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TargetError(f"cannot read targets file {path}: {exc}") from None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            if entry.startswith(SSH_SCHEME):
                parse_endpoint(entry[len(SSH_SCHEME) :], DEFAULT_SSH_PORT)
            elif entry.startswith(REMOTE_SCHEME):
                parse_remote(entry[len(REMOTE_SCHEME) :])
            else:
                parse_endpoint(entry)
        except TargetError as exc:
            raise TargetError(f"{path}:{number}: {exc}") from None
        out.append(entry)
    if not out:
        raise TargetError(f"{path}: no targets in the file (only blank lines and comments)")
    return out


def _split(entries: Iterable[str], prefix: str) -> tuple[list[str], list[str]]:
    """(entries without the prefix, entries with it, the prefix removed), each in file order."""
    others, prefixed = [], []
    for entry in entries:
        if entry.startswith(prefix):
            prefixed.append(entry[len(prefix) :])
        else:
            others.append(entry)
    return others, prefixed


def split_remote(entries: Iterable[str]) -> tuple[list[str], list[str]]:
    """(other entries, remote sweeps) of a targets file, the remote: prefix removed."""
    return _split(entries, REMOTE_SCHEME)


def split_schemes(entries: Iterable[str]) -> tuple[list[str], list[str]]:
    """(TLS entries, SSH entries) of a targets file, the ssh:// prefix removed."""
    return _split(entries, SSH_SCHEME)


def expand(targets: Iterable[str], default_port: int = DEFAULT_TLS_PORT) -> Iterator[str]:
    seen: set[str] = set()
    for target in targets:
        for host, port in parse_endpoint(target, default_port):
            endpoint = format_endpoint(host, port)
            if endpoint not in seen:
                seen.add(endpoint)
                yield endpoint


@dataclass(frozen=True, slots=True)
class RemoteSpec:
    """``[USER@]HOST[:PORT]:PATH[,PATH...]``: the paths of one host swept over SFTP."""

    user: str | None
    host: str
    port: int
    paths: tuple[str, ...]

    @property
    def endpoint(self) -> str:
        return format_endpoint(self.host, self.port)


def parse_remote(target: str) -> RemoteSpec:
    """One --remote value; paths are absolute (a path relative to a login directory is ambiguous)."""
    text = target.strip()
    user: str | None = None
    if "@" in text.split(":", 1)[0].split("[", 1)[0]:
        user, text = text.split("@", 1)
        if not user or any(c.isspace() or c in ":/" for c in user):
            raise TargetError(f"invalid remote target {target!r}: {user!r} is not a user name")
    if text.startswith("["):  # [::1]:2222:/etc/ssl
        end = text.find("]")
        if end < 0:
            raise TargetError(f"invalid remote target {target!r}: unclosed '['")
        host_part, rest = text[: end + 1], text[end + 1 :]
        if not rest.startswith(":"):
            raise TargetError(f"invalid remote target {target!r}: expected ':PATH' after ']'")
        rest = rest[1:]
    else:
        host_part, sep, rest = text.partition(":")
        if not sep:
            raise TargetError(f"invalid remote target {target!r}: expected [USER@]HOST[:PORT]:PATH[,PATH...]")
    port_text, sep, paths_text = rest.partition(":")
    if sep and port_text.isascii() and port_text.isdigit():
        endpoint = f"{host_part}:{port_text}"
    else:
        endpoint, paths_text = host_part, rest
    try:
        pairs = parse_endpoint(endpoint, DEFAULT_SSH_PORT)
    except TargetError as exc:  # said of the whole --remote value, not of its host part
        raise TargetError(f"invalid remote target {target!r}: {str(exc).split(': ', 1)[-1]}") from None
    if len(pairs) != 1 or "/" in host_part:
        raise TargetError(f"invalid remote target {target!r}: one host, not a range")
    paths = tuple(p.strip() for p in paths_text.split(",") if p.strip())
    if not paths:
        raise TargetError(f"invalid remote target {target!r}: no path to sweep")
    relative = [p for p in paths if not p.startswith("/")]
    if relative:
        raise TargetError(f"invalid remote target {target!r}: {relative[0]!r} is not an absolute path")
    host, port = pairs[0]
    return RemoteSpec(user, host, port, paths)


def target_host(kind: str, value: str) -> str:
    """The host a network target of any kind reaches (for routing to a zone and for scopes)."""
    if kind == "remote":
        return parse_remote(value).host
    return parse_endpoint(value)[0][0]

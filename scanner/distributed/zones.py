"""Network zones: which queue (and so which scan workers) a target goes to.

``zones.toml`` holds ``[[zones]]`` tables, each with a ``name`` and any of ``cidrs`` (address
ranges), ``hosts`` (host-name globs) and ``targets_sections`` (section names of a targets file).
The first zone that matches wins; everything else goes to ``default`` (or the file's
``default_zone``). A zone is a Celery queue ``keysweep.<zone>``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from scanner import tomlfile

DEFAULT_ZONE = "default"
_ZONE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ZoneError(ValueError):
    """A zones file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Zone:
    name: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    host_globs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ZoneMap:
    zones: tuple[Zone, ...] = ()
    default: str = DEFAULT_ZONE

    def zone_of(self, host: str) -> str:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        for zone in self.zones:
            if address is not None and any(address in network for network in zone.networks):
                return zone.name
            if any(fnmatch.fnmatchcase(host.lower(), glob.lower()) for glob in zone.host_globs):
                return zone.name
        return self.default

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([*(z.name for z in self.zones), self.default]))


def queue_name(zone: str) -> str:
    return f"keysweep.{zone}"


def check_zone_name(name: str, where: str) -> str:
    if not _ZONE_NAME.match(name):
        raise ZoneError(f"{where}: zone name {name!r} must be letters, digits, '.', '_' or '-'")
    return name


def load_zones(path: Path) -> ZoneMap:
    _, data = tomlfile.read(path, "zones file", ZoneError)
    zones = []
    for number, raw in enumerate(data.get("zones", []), start=1):
        where = f"{path}: zone {number}"
        if not isinstance(raw, dict) or "name" not in raw:
            raise ZoneError(f"{where}: every [[zones]] table needs a name")
        unknown = set(raw) - {"name", "cidrs", "hosts"}
        if unknown:
            raise ZoneError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} (known: name, cidrs, hosts)")
        try:
            networks = tuple(ipaddress.ip_network(str(c), strict=False) for c in raw.get("cidrs", []))
        except ValueError as exc:
            raise ZoneError(f"{where}: {exc}") from None
        zones.append(Zone(check_zone_name(str(raw["name"]), where), networks, tuple(map(str, raw.get("hosts", [])))))
    default = check_zone_name(str(data.get("default_zone", DEFAULT_ZONE)), f"{path}: default_zone")
    return ZoneMap(tuple(zones), default)

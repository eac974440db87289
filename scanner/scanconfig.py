"""Saved scan definitions (``keysweep scan --config scan.toml``) for scheduled scans.

A scan.toml names targets, policies, outputs and the store; options given on the command line
win over the file. Relative paths are relative to the file; ``{date}`` and ``{time}`` in an output
path become the scan's UTC date (YYYY-MM-DD) and time (HHMMSS), so that a timer keeps one report
per run. Unknown tables or keys fail loudly, naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from scanner import tomlfile
from scanner.compat import UTC, parse_iso_datetime
from scanner.inventory.model import Severity


class ConfigError(ValueError):
    """A scan definition that cannot be used; the message names the file and the key."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: expected a positive number")
    return float(value)


# table -> key -> (the scan command's parameter name, kind of value)
_KEYS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "targets": {
        # a missing path is an error entry in the report, never the end of a scheduled scan
        "paths": ("paths", "paths"),
        "tls": ("tls_targets", "strings"),
        "targets_file": ("targets_file", "path"),
        "pkcs11_modules": ("pkcs11_modules", "paths"),
        "pkcs11_token": ("pkcs11_token", "string"),
        "pkcs11_pin_env": ("pkcs11_pin_env", "string"),
        "pkcs11_pin_file": ("pkcs11_pin_file", "path"),
        "password_envs": ("password_envs", "strings"),
        "password_files": ("password_files", "paths"),
        "imports": ("imports", "existing-paths"),
        # KIND:VALUE for a plugin collector, as --target
        "other": ("generic_targets", "strings"),
        # agentless sweeps over SFTP, as --remote USER@HOST[:PORT]:PATH[,PATH...]; secrets only by file
        "remote": ("remote_targets", "strings"),
        "ssh_identity": ("ssh_identity", "path"),
        "ssh_passphrase_file": ("ssh_passphrase_file", "path"),
        "ssh_known_hosts": ("ssh_known_hosts", "path"),
        "remote_exec": ("remote_exec", "bool"),
    },
    "policy": {
        "policies": ("policies", "strings"),
        "rules": ("rules_dirs", "paths"),
        "as_of": ("as_of", "date"),
        "waivers": ("waivers_file", "path"),
        "fail_on": ("fail_on", "severity"),
        "systems": ("systems_file", "path"),
    },
    "scan": {
        "timeout": ("timeout", "number"),
        "concurrency": ("concurrency", "int"),
        "workers": ("file_workers", "int"),
        "tls_deadline": ("tls_deadline", "number"),
        "tls_enumeration": ("tls_enumeration", "string"),
        "ca_file": ("ca_files", "existing-paths"),
        "ca_path": ("ca_paths", "existing-paths"),
        "scope": ("scope", "string"),
    },
    "outputs": {
        **{
            name: (f"out_{name}", "output")
            for name in ("json", "html", "cbom", "sarif", "csv", "m2302", "oscal_ar", "oscal_poam", "compliance_csv")
        },
        "cbom_version": ("cbom_version", "string"),
        "sarif_root": ("sarif_root", "path"),
        # any installed reporter, as --format NAME=PATH (e.g. "jsonl=/var/log/keysweep/findings.jsonl")
        "formats": ("formats", "format-outputs"),
        # a signed bundle for `keysweep ingest` ({date} and {time} as for the reports)
        "bundle": ("bundle", "output"),
        "signing_key": ("signing_key", "path"),
    },
    "store": {
        "path": ("store", "path"),
        "url": ("store", "string"),  # postgresql://user@host/db: never resolved as a path
        "enabled": ("no_store", "negated-bool"),
    },
}


def load_scan_config(path: Path, now: datetime | None = None) -> dict[str, Any]:
    """The scan command's parameter values that the file sets."""
    _, data = tomlfile.read(path, "scan definition", ConfigError)
    base = path.absolute().parent
    moment = now or datetime.now(UTC)

    def output_path(text: str) -> str:
        return text.replace("{date}", moment.strftime("%Y-%m-%d")).replace("{time}", moment.strftime("%H%M%S"))

    def resolve(text: str) -> Path:
        candidate = Path(text).expanduser()
        return candidate if candidate.is_absolute() else base / candidate

    converters: dict[str, Callable[[Any, str], Any]] = {
        "strings": _strings,
        "string": _string,
        "number": _number,
        "path": lambda v, w: resolve(_string(v, w)),
        "paths": lambda v, w: tuple(resolve(s) for s in _strings(v, w)),
        # inputs the scan cannot do without (CA files, imported reports): missing is a usage error up front
        "existing-paths": _existing_paths(resolve),
        "output": lambda v, w: resolve(output_path(_string(v, w))),
        "format-outputs": lambda v, w: tuple(_format_output(s, resolve, output_path) for s in _strings(v, w)),
        "date": _date,
        "severity": _severity,
        "int": _int,
        "negated-bool": _negated_bool,
        "bool": lambda v, w: not _negated_bool(v, w),
    }
    values: dict[str, Any] = {}
    for table, entries in data.items():
        known = _KEYS.get(table)
        if known is None or not isinstance(entries, dict):
            raise ConfigError(f"{path}: unknown table [{table}] (known: {', '.join(_KEYS)})")
        for key, value in entries.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown key {key!r} in [{table}] (known: {', '.join(known)})")
            param, kind = known[key]
            values[param] = converters[kind](value, f"{path}: [{table}] {key}")
    return values


def _existing_paths(resolve: Callable[[str], Path]) -> Callable[[Any, str], tuple[Path, ...]]:
    def convert(value: Any, where: str) -> tuple[Path, ...]:
        paths = tuple(resolve(s) for s in _strings(value, where))
        for p in paths:
            if not p.exists():
                raise ConfigError(f"{where}: {p} does not exist")
        return paths

    return convert


def _format_output(spec: str, resolve: Callable[[str], Path], expand: Callable[[str], str]) -> str:
    name, sep, target = spec.partition("=")
    if not sep or target == "-":
        return spec  # stdout
    return f"{name}={resolve(expand(target))}"


def _date(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):  # TOML's bare date
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = parse_iso_datetime(str(value))
        except ValueError:
            raise ConfigError(f"{where}: {value!r} is not a date (use YYYY-MM-DD)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _severity(value: Any, where: str) -> str:
    names = [s.value for s in Severity]
    if value not in names:
        raise ConfigError(f"{where}: expected one of {', '.join(names)}")
    return str(value)


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a positive whole number")
    return value


def _negated_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false")
    return not value

"""Entry-point discovery for every extension point: collectors, file handlers, checks, reporters,
commands.

Entry points are loaded lazily and only when needed, so that a file scan never imports the TLS
stack. A plugin that fails to load is reported and skipped, never fatal for the rest.
"""

from __future__ import annotations

import difflib
import logging
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

log = logging.getLogger(__name__)

COLLECTORS = "keysweep.collectors"
FILE_HANDLERS = "keysweep.file_handlers"
CHECKS = "keysweep.checks"
REPORTERS = "keysweep.reporters"
COMMANDS = "keysweep.commands"
STORES = "keysweep.stores"
IMPORTERS = "keysweep.importers"
# optional: a target kind -> the collector entry point that takes it, so that routing imports only
# the collectors a scan's targets need (a files-only scan never imports the TLS, SSH or PKCS#11 stack)
TARGET_KINDS = "keysweep.target_kinds"


class PluginError(RuntimeError):
    pass


@cache
def _entry_points() -> Any:
    """Every installed entry point (``EntryPoints`` from Python 3.12, ``SelectableGroups`` before:
    both select by group). Read once per process: each ``entry_points(group=...)`` reads every distribution's
    entry_points.txt again (~8 ms in a venv of 130 distributions, and a scan asks for 7 groups)."""
    return entry_points()


@cache
def _group(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    ep: EntryPoint
    for ep in _entry_points().select(group=group):
        # the first distribution to claim a name wins; later ones are reported, not silently merged
        if ep.name in found:
            log.warning("plugin %s in %s is defined twice; keeping %s", ep.name, group, found[ep.name].value)
            continue
        found[ep.name] = ep
    return found


def names(group: str) -> list[str]:
    return sorted(_group(group))


@cache
def load(group: str, name: str) -> Any:
    ep = _group(group).get(name)
    if ep is None:
        close = difflib.get_close_matches(name, names(group), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise PluginError(f"no {group} plugin named {name!r}{hint} (known: {', '.join(names(group)) or 'none'})")
    try:
        return ep.load()
    except Exception as exc:  # a broken third-party plugin must not take the scan down
        raise PluginError(f"plugin {name!r} in {group} failed to load: {type(exc).__name__}: {exc}") from exc


def load_all(group: str) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    for name in names(group):
        try:
            loaded[name] = load(group, name)
        except PluginError as exc:
            log.warning("%s", exc)
    return loaded


def declared_kinds(group: str, kinds_group: str) -> dict[str, frozenset[str]]:
    """For each plugin of ``group`` that declares its target kinds in ``kinds_group``, those kinds
    (read from the entry points alone, nothing imported). A kind entry names the plugin by name."""
    declared: dict[str, set[str]] = {}
    for kind, ep in _group(kinds_group).items():
        declared.setdefault(ep.value, set()).add(kind)
    return {name: frozenset(declared[name]) for name in names(group) if name in declared}

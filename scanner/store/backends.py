"""Open a store by URL: the scheme names the backend (entry-point group ``keysweep.stores``).

``postgresql://...`` is the central PostgreSQL store; ``sqlite:///path`` or a plain path is the
embedded SQLite file. A third party adds a backend with an entry point of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from scanner import plugins
from scanner.store.interface import Store, StoreError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
DEFAULT_SCHEME = "sqlite"


def scheme_of(url: str) -> str:
    match = _SCHEME.match(url)
    # "C:" would be a drive letter elsewhere; on POSIX a plain path has no scheme
    return match.group(1).lower() if match and len(match.group(1)) > 1 else DEFAULT_SCHEME


def open_store(url: str | Path, *, create: bool = True, read_only: bool = False, check_schema: bool = True) -> Store:
    """The store at ``url``; ``read_only`` opens it for reading only (works on read-only media);
    ``check_schema=False`` opens a store of an older schema (for ``store upgrade``)."""
    text = str(url)
    scheme = scheme_of(text)
    try:
        backend = plugins.load(plugins.STORES, scheme)
    except plugins.PluginError as exc:
        raise StoreError(f"no store backend for {scheme}: URLs: {exc}") from None
    store: Store = backend(text, create=create, read_only=read_only, check_schema=check_schema)
    return store


def is_local_file(url: str | Path) -> bool:
    return scheme_of(str(url)) == DEFAULT_SCHEME

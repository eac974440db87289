"""An unchanged sweep kept whole: a re-scan of a tree in which nothing changed restores the
inventory its files merged into, instead of decoding and merging every file's cached parse again.

The file cache (cache.py) spares an unchanged file its read and parse; what is left of a re-scan
is a decode and a merge per sighting of every asset (~80 us a file, 1.6 s of a 20,000-file
re-scan). When every input of the sweep is as the scan before found it, the merged inventory is
the same, so it is kept once, as plain JSON values in parts of 2,000 assets, each under a digest,
and restored part by part at one step per asset (~0.5 s; never the whole of it as one value in
memory: at 100,000 files a restoring scan peaks below a first scan, 582 against 647 MB).

Every input is compared, not sampled (the sweep's identity):
- what is scanned and how: the targets, the collect options, the parser version (the file cache's)
  and the scanning user and groups (what it may read);
- every path the walk meets and every directory it lists, with their lstat (and a link's stat):
  device, inode, mode, owner, group, size, mtime_ns, ctime_ns, and the real path a path stands for:
  a new, removed, renamed, changed or re-permissioned file or directory changes it;
- what else decides a file's facts: /etc/passwd and /etc/group (owner and group names), dpkg's
  status and listings (package data);
- the files and CA directories configurations name (outside the tree too), with their directories,
  as the kept sweep met them: checked again before it is restored.
The walk and the stats are done on every re-scan (~0.15 s for 20,000 files); only reading, parsing,
decoding and merging are spared. A sweep is kept only when the scan before found the same identity
(a tree that changes every night never pays for keeping it) and nothing in it changed within the
file cache's racy window. A kept sweep that does not match its digest, or cannot be read back, is
discarded with a warning and the tree is swept file by file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from scanner.collectors.base import CollectContext
from scanner.collectors.files import cache
from scanner.collectors.files.lasting import building_what_lasts
from scanner.collectors.package_data import DPKG_INFO, DPKG_STATUS
from scanner.inventory.graph import InventoryGraph
from scanner.secrets import Secret

log = logging.getLogger(__name__)

WHOLE_FORMAT: Final = 1
# options that change how a sweep runs, not what it finds
_HOW_ONLY: Final = frozenset({cache.OPTION, "file_workers"})
# besides the files: where owner and group names and package data come from
_ELSEWHERE: Final = ("/etc/passwd", "/etc/group", str(DPKG_STATUS), str(DPKG_INFO))


@dataclass(frozen=True, slots=True)
class Identity:
    """What some paths are now: a digest of their stats, and the newest mtime among them (the file
    cache's racy test: a ctime says nothing of what may change unseen within its tick)."""

    digest: bytes
    newest_ns: int


def identity(paths: Iterable[str], extra: object = None) -> Identity:
    """The lstat (and, for a link, the stat) of each path, in order, with ``extra``: one digest."""
    met: list[object] = [extra]
    newest = 0
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError as exc:
            met.append((path, exc.errno))
            continue
        met.append((path, *_stat_fields(info)))
        if not stat.S_ISDIR(info.st_mode):  # a listing is read anew every scan: never racy
            newest = max(newest, info.st_mtime_ns)
        if stat.S_ISLNK(info.st_mode):
            try:
                target = os.stat(path)
            except OSError as exc:  # dangling, a loop
                met.append(exc.errno)
                continue
            met.append(_stat_fields(target))
            if not stat.S_ISDIR(target.st_mode):
                newest = max(newest, target.st_mtime_ns)
    # repr: exact for every path (an undecodable name's surrogates too) and quick in C
    return Identity(hashlib.blake2b(repr(met).encode("utf-8", "surrogatepass")).digest(), newest)


def _stat_fields(info: os.stat_result) -> tuple[int, ...]:
    """The file cache's identity of a file, with who may read it (mode, owner, group)."""
    return (*cache.file_identity(info), info.st_mode, info.st_uid, info.st_gid)


def sweep_key(roots: Sequence[str], context: CollectContext, version: str) -> bytes | None:
    """What names a sweep in the cache: what is scanned (the targets' absolute paths: `--path .` from
    two directories is two sweeps), how, and by whom; None when an option holds a secret (a PIN's
    digest must not be stored: it is the PIN, a short one tried in a moment)."""
    options = sorted((name, value) for name, value in context.options.items() if name not in _HOW_ONLY)
    if any(isinstance(value, Secret) for _, value in options):
        return None
    user = (os.geteuid(), os.getegid(), sorted(os.getgroups()))
    named = (WHOLE_FORMAT, version, list(roots), repr(options), user)
    return hashlib.blake2b(repr(named).encode("utf-8", "surrogatepass")).digest()


def followed_paths(followed: Iterable[str]) -> list[str]:
    """The paths configurations named, each with its directory (its mode says who may reach it)."""
    paths: dict[str, None] = {}
    for path in followed:
        paths[path] = None
        paths[os.path.dirname(path)] = None
    return list(paths)


class KeptSweep:
    """One sweep's use of the kept whole sweep: restore it, or keep this one for the next scan."""

    def __init__(self, file_cache: cache.FileCache, key: bytes, walk: Identity) -> None:
        self._cache = file_cache
        self._key = key
        elsewhere = identity(_ELSEWHERE)
        self._walk = Identity(
            hashlib.blake2b(walk.digest + elsewhere.digest).digest(), max(walk.newest_ns, elsewhere.newest_ns)
        )
        kept = file_cache.sweep(key)
        # the scan before found this tree as it is now (and may have kept it)
        self.unchanged = False
        # what that scan could not open or list, and why (see FileCollector._failing_alike)
        self.failed: list[tuple[str, str]] = []
        if kept is not None and kept[0] == self._walk.digest:
            try:
                followed, digest, failed = cache.loads(kept[1])
                self.unchanged = identity(followed).digest.hex() == digest
                self.failed = [(str(path), str(reason)) for path, reason in failed]
            except (ValueError, TypeError):
                self.unchanged = False

    def restore(self, graph: InventoryGraph) -> bool:
        """The kept sweep into ``graph`` (empty); False when there is none to restore."""
        parts = self._cache.sweep_parts(self._key) if self.unchanged else None
        if parts is None:
            return False
        try:
            # part by part: the graph is built as they are read, never beside one value of it all
            with building_what_lasts():
                graph.restore(cache.loads(part) for part in parts)
        except cache.CorruptCache as exc:
            self._cache.damaged(str(exc))
            return False
        except ValueError as exc:
            log.warning("file cache %s: a kept sweep cannot be read (%s): swept file by file", self._cache.path, exc)
            return False
        log.info("file cache %s: nothing changed since the scan before; its inventory restored whole", self._cache.path)
        return True

    def keep(self, followed: Sequence[str], failed: Sequence[tuple[str, str]], graph: InventoryGraph | None) -> None:
        """This sweep's identity for the next scan, with its inventory when the tree was unchanged
        since the scan before (``graph``: what the sweep added to an empty graph; None: not known);
        ``failed``: what it could not open or list, and why, tried again before a restore."""
        paths = followed_paths(followed)
        named = identity(paths)
        newest = max(self._walk.newest_ns, named.newest_ns)
        parts = None
        if self.unchanged and graph is not None and not self._cache.racy(newest):
            parts = (cache.dumps(part) for part in graph.state())  # written as they are made
        seen = cache.dumps([paths, named.digest.hex(), [list(item) for item in failed]])
        self._cache.keep_sweep(self._key, self._walk.digest, seen, parts)

"""Who can read a file beyond its owner: its group, the group's members, and the directory's mode.

A private key readable by its group is not always exposed: Debian's ``ssl-cert`` convention keeps
keys in ``/etc/ssl/private`` (root:ssl-cert, mode 0710) as root:ssl-cert 0640, so that exactly the
services added to that group can read them. The key-permission check needs these facts to tell
that apart from a key any local user can read.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=256)
def _group(gid: int) -> tuple[str, tuple[str, ...]]:
    """(name, members): supplementary members and the users whose primary group it is."""
    try:
        entry = grp.getgrgid(gid)
    except KeyError:
        return str(gid), ()
    primary = tuple(user.pw_name for user in _users() if user.pw_gid == gid)
    return entry.gr_name, tuple(sorted({*entry.gr_mem, *primary}))


@lru_cache(maxsize=1)
def _users() -> tuple[pwd.struct_passwd, ...]:
    return tuple(pwd.getpwall())


def facts(path: str, info: os.stat_result) -> dict[str, Any]:
    """group, group_members, and the parent directory's mode and group (for a file readable by group)."""
    name, members = _group(info.st_gid)
    out: dict[str, Any] = {"group": name, "group_members": list(members)}
    try:
        parent = os.stat(os.path.dirname(path))
    except OSError:
        return out
    out["parent_mode"] = format(stat.S_IMODE(parent.st_mode), "04o")
    out["parent_group"] = _group(parent.st_gid)[0]
    return out

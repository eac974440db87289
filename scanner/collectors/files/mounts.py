"""The kernel's virtual filesystems that a walk does not enter: /proc, /sys and their kind.

They hold no file anyone put there: /proc holds a directory per process (whose links the kernel
refuses to read for other users' processes, even to root without ptrace rights), /sys a file per
device attribute, and an autofs mount point mounts a network share when entered. Walking them cost a
sweep of / thousands of errors that said nothing (7,365 of the 8,663 on this machine) and
read device attributes no scan should touch. updatedb's PRUNEFS leaves them out too.

Which they are is read from /proc/self/mountinfo: mount points, not names, so a /proc mounted in a
chroot is known, and a directory that only happens to be called ``proc`` is walked. A walk's root is
walked whatever it is (``--path /proc/1`` reads what it names); only mount points met below a root
are left out, and the sweep says which (``keysweep scan -v``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

# kernel filesystems with no stored content (or, autofs, whose entering mounts something)
VIRTUAL_TYPES = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devpts",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nfsd",
        "proc",
        "pstore",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "sysfs",
        "tracefs",
    }
)
MOUNTINFO = "/proc/self/mountinfo"
_ESCAPED = re.compile(rb"\\([0-7]{3})")  # the kernel writes space, tab, newline and backslash as \ooo


def _unescaped(field: bytes) -> str:
    return os.fsdecode(_ESCAPED.sub(lambda m: bytes([int(m.group(1), 8)]), field))


def virtual_mounts(mountinfo: bytes) -> dict[str, str]:
    """The mount points of virtual filesystems in a mountinfo table (proc(5)), with their types."""
    found: dict[str, str] = {}
    for line in mountinfo.splitlines():
        fields = line.split(b" ")
        try:
            # mount ID, parent ID, major:minor, root, mount point, options, optional fields..., "-", type, ...
            kind = fields[fields.index(b"-", 6) + 1].decode("ascii", "replace")
        except (ValueError, IndexError):
            continue  # not a line of the table
        if kind in VIRTUAL_TYPES:
            found[_unescaped(fields[4])] = kind
    return found


def this_systems_virtual_mounts() -> dict[str, str]:
    """:func:`virtual_mounts` of this process's mount namespace; none where it cannot be read."""
    try:
        with open(MOUNTINFO, "rb") as table:
            return virtual_mounts(table.read())
    except OSError:  # not Linux, or /proc not mounted: then there is no /proc to walk into either
        return {}


class LeftOut:
    """One sweep's view of a host's virtual filesystems: whether a directory met below a root is
    entered, and the mount points it was not (said once the walk is done, at info: ``-v``)."""

    __slots__ = ("_virtual", "met")

    def __init__(self, virtual: Mapping[str, str]) -> None:
        self._virtual = dict(virtual)
        self.met: dict[str, str] = {}  # the path the walk met it by -> its type

    def enters(self, real: str, met_as: str) -> bool:
        """Whether the directory at ``real`` (its real path) is walked; met by the path ``met_as``."""
        kind = self._virtual.get(real) if self._virtual else None
        if kind is None:
            return True
        self.met[met_as] = kind
        return False

    def note(self) -> str | None:
        if not self.met:
            return None
        listed = ", ".join(f"{path} ({kind})" for path, kind in self.met.items())
        return f"not walked, the kernel's virtual filesystems (name one as a --path to walk it): {listed}"

"""A sweep of / (issue 12, whole hosts): the kernel's virtual filesystems are not walked, and a link
the kernel refuses to resolve is an error naming it, not the end of the file collector.

Before, `keysweep scan --path /` failed whole at the first /proc/<pid>/cwd ("collector failed:
PermissionError"), and with that mended it still walked /proc and /sys: 8,663 errors on this machine,
7,365 of them there, and /proc/<pid>/syscall files taken for DER.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.files import collector as file_collector
from scanner.collectors.files import mounts
from scanner.collectors.files.collector import FileCollector
from scanner.inventory.graph import InventoryGraph
from scanner.inventory.model import AssetType, CollectionError
from tests.support import pki

# proc(5)'s example line, a line with optional fields, and mount points written with the kernel's escapes
MOUNTINFO = rb"""36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=123k,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:40 / /srv/chroot\040one/proc rw - proc proc rw
51 27 0:41 / /net/home\134share rw shared:9 master:3 - autofs /etc/auto.home rw,fd=7
not a line of the table
"""


def test_the_table_is_read_by_mount_point_and_type() -> None:
    assert mounts.virtual_mounts(MOUNTINFO) == {
        "/proc": "proc",
        "/sys": "sysfs",
        "/sys/fs/cgroup/unified": "cgroup2",
        "/srv/chroot one/proc": "proc",
        "/net/home\\share": "autofs",
    }  # ext3, devtmpfs and tmpfs hold files someone put there: walked


def test_this_machines_table() -> None:
    found = mounts.this_systems_virtual_mounts()
    assert found.get("/proc") == "proc" and found.get("/sys") == "sysfs"


def _collect(roots: list[Path], caplog: pytest.LogCaptureFixture) -> InventoryGraph:
    graph = InventoryGraph()
    with caplog.at_level(logging.INFO, logger="scanner"):
        graph.add_all(FileCollector().collect([Target("path", str(r)) for r in roots], CollectContext()))
    return graph


def test_a_virtual_mount_below_a_root_is_not_walked_and_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The mount table is made up here: mounting a proc or sysfs needs privileges the tests do not have.
    What the walk does with it is real."""
    kept = tmp_path / "etc" / "ssl"
    kept.mkdir(parents=True)
    pki.write(kept / "server.crt", pki.pem(pki.certificate(pki.ec_key(), "kept.test")))
    virtual = tmp_path / "proc"
    (virtual / "1").mkdir(parents=True)
    pki.write(virtual / "1" / "looks.crt", pki.pem(pki.certificate(pki.ec_key(), "virtual.test")))
    monkeypatch.setattr(mounts, "this_systems_virtual_mounts", lambda: {str(virtual): "proc"})

    graph = _collect([tmp_path], caplog)
    names = {a.properties.get("subject") for a in graph.assets(AssetType.CERTIFICATE)}
    assert names == {"CN=kept.test"}
    assert f"{virtual} (proc)" in caplog.text and "name one as a --path to walk it" in caplog.text

    # named as a root, it is what the user asked for: walked
    caplog.clear()
    graph = _collect([virtual], caplog)
    assert {a.properties.get("subject") for a in graph.assets(AssetType.CERTIFICATE)} == {"CN=virtual.test"}
    assert "not walked" not in caplog.text


def test_a_link_the_kernel_will_not_resolve_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """readlink of another user's /proc/<pid>/cwd is refused (EACCES), even to root without ptrace
    rights; root with them reads every link, so the refusal is made here for one link (os.path.realpath
    raising as it does then). Everything else in the tree is still collected."""
    pki.write(tmp_path / "server.crt", pki.pem(pki.certificate(pki.ec_key(), "beside.test")))
    refused = tmp_path / "cwd"
    refused.symlink_to("/nonexistent/target")
    real_realpath = os.path.realpath

    def realpath(path: str, *args: object, **kwargs: object) -> str:
        if str(path) == str(refused):
            raise PermissionError(13, "Permission denied", str(refused))
        return real_realpath(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(file_collector.os.path, "realpath", realpath)
    graph = _collect([tmp_path], caplog)
    assert {a.properties.get("subject") for a in graph.assets(AssetType.CERTIFICATE)} == {"CN=beside.test"}
    errors = [e for e in graph.errors if isinstance(e, CollectionError)]
    assert [e.target for e in errors] == [str(refused)]
    assert "collector failed" not in " ".join(e.message for e in errors)


@pytest.mark.slow
def test_a_walk_of_root_leaves_out_proc_and_sys() -> None:
    """The real thing: this machine's / walked (paths only, ~2 s), nothing met below /proc or /sys."""
    collector = FileCollector(handlers=[])
    collector._left_out = mounts.LeftOut(mounts.this_systems_virtual_mounts())
    directories: list[str] = []
    met = [path for path, _ in collector._walk("/", directories)]
    assert len(met) > 1000
    assert not [p for p in met + directories if p.startswith(("/proc/", "/sys/"))]
    assert collector._left_out.met.get("/proc") == "proc" and collector._left_out.met.get("/sys") == "sysfs"

"""--remote-exec only: commands run on the remote host, to judge what the files alone cannot show.

``sshd -T`` prints the server's effective settings (defaults and Match-free global values resolved by
the installed sshd itself); they are judged by the same sshd_config handler as a file, as a config
asset of their own (``/(sshd -T)/sshd_config`` on that host, ``source_command`` naming the command).
Without --remote-exec nothing here runs: the sweep is SFTP reads only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from scanner import plugins
from scanner.collectors.base import CollectContext
from scanner.collectors.files.handler import FileSource
from scanner.collectors.remote.session import RemoteError, Session
from scanner.inventory.model import Asset, AssetType, CollectionError, Observation, freeze

# fixed command lines: nothing from a target or a file is ever put into one
SSHD_EFFECTIVE = "sshd -T"
_SSHD_PATHS = "PATH=/usr/sbin:/usr/local/sbin:/sbin:$PATH"
EFFECTIVE_PATH = Path("/(sshd -T)/sshd_config")


def observations(session: Session, context: CollectContext) -> Iterator[Observation]:
    try:
        status, output, problem = session.exec(f"{_SSHD_PATHS} {SSHD_EFFECTIVE}")
    except (RemoteError, OSError) as exc:
        yield CollectionError(str(EFFECTIVE_PATH), "remote", f"--remote-exec {SSHD_EFFECTIVE!r}: {exc}")
        return
    if status != 0 or not output.strip():
        reason = problem.strip().splitlines()[0] if problem.strip() else f"exit status {status}"
        yield CollectionError(str(EFFECTIVE_PATH), "remote", f"--remote-exec {SSHD_EFFECTIVE!r} failed: {reason}")
        return
    try:
        handler = plugins.load(plugins.FILE_HANDLERS, "ssh")()
    except plugins.PluginError as exc:
        yield CollectionError(str(EFFECTIVE_PATH), "remote", str(exc))
        return
    parsed = handler.parse(FileSource(EFFECTIVE_PATH, output.encode()), context)
    for item in parsed.observations:
        if isinstance(item, Asset) and item.type is AssetType.CONFIG:
            properties = {**item.properties, "source_command": SSHD_EFFECTIVE}
            item = dataclasses.replace(item, properties=freeze(properties))
        yield item

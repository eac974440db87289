"""The keysweep command line: parses and wires; the work is done in modules tests call directly.

Each command is one module of this package, registered in the ``keysweep.commands`` entry-point
group like any plugin, so a new command group never edits this file.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from scanner import __version__, plugins


class PluginGroup(click.Group):
    """Commands come from entry points and are imported only when run (or listed in --help)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return plugins.names(plugins.COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        try:
            command: Any = plugins.load(plugins.COMMANDS, cmd_name)
        except plugins.PluginError as exc:
            if cmd_name in plugins.names(plugins.COMMANDS):
                logging.getLogger(__name__).warning("%s", exc)
            return None
        return command if isinstance(command, click.Command) else None


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keysweep")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """keysweep: inventory keys, certificates, TLS endpoints, HSMs and configs, and audit them."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="keysweep: %(levelname)s: %(message)s", stream=sys.stderr)

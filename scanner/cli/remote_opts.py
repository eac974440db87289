"""The scan options of agentless remote sweeps (--remote and its --ssh-* options), kept out of scan_cmd.

Secrets never come from argv: the identity's passphrase is read from $KEYSWEEP_SSH_PASSPHRASE or
from --ssh-passphrase-file, and reaches the collector wrapped in a ``Secret``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scanner.cli.common import usage_error
from scanner.collectors.base import Target
from scanner.collectors.remote import PASSPHRASE_ENV
from scanner.secrets import SecretError, secret_from_env, secret_from_file
from scanner.targets import TargetError, parse_remote, read_targets_file, split_remote


def remote_options(command: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--remote",
                "remote_targets",
                multiple=True,
                metavar="[USER@]HOST[:PORT]:PATH[,PATH...]",
                help="Sweep these absolute paths of a remote host over SFTP (read-only, no agent); repeatable.",
            ),
            click.option(
                "--ssh-identity",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Private key to log in with for --remote [default: the ssh-agent at $SSH_AUTH_SOCK].",
            ),
            click.option(
                "--ssh-passphrase-file",
                type=click.Path(dir_okay=False, path_type=Path),
                help=f"File holding the passphrase of --ssh-identity (else ${PASSPHRASE_ENV}).",
            ),
            click.option(
                "--ssh-known-hosts",
                type=click.Path(dir_okay=False, path_type=Path),
                help="known_hosts file that --remote host keys must be in [default: ~/.ssh/known_hosts].",
            ),
            click.option(
                "--remote-exec",
                is_flag=True,
                help="Also run commands on --remote hosts (sshd -T); without it, nothing is ever run there.",
            ),
        )
    ):
        command = option(command)
    return command


def remote_targets(opts: dict[str, Any]) -> list[Target]:
    """--remote values and the remote: lines of --targets, each checked now (a typo is a usage error)."""
    values = list(opts.get("remote_targets") or ())
    try:
        if opts.get("targets_file"):
            values += split_remote(read_targets_file(opts["targets_file"]))[1]
        for value in values:
            parse_remote(value)
    except TargetError as exc:
        raise usage_error(str(exc)) from None
    return [Target("remote", value) for value in dict.fromkeys(values)]


def remote_collector_options(opts: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {"remote_exec": bool(opts.get("remote_exec"))}
    for name in ("ssh_identity", "ssh_known_hosts"):
        if opts.get(name):
            options[name] = str(Path(opts[name]).expanduser().absolute())
    if opts.get("ssh_passphrase_file"):
        try:
            options["ssh_passphrase"] = secret_from_file(opts["ssh_passphrase_file"])
        except SecretError as exc:
            raise usage_error(str(exc)) from None
    else:
        options["ssh_passphrase"] = secret_from_env(PASSPHRASE_ENV)
    return options


def remote_scope(targets: list[Target]) -> str | None:
    """A scan whose only targets are remote sweeps of one host is the state of that host."""
    if not targets or any(t.kind != "remote" for t in targets):
        return None
    hosts = {parse_remote(t.value).host for t in targets}
    return hosts.pop() if len(hosts) == 1 else None

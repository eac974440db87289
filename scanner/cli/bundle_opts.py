"""The scan options of the fleet: --scope, --bundle and --signing-key (kept here, out of scan_cmd)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scanner.cli.common import usage_error


def fleet_options(command: Any) -> Any:
    command = click.option(
        "--signing-key",
        type=click.Path(dir_okay=False, path_type=Path),
        help="This host's Ed25519 key for --bundle (mode 0600; `keysweep keygen` makes one).",
    )(command)
    command = click.option(
        "--bundle",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also write the scan as a bundle signed with --signing-key, for `keysweep ingest` on the central host.",
    )(command)
    return click.option(
        "--scope",
        metavar="NAME",
        help="What this scan is the state of: a host, zone or system [default: the host name].",
    )(command)


def load_signing(opts: dict[str, Any]) -> Any:
    """The signing key, checked before the scan starts: a bad key is a usage error, not a lost scan."""
    if opts.get("bundle") is None:
        if opts.get("signing_key") is not None:
            raise usage_error("--signing-key is for --bundle; give --bundle FILE too")
        return None
    if opts.get("signing_key") is None:
        raise usage_error("--bundle needs --signing-key FILE (make one with `keysweep keygen FILE`)")
    from scanner.fleet.keys import SigningKeyError, load_signing_key

    try:
        return load_signing_key(opts["signing_key"])
    except SigningKeyError as exc:
        raise usage_error(str(exc)) from None


def write_bundle(path: Path | None, report_json: bytes | None, key: Any) -> bool:
    """Write the signed bundle; False (with the reason on stderr) if it could not be written."""
    if path is None or report_json is None:
        return True
    from scanner.fleet.bundle import seal
    from scanner.reporting.base import write_atomically

    try:
        write_atomically(path, seal(report_json, key))
    except OSError as exc:
        click.echo(f"keysweep: error: bundle {path} not written: {exc}", err=True)
        return False
    click.echo(f"keysweep: signed bundle written to {path.absolute()}", err=True)
    return True

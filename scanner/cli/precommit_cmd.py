"""``keysweep precommit FILE...``: block a commit that adds private keys or secrets.

Run by the pre-commit hook in ``.pre-commit-hooks.yaml`` with the staged files as arguments. The
files are scanned with the default packs; a finding in the ``key-storage`` category (a private key
in a file) or ``secret-exposure`` (a password, API key or token written into a file) fails the
commit. The message names the file and the kind, never the secret.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scanner.cli.common import EXIT_FINDINGS, EXIT_OK, error, usage_error
from scanner.printable import printable

BLOCKING_CATEGORIES = frozenset({"key-storage", "secret-exposure"})


@click.command("precommit")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
def precommit_command(files: tuple[Path, ...]) -> None:
    """Fail when FILES hold a private key or a secret (for the pre-commit hook).

    \b
    Example (.pre-commit-config.yaml of your repository):
      - repo: <keysweep's repository URL>
        rev: v0.1.0
        hooks:
          - id: keysweep-secrets
    """
    from scanner.api import KeysweepError, scan
    from scanner.reporting.locations import places

    if not files:
        sys.exit(EXIT_OK)
    try:
        result = scan(paths=[f for f in files if f.exists()])
    except KeysweepError as exc:
        raise usage_error(str(exc)) from None
    assets = {a.id: a for a in result.assets}
    blocking = [f for f in result.findings if f.category in BLOCKING_CATEGORIES and f.waived is None]
    shown: set[tuple[str, str]] = set()
    for finding in blocking:
        where = ", ".join(str(p) for p in places(assets.get(finding.asset_id), finding.asset_id))
        if (where, finding.rule_id) not in shown:
            shown.add((where, finding.rule_id))
            click.echo(f"{printable(where)}: {printable(finding.rule_id)}: {printable(finding.message)}")
    for problem in result.errors:
        error(f"{printable(problem.target)}: {printable(problem.message)}")
    sys.exit(EXIT_FINDINGS if blocking else EXIT_OK)

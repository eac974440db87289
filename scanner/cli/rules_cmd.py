"""``keysweep rules``: the policy packs, their rules and requirements."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.common import usage_error
from scanner.engine.rules import PackError, discover_packs, select_packs
from scanner.printable import printable


@click.command("rules")
@click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also load your own packs from this directory.",
)
@click.option("--pack", "pack_name", metavar="NAME", help="Only this pack, with its requirements and mapped rules.")
def rules_command(rules_dirs: tuple[Path, ...], pack_name: str | None) -> None:
    """List the policy packs, their rules and the requirements they map.

    \b
    Examples:
      keysweep rules
      keysweep rules --pack pqc-readiness
      keysweep rules --rules ./my-packs --pack acme-crypto
    """
    try:
        packs = discover_packs(rules_dirs)
        selected = select_packs(packs, [pack_name]) if pack_name else list(packs.values())
    except PackError as exc:
        raise usage_error(str(exc)) from None
    for pack in selected:
        marker = " (default)" if pack.default else ""
        # a pack from --rules DIR is someone's file: its strings are escaped like any scanned text
        click.echo(printable(f"{pack.name} {pack.version}{marker}: {pack.title}"))
        for rule in pack.rules:
            click.echo(printable(f"  {rule.id:<40} {rule.severity.value:<8} {rule.category:<20} {rule.title}"))
        if not pack_name:
            continue
        for rule in pack.mapped_rules:
            line = f"  {rule.id:<40} {rule.severity.value:<8} {rule.category:<20} {rule.title} [from {rule.pack}]"
            click.echo(printable(line))
        if pack.requirements:
            click.echo("  requirements:")
        for requirement in pack.requirements:
            rules = ", ".join(requirement.rules) or "(no rule yet)"
            click.echo(printable(f"    {requirement.id:<24} {requirement.title}: {rules}"))

"""``keysweep fleet``: the organisation-wide view over the latest scan of every scope."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scanner.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    SEVERITIES,
    parse_as_of,
    store_option,
    store_path,
    usage_error,
)
from scanner.plurals import plural

_FORMATS = ("json", "html", "cbom", "sarif", "csv")


def _max_age(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from scanner.fleet.view import parse_age

    try:
        return parse_age(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group("fleet")
def fleet_command() -> None:
    """The fleet: every scope's latest scan in one graph."""


@fleet_command.command("report")
@store_option
@click.option(
    "--max-age",
    callback=_max_age,
    metavar="AGE",
    help="Scopes whose latest scan is older (e.g. 7d) are listed as stale, not merged.",
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME",
    help="Policy pack; repeatable (default: the default packs). The fleet rules always apply.",
)
@click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Directory of your own packs; repeatable.",
)
@click.option("--as-of", callback=parse_as_of, metavar="DATE", help="Evaluate dated rules as on this date.")
@click.option("--json", "out_json", type=click.Path(path_type=Path), help="Write the JSON report here.")
@click.option("--html", "out_html", type=click.Path(path_type=Path), help="Write the HTML report here.")
@click.option("--cbom", "out_cbom", type=click.Path(path_type=Path), help="Write a CycloneDX 1.6 CBOM here.")
@click.option("--sarif", "out_sarif", type=click.Path(path_type=Path), help="Write SARIF 2.1.0 here.")
@click.option("--csv", "out_csv", type=click.Path(path_type=Path), help="Write findings as CSV here.")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    metavar="SEVERITY",
    help="Exit 1 when an open finding is at or above this severity.",
)
def report_command(store: str | None, **opts: Any) -> None:
    """One graph from the latest scan of every scope; the rules, with the fleet rules, run on it."""
    from scanner.engine.rules import PackError, discover_packs, select_packs
    from scanner.fleet.view import fleet_packs, fleet_report
    from scanner.reporting.base import ReporterError, load_reporter, write_report
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError

    try:
        packs = discover_packs(opts["rules_dirs"])
        chosen = fleet_packs(packs, select_packs(packs, opts["policies"]))
    except PackError as exc:
        raise usage_error(str(exc)) from None
    outputs = {name: opts[f"out_{name}"] for name in _FORMATS if opts[f"out_{name}"]}
    try:
        reporters = {name: load_reporter(name) for name in outputs}
    except ReporterError as exc:
        raise usage_error(str(exc)) from None
    location = store_path({"store": store})
    assert location is not None
    try:
        with open_store(location, create=False, read_only=True) as opened:
            fleet = fleet_report(opened, chosen, as_of=opts["as_of"], max_age=opts["max_age"])
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    result = fleet.result
    for state in fleet.scopes:
        if state.stale:
            click.echo(
                f"keysweep: warning: scope {state.scope} is stale (latest scan {state.finished_at}); not merged",
                err=True,
            )
    failed = False
    for name, path in outputs.items():
        try:
            if name == "json":  # streamed: a fleet's JSON report is too big to hold twice in memory
                from scanner.fleet.output import write_json_report
                from scanner.reporting.json_report import report_dict

                write_json_report(path, report_dict(result))
            else:
                path.expanduser().parent.mkdir(parents=True, exist_ok=True)
                write_report(reporters[name], result, str(path.expanduser()))
            click.echo(f"keysweep: {name} report written to {path.absolute()}", err=True)
        except OSError as exc:
            click.echo(f"keysweep: error: {name} report {path} not written: {exc}", err=True)
            failed = True
    fresh = sum(1 for s in fleet.scopes if not s.stale)
    fleet_findings = sum(1 for f in result.findings if "fleet" in f.policies and f.waived is None)
    click.echo(
        f"keysweep: fleet of {plural(fresh, 'scope')} ({len(fleet.scopes) - fresh} stale): "
        f"{plural(len(result.assets), 'asset')}, {plural(len(result.findings), 'finding')} "
        f"({plural(fleet_findings, 'fleet finding')})",
        err=True,
    )
    if failed or fresh == 0:
        if fresh == 0:
            click.echo("keysweep: no scope has a current scan in the store: nothing to report", err=True)
        sys.exit(EXIT_USAGE)
    if opts["fail_on"]:
        from scanner.inventory.model import Severity

        threshold = Severity(opts["fail_on"]).rank
        if any(f.waived is None and f.severity.rank >= threshold for f in result.findings):
            sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_OK)


@fleet_command.command("scopes")
@store_option
@click.option("--max-age", callback=_max_age, metavar="AGE", help="Mark scopes whose latest scan is older as stale.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def scopes_command(store: str | None, max_age: Any, as_json: bool) -> None:
    """Every scope with its latest scan: when, how many assets and open findings, readiness."""
    import json
    from dataclasses import asdict

    from scanner.fleet.view import scope_states
    from scanner.store.backends import open_store
    from scanner.store.interface import StoreError

    location = store_path({"store": store})
    assert location is not None
    try:
        with open_store(location, create=False, read_only=True) as opened:
            states = scope_states(opened, max_age)
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in states], indent=1))
        return
    click.echo(f"{'scope':<28}  {'last scan (UTC)':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  scan id")
    for s in states:
        flag = "  STALE" if s.stale else ""
        click.echo(
            f"{s.scope:<28}  {s.finished_at:<20}  {s.assets:>6}  {s.open_findings:>5}  "
            f"{'n/a' if s.readiness is None else f'{s.readiness}%':>5}"
            f"  {s.scan_id}{flag}"
        )

"""The keysweep command line: parses and wires; the work is done in modules tests call directly."""

from __future__ import annotations

import gc
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from scanner import __version__
from scanner.collectors.base import Target
from scanner.engine.rules import PackError, discover_packs, select_packs
from scanner.engine.waivers import WaiverError, WaiverRule, load_waivers
from scanner.inventory.model import ScanResult, Severity
from scanner.reporting.base import ReporterError, load_reporter, write_atomically
from scanner.secrets import Secret, SecretError, secret_from_env, secret_from_file
from scanner.targets import TargetError, expand, read_targets_file

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
_SEVERITIES = [s.value for s in Severity]
# the report options DESIGN.md fixes, each the name of a reporter entry point
_REPORT_OPTIONS = ("json", "html", "cbom", "sarif", "csv")


class TerminalProgress:
    """One line per target on a terminal; nothing when output is piped or scheduled."""

    def target_started(self, collector: str, target: str) -> None:
        click.echo(f"  scanning {collector}: {target} ...", err=True)

    def target_finished(self, collector: str, target: str, ok: bool) -> None:
        click.echo(f"  {'done' if ok else 'FAILED'} {collector}: {target}", err=True)


def _parse_as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _usage_error(message: str) -> click.UsageError:
    return click.UsageError(message)


def _store_options(command: Any) -> Any:
    """--store / --no-store, shared by the commands that use the history store."""
    command = click.option(
        "--no-store", is_flag=True, help="Do not use the history store (scan: do not save this scan)."
    )(command)
    return click.option(
        "--store",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="History store (SQLite) [default: $KEYSWEEP_STORE, else $XDG_DATA_HOME/keysweep/history.sqlite3].",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keysweep")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """keysweep: inventory keys, certificates, TLS endpoints, HSMs and configs, and audit them."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="keysweep: %(levelname)s: %(message)s", stream=sys.stderr)


@main.command()
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="File or directory to sweep (recursive); repeatable.",
)
@click.option(
    "--tls",
    "tls_targets",
    multiple=True,
    metavar="HOST[:PORT]",
    help="TLS endpoint (CIDR ranges allowed, default port 443); repeatable.",
)
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(path_type=Path),
    help="File of TLS targets, one per line; '#' comments.",
)
@click.option(
    "--pkcs11-module",
    "pkcs11_modules",
    multiple=True,
    type=click.Path(path_type=Path),
    help="PKCS#11 module (.so) to inventory; repeatable.",
)
@click.option("--pkcs11-token", "pkcs11_token", metavar="LABEL", help="Only this token (default: every token).")
@click.option(
    "--pkcs11-pin-env",
    default="KEYSWEEP_PKCS11_PIN",
    show_default=True,
    metavar="VAR",
    help="Environment variable holding the token's user PIN.",
)
@click.option("--pkcs11-pin-file", type=click.Path(path_type=Path), help="File holding the token's user PIN.")
@click.option(
    "--password-env",
    "password_envs",
    multiple=True,
    metavar="VAR",
    help="Environment variable with a password for PKCS#12 files, keystores and keys; repeatable.",
)
@click.option(
    "--password-file",
    "password_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="File with such a password; repeatable.",
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME",
    help="Policy pack to apply; repeatable (default: the default packs).",
)
@click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Directory of your own policy packs; repeatable.",
)
@click.option(
    "--as-of",
    callback=_parse_as_of,
    metavar="DATE",
    help="Evaluate dated rules as on this date (default: now).",
)
@click.option(
    "--waivers",
    "waivers_file",
    type=click.Path(path_type=Path),
    help="TOML file of waivers (rule, asset match, reason, owner, expiry); waived findings stay in the report.",
)
@click.option("--json", "out_json", type=click.Path(path_type=Path), help="Write the JSON report here.")
@click.option("--html", "out_html", type=click.Path(path_type=Path), help="Write the HTML report here.")
@click.option("--cbom", "out_cbom", type=click.Path(path_type=Path), help="Write a CycloneDX 1.6 CBOM here.")
@click.option("--sarif", "out_sarif", type=click.Path(path_type=Path), help="Write SARIF 2.1.0 here.")
@click.option("--csv", "out_csv", type=click.Path(path_type=Path), help="Write findings as CSV here.")
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES),
    metavar="SEVERITY",
    help=f"Exit 1 when a finding at or above this severity is open ({', '.join(_SEVERITIES)}).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A saved scan definition (scan.toml); options on the command line win over it.",
)
@_store_options
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds per network target before it is given up as an error.",
)
@click.option(
    "--concurrency",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Network targets scanned at once.",
)
def scan(**opts: Any) -> None:
    """Sweep the targets, apply the policies, write the reports."""
    from scanner.scan import ScanRequest, run_scan

    # A scan builds many small long-lived objects; the default GC thresholds make it re-walk them
    # all, over and over (about 40% of a 20,000-certificate scan). Nothing here makes cycles worth it.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)

    if opts["config_file"]:
        opts = _with_config(opts)
    targets = _targets(opts)
    if not targets:
        raise _usage_error("nothing to scan: give --path, --tls, --targets or --pkcs11-module")
    try:
        packs = select_packs(discover_packs(opts["rules_dirs"]), opts["policies"])
    except PackError as exc:
        raise _usage_error(str(exc)) from None
    waivers = _waivers(opts["waivers_file"])
    outputs = {name: opts[f"out_{name}"] for name in _REPORT_OPTIONS if opts[f"out_{name}"]}
    try:
        reporters = {name: load_reporter(name) for name in outputs}
    except ReporterError as exc:
        raise _usage_error(str(exc)) from None

    request = ScanRequest(
        targets=tuple(targets),
        packs=tuple(packs),
        as_of=opts["as_of"],
        timeout=opts["timeout"],
        passwords=_passwords(opts),
        options=_collector_options(opts),
        waivers=waivers,
    )
    progress = TerminalProgress() if sys.stderr.isatty() else None
    result = run_scan(request, progress)

    json_report: bytes | None = None
    store_path = _store_path(opts)
    if store_path is not None:
        from scanner.reporting.json_report import JsonReporter
        from scanner.store.history import StoreError, record

        json_report = JsonReporter().render(result)
        try:
            result = record(result, json_report, store_path)
        except StoreError as exc:  # the scan's reports matter more than its history
            click.echo(f"keysweep: warning: scan not saved to history: {exc}", err=True)
    for name, path in outputs.items():
        content = json_report if name == "json" and json_report is not None else reporters[name].render(result)
        write_atomically(path, content)
    _print_summary(result, outputs)
    if store_path is not None:
        click.echo(f"keysweep: scan {result.metadata.id} saved to {store_path}", err=True)
    sys.exit(_exit_code(result, opts["fail_on"]))


def _waivers(path: Path | None) -> tuple[WaiverRule, ...]:
    if path is None:
        return ()
    try:
        return load_waivers(path)
    except WaiverError as exc:
        raise _usage_error(str(exc)) from None


def _with_config(opts: dict[str, Any]) -> dict[str, Any]:
    """Values from the scan definition, for every option not given on the command line."""
    from click.core import ParameterSource

    from scanner.scanconfig import ConfigError, load_scan_config

    try:
        values = load_scan_config(opts["config_file"])
    except ConfigError as exc:
        raise _usage_error(str(exc)) from None
    ctx = click.get_current_context()
    merged = dict(opts)
    for name, value in values.items():
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            merged[name] = value
    return merged


def _store_path(opts: dict[str, Any]) -> Path | None:
    from scanner.store.history import default_store_path

    if opts["no_store"]:
        return None
    return Path(opts["store"]) if opts["store"] else default_store_path()


def _targets(opts: dict[str, Any]) -> list[Target]:
    targets = [Target("path", str(p.absolute())) for p in opts["paths"]]
    tls = list(opts["tls_targets"])
    try:
        if opts["targets_file"]:
            tls += read_targets_file(opts["targets_file"])
        targets += [Target("tls", endpoint) for endpoint in expand(tls)]
    except TargetError as exc:
        raise _usage_error(str(exc)) from None
    for module in opts["pkcs11_modules"]:
        targets.append(Target("pkcs11", str(module.absolute())))
    return targets


def _passwords(opts: dict[str, Any]) -> tuple[Secret, ...]:
    found: list[Secret] = []
    for variable in opts["password_envs"]:
        secret = secret_from_env(variable)
        if secret is None:
            raise _usage_error(f"--password-env: environment variable {variable} is not set")
        found.append(secret)
    try:
        found += [secret_from_file(path) for path in opts["password_files"]]
    except SecretError as exc:
        raise _usage_error(str(exc)) from None
    return tuple(found)


def _collector_options(opts: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {"concurrency": opts["concurrency"]}
    if opts["pkcs11_modules"]:
        pin: Secret | None = None
        if opts["pkcs11_pin_file"]:
            try:
                pin = secret_from_file(opts["pkcs11_pin_file"])
            except SecretError as exc:
                raise _usage_error(str(exc)) from None
        else:
            pin = secret_from_env(opts["pkcs11_pin_env"])
        options["pkcs11_pin"] = pin
        options["pkcs11_pin_source"] = (
            f"file {opts['pkcs11_pin_file']}" if opts["pkcs11_pin_file"] else f"${opts['pkcs11_pin_env']}"
        )
        options["pkcs11_token"] = opts["pkcs11_token"]
    return options


def _exit_code(result: ScanResult, fail_on: str | None) -> int:
    if not result.assets and result.errors:
        return EXIT_USAGE  # nothing could be scanned
    if fail_on:
        threshold = Severity(fail_on).rank
        if any(f.waived is None and f.severity.rank >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


def _print_summary(result: ScanResult, outputs: dict[str, Path]) -> None:
    from scanner.reporting.summary import summarize

    summary = summarize(result)
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    click.echo(
        f"keysweep: {len(result.assets)} assets, {len(result.findings)} findings"
        f"{f' ({counts})' if counts else ''}, {len(result.errors)} errors; "
        f"readiness {summary['readiness']['score']}%",
        err=True,
    )
    for name, path in outputs.items():
        click.echo(f"keysweep: {name} report written to {path.absolute()}", err=True)


@main.command("rules")
@click.option(
    "--rules",
    "rules_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also load your own packs from this directory.",
)
@click.option("--pack", "pack_name", metavar="NAME", help="Only this pack, with its requirements and mapped rules.")
def rules_command(rules_dirs: tuple[Path, ...], pack_name: str | None) -> None:
    """List the policy packs, their rules and the requirements they map."""
    try:
        packs = discover_packs(rules_dirs)
        selected = select_packs(packs, [pack_name]) if pack_name else list(packs.values())
    except PackError as exc:
        raise _usage_error(str(exc)) from None
    for pack in selected:
        marker = " (default)" if pack.default else ""
        click.echo(f"{pack.name} {pack.version}{marker}: {pack.title}")
        for rule in pack.rules:
            click.echo(f"  {rule.id:<40} {rule.severity.value:<8} {rule.category:<20} {rule.title}")
        if not pack_name:
            continue
        for rule in pack.mapped_rules:
            click.echo(f"  {rule.id:<40} {rule.severity.value:<8} {rule.category:<20} {rule.title} [from {rule.pack}]")
        if pack.requirements:
            click.echo("  requirements:")
        for requirement in pack.requirements:
            rules = ", ".join(requirement.rules) or "(no rule yet)"
            click.echo(f"    {requirement.id:<24} {requirement.title}: {rules}")


@main.command("impact")
@click.argument("asset")
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, path_type=Path),
    help="A keysweep JSON report to read the inventory from.",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Sweep these files or directories instead of reading a report; repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def impact_command(asset: str, report_path: Path | None, paths: tuple[Path, ...], as_json: bool) -> None:
    """Everything that depends on a key or certificate: its blast radius if compromised.

    ASSET is an asset id, a unique part of one (e.g. a fingerprint), or the path of a file holding
    one key or one certificate.
    """
    import json

    from scanner.engine.impact import ImpactError, blast_radius, graph_from_report, render_text, resolve_asset

    if bool(report_path) == bool(paths):
        raise _usage_error("give either --report FILE or --path PATH")
    try:
        if report_path is not None:
            graph = graph_from_report(report_path)
        else:
            from scanner.collectors.base import SilentProgress
            from scanner.inventory.enrich import enrich
            from scanner.scan import ScanRequest, build_graph, path_targets

            request = ScanRequest(targets=tuple(path_targets([p.absolute() for p in paths])), packs=())
            graph = build_graph(request, SilentProgress())
            enrich(graph, datetime.now(UTC))
        result = blast_radius(graph, resolve_asset(graph, asset))
    except ImpactError as exc:
        raise _usage_error(str(exc)) from None
    click.echo(json.dumps(result.as_dict(), indent=1) if as_json else render_text(result))


@main.command("history")
@_store_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many scans to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def history_command(store: Path | None, no_store: bool, limit: int, as_json: bool) -> None:
    """List past scans in the history store, newest first."""
    import json
    from dataclasses import asdict

    from scanner.store.history import HistoryStore, StoreError

    path = _store_path({"store": store, "no_store": no_store})
    if path is None:
        raise _usage_error("history needs a store; --no-store leaves nothing to list")
    if not path.is_file():
        click.echo(f"keysweep: no scans yet (no history store at {path})", err=True)
        if as_json:
            click.echo("[]")
        return
    try:
        with HistoryStore(path, create=False) as history:
            scans = history.scans(limit=limit)
    except StoreError as exc:
        click.echo(f"keysweep: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in scans], indent=1))
        return
    click.echo(f"{'scan id':<36}  {'finished (UTC)':<20}  {'assets':>6}  {'open':>5}  {'ready':>5}  targets")
    for s in scans:
        targets = ", ".join(s.targets[:3]) + (f" (+{len(s.targets) - 3})" if len(s.targets) > 3 else "")
        click.echo(
            f"{s.id:<36}  {s.finished_at:<20}  {s.assets:>6}  {s.open_findings:>5}  {s.readiness:>4}%  {targets}"
        )


@main.command("diff")
@click.argument("old")
@click.argument("new")
@_store_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the diff here, not stdout.")
@click.option(
    "--fail-on-new",
    type=click.Choice(_SEVERITIES),
    metavar="SEVERITY",
    help="Exit 1 when a new open finding is at or above this severity (for CI).",
)
def diff_command(
    old: str, new: str, store: Path | None, no_store: bool, fmt: str, output: Path | None, fail_on_new: str | None
) -> None:
    """Compare two scans: OLD and NEW are JSON report files or scan ids (or id prefixes) in the store."""
    import json

    from scanner.reporting.diff import DiffError, diff_dict, diff_reports, diff_text, load_report

    path = _store_path({"store": store, "no_store": no_store})
    try:
        result = diff_reports(load_report(old, path), load_report(new, path))
    except DiffError as exc:
        raise _usage_error(str(exc)) from None
    text = json.dumps(diff_dict(result), indent=1, ensure_ascii=False) + "\n" if fmt == "json" else diff_text(result)
    if output:
        write_atomically(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)
    if fail_on_new and result.new_at_or_above(Severity(fail_on_new)):
        sys.exit(EXIT_FINDINGS)


@main.command("demo")
@_store_options
def demo_command(store: Path | None, no_store: bool) -> None:
    """Start sample-targets/, scan it, write the HTML report (its path is printed), stop the servers."""
    from scanner.demo import DemoError, run_demo

    extra = ["--no-store"] if no_store else (["--store", str(store)] if store else [])
    try:
        html = run_demo(extra)
    except DemoError as exc:
        click.echo(f"keysweep demo: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(str(html.absolute()))

"""``keysweep scan``: sweep the targets, apply the policies, write the reports."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.cli import lifetime
from scanner.cli.bundle_opts import fleet_options, load_signing, write_bundle
from scanner.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    SEVERITIES,
    error,
    note,
    parse_as_of,
    plural,
    store_options,
    store_path,
    usage_error,
    verbosity,
)
from scanner.cli.jobs import Job, run_jobs
from scanner.cli.progress import TerminalProgress
from scanner.cli.remote_opts import remote_collector_options, remote_options, remote_scope, remote_targets
from scanner.collectors.base import Target
from scanner.engine.rules import PackError, discover_packs, select_packs
from scanner.engine.waivers import WaiverError, WaiverRule, load_waivers
from scanner.inventory.model import ScanResult, Severity
from scanner.inventory.systems import SystemsConfig, SystemsError, load_systems
from scanner.printable import printable
from scanner.reporting.base import Reporter, ReporterError, load_reporter, write_report
from scanner.reporting.output import STDOUT, Output, OutputError, check_outputs, write_output
from scanner.reporting.table import DEFAULT_LIMIT, render_table
from scanner.secrets import Secret, SecretError, secret_from_env, secret_from_file
from scanner.targets import DEFAULT_SSH_PORT, TargetError, expand, read_targets_file, split_remote, split_schemes

if TYPE_CHECKING:
    from scanner.reporting.tee import ReportTee
    from scanner.store.streamed import ReportSource

# the report options DESIGN.md fixes, each the name of a reporter entry point
_REPORT_OPTIONS = ("json", "html", "cbom", "sarif", "csv")
# exports for the people who file them: option -> reporter (the M-23-02 inventory is JSON for *.json)
_EXPORT_OPTIONS = {"m2302": "m2302", "oscal_ar": "oscal-ar", "oscal_poam": "oscal-poam", "compliance_csv": "compliance"}
# each reporter's own settings, from the options that shape that one format
_REPORT_SETTINGS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sarif": lambda opts: {"root": opts["sarif_root"]},
    "cbom": lambda opts: {"version": opts["cbom_version"]},
}


@click.command("scan")
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
    "--ssh",
    "ssh_targets",
    multiple=True,
    metavar="HOST[:PORT]",
    help="SSH endpoint to probe without logging in (CIDR ranges allowed, default port 22); repeatable.",
)
@click.option(
    "--targets",
    "targets_file",
    type=click.Path(path_type=Path),
    help="File of network targets, one per line ('ssh://HOST[:PORT]' for SSH, else TLS); '#' comments.",
)
@click.option(
    "--target",
    "generic_targets",
    multiple=True,
    metavar="KIND:VALUE",
    help="A target for whichever installed collector declares KIND (e.g. a plugin's); repeatable.",
)
@click.option(
    "--pkcs11-module",
    "pkcs11_modules",
    multiple=True,
    type=click.Path(path_type=Path),
    help="PKCS#11 module (.so) to inventory; repeatable.",
)
@click.option(
    "--import",
    "imports",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A peer tool's result file (sslyze, testssl.sh, ssh-audit JSON or a CycloneDX CBOM); repeatable.",
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
    callback=parse_as_of,
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
@click.option("--cbom", "out_cbom", type=click.Path(path_type=Path), help="Write a CycloneDX CBOM here.")
@click.option(
    "--cbom-version", type=click.Choice(["1.6", "1.7"]), default="1.6", show_default=True, help="CycloneDX version."
)
@click.option("--sarif", "out_sarif", type=click.Path(path_type=Path), help="Write SARIF 2.1.0 here.")
@click.option(
    "--sarif-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory SARIF file locations are relative to (default: the current directory).",
)
@click.option("--csv", "out_csv", type=click.Path(path_type=Path), help="Write findings as CSV here.")
@click.option(
    "--format",
    "formats",
    multiple=True,
    metavar="NAME[=PATH]",
    help="Render with any installed reporter (table, json, jsonl, html, cbom, sarif, csv, ...) to PATH, "
    "or to stdout without one; repeatable. Default: the findings table on stdout.",
)
@click.option(
    "--systems",
    "systems_file",
    type=click.Path(path_type=Path),
    help="systems.toml: the systems (owner, impact, data time-to-live, selectors) reports roll up by.",
)
@click.option(
    "--m2302",
    "out_m2302",
    type=click.Path(path_type=Path),
    help="Write the OMB M-23-02 quantum-vulnerable inventory here (JSON for *.json, else CSV).",
)
@click.option("--oscal-ar", "out_oscal_ar", type=click.Path(path_type=Path), help="Write OSCAL assessment results.")
@click.option("--oscal-poam", "out_oscal_poam", type=click.Path(path_type=Path), help="Write an OSCAL POA&M here.")
@click.option(
    "--compliance-csv",
    "out_compliance_csv",
    type=click.Path(path_type=Path),
    help="Write the per-requirement compliance view (pass/fail/not assessed, per system) as CSV.",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    metavar="SEVERITY",
    help=f"Exit 1 when a finding at or above this severity is open ({', '.join(SEVERITIES)}).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A saved scan definition (scan.toml); options on the command line win over it.",
)
@store_options
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds each network operation may take (a TLS connection, a probe); see also --tls-deadline.",
)
@click.option(
    "--concurrency",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Network targets scanned at once.",
)
@click.option(
    "--workers",
    "file_workers",
    type=click.IntRange(min=1),
    help="Processes reading and parsing files at once, and then saving to the store and writing the reports"
    " side by side (1: this process alone) [default: one per usable core; the file sweep forks only for"
    " more than a few hundred files].",
)
@click.option(
    "--ca-file",
    "ca_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM/DER file of extra trust anchors (private PKI) for TLS chain validation; repeatable.",
)
@click.option(
    "--ca-path",
    "ca_paths",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of extra trust anchors for TLS chain validation; repeatable.",
)
@click.option(
    "--tls-deadline",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Most one TLS endpoint may take, all probes together (default: 60 s or 20 x --timeout, the larger).",
)
@click.option(
    "--tls-enumeration",
    type=click.Choice(["keysweep", "sslyze"]),
    default="keysweep",
    show_default=True,
    help="Who enumerates TLS versions and cipher suites: keysweep's own ClientHellos, or sslyze (to compare).",
)
@fleet_options
@remote_options
@click.option(
    "--distributed",
    "distributed_broker",
    metavar="URL",
    help="Send the TLS and SSH targets to scan workers through this Redis broker (see docs/distributed.md).",
)
@click.option(
    "--zones", "zones_file", type=click.Path(path_type=Path), help="zones.toml: which zone scans which target."
)
@click.option(
    "--zone-timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a zone may go without finishing a chunk before its targets are reported as not scanned.",
)
@click.option(
    "--chunk-size",
    default=25,
    show_default=True,
    type=click.IntRange(min=1),
    help="Network targets per chunk sent to a zone's workers.",
)
@click.option(
    "--resume", "resume_sweep", metavar="SWEEP_ID", help="Collect what an interrupted distributed sweep finished."
)
@click.option(
    "--broker-password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the broker's password (instead of $KEYSWEEP_BROKER_PASSWORD).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the file cache: files unchanged since the last scan are not read or parsed again"
    " [default: a 'cache' directory beside a local history store; none with --no-store].",
)
@click.option("--no-cache", is_flag=True, help="Read and parse every file, and leave the file cache as it is.")
def scan(**opts: Any) -> None:
    """Sweep the targets, apply the policies, write the reports.

    \b
    Examples:
      keysweep scan --path /etc/ssl
      keysweep scan --path /etc --json report.json --html /srv/www/crypto.html --fail-on high
      keysweep scan --tls 10.0.0.0/28:443 --timeout 5 --format jsonl=findings.jsonl
      keysweep scan --config /etc/keysweep/scan.toml -q
    """
    collecting = gc.isenabled()
    try:
        _scan(opts)
    finally:
        # as it was for a caller that goes on (a test runs many scans in one process); not for a
        # process about to end: turned on again, the collector would walk every object the scan
        # made (~0.08 s of a 20,000-file re-scan) for garbage no one will wait for
        if collecting and not lifetime.ends_with_command():
            gc.enable()


def _scan(opts: dict[str, Any]) -> None:
    from scanner.scan import ScanRequest, run_scan

    # A scan builds many small long-lived objects; the default GC thresholds make it re-walk them
    # all, over and over (about 40% of a 20,000-certificate scan). Nothing here makes cycles worth it.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)

    if opts["config_file"]:
        opts = _with_config(opts)
    targets = _targets(opts)
    if not targets:
        raise usage_error(
            "nothing to scan: give --path, --tls, --ssh, --remote, --targets, --pkcs11-module, --import or --target"
        )
    try:
        packs = select_packs(discover_packs(opts["rules_dirs"]), opts["policies"])
    except PackError as exc:
        raise usage_error(str(exc)) from None
    signing = load_signing(opts)
    waivers = _waivers(opts["waivers_file"])
    outputs = _outputs(opts)
    level = verbosity()
    # the findings table is the default, unless stdout is taken by a report or --quiet
    table = level >= 0 and not any(o.to_stdout or o.path in _STDOUT_ALIASES for o in outputs)
    try:
        reporters = {o.format: load_reporter(o.format, **_report_settings(o.format, opts)) for o in outputs}
    except ReporterError as exc:
        raise usage_error(str(exc)) from None
    problems = check_outputs(outputs)
    for problem in problems:
        error(printable(problem))
    if problems:
        # before any scanning: a scheduled scan must not run for an hour and then lose its reports
        sys.exit(EXIT_USAGE)
    systems = _systems(opts.get("systems_file"))

    request = ScanRequest(
        targets=tuple(targets),
        packs=tuple(packs),
        as_of=opts["as_of"],
        timeout=opts["timeout"],
        passwords=_passwords(opts),
        options=_collector_options(opts),
        waivers=waivers,
        systems=systems,
        scope=opts["scope"] or remote_scope(targets),
    )
    if opts.get("distributed_broker") or opts.get("resume_sweep"):
        request = _distributed(request, opts)
    live = sys.stderr.isatty() and level >= 0
    progress = TerminalProgress(sys.stderr, live=live, verbosity=level) if live or level >= 1 else None
    try:
        # Once collected, the inventory only grows by values that live to the end of the process
        # (findings, report dicts, store rows) and form no cycles: a collection of the youngest
        # objects then walks hundreds of thousands of them for nothing (~0.3 s of a 20,000-file
        # scan). Not before: forked file workers inherit the setting, and parse in a long loop.
        result = run_scan(request, progress, collected=gc.disable)
    finally:
        if progress is not None:
            progress.close()
    for failure in result.errors:
        error(f"{printable(failure.target)}: {printable(failure.message)} [{printable(failure.collector)}]")

    json_report: bytes | None = None
    report_values: dict[str, Any] | None = None  # what json_report was rendered from, for the store
    history_path = store_path(opts)
    if history_path is not None and result.metadata.projection and not opts["store"]:
        # a projection is not a state of the estate: saved only to a store named on purpose
        note(f"projection as of {result.metadata.as_of.date()} not saved to history (name --store to keep it)")
        history_path = None
    store_ok = True
    scanned = result  # the report is rendered from it: the trend (result.history) is not in it
    if history_path is not None:
        from scanner.store.history import StoreError, with_history

        try:
            # the trend is read before the save: the reports written beside it show it
            result = with_history(result, history_path)
        except StoreError as exc:  # the reports are still written; the exit code says the store failed
            error(f"scan not saved to the store: {printable(exc)}")
            store_ok = False
            history_path = None
    if opts["bundle"] or (history_path is not None and _saved_whole(result, _side_by_side(opts))):
        from scanner.reporting.json_report import JsonReporter

        json_report, report_values = JsonReporter().render_with_values(scanned)
    jobs: list[Job] = []
    tee: ReportTee | None = None
    teed: Output | None = None  # the output the tee writes, which gets no job of its own
    if history_path is not None:
        from scanner.reporting.json_report import ReportPieces

        # the store reads a first scan's report from the result in pieces, as the JSON writer does,
        # and writes the JSON report from them as they pass (reporting/tee.py)
        json_output = next((o for o in outputs if o.format == "json"), None)
        if json_report is None and json_output is not None:
            tee = _tee(scanned, json_output, reporters["json"])
            teed = json_output if tee is not None else None
        report = (json_report, report_values) if json_report is not None else ReportPieces(scanned, tee)
        jobs.append(Job("saving the scan to the store", partial(_save, report, history_path, tee)))
    saving = bool(jobs)  # the store's save is the first job, when there is one
    jobs += [
        Job(f"writing the {o.format} report", partial(_write_output, result, o, reporters[o.format], json_report))
        for o in outputs
        if o is not teed
    ]
    # the summary the reports, the store's save and the terminal all ask for: computed once, here,
    # so that the forked jobs (and the store's reading process) inherit it instead of each computing it
    from scanner.inventory.summary import summarize

    summarize(result)
    messages = run_jobs(jobs, _side_by_side(opts))
    told = iter(messages[saving:])
    # each output's message, in the outputs' order (the teed report's from the save's job)
    by_output = [tee.outcome() if tee is not None and o is teed else next(told) for o in outputs]
    for message in [*messages[:saving], *by_output]:
        if message is not None:
            error(message)
    saved = saving and messages[0] is None
    store_ok = store_ok and (saved or not saving)
    written = [o for o, message in zip(outputs, by_output, strict=True) if message is None]
    failed = len(written) < len(outputs)
    bundled = write_bundle(opts["bundle"], json_report, signing)
    if table:
        click.echo(render_findings_table(result, level), nl=False)
    _print_summary(result, written)
    if saved:
        note(f"scan {result.metadata.id} saved to {printable(history_path)}")
    unusable = failed or not store_ok or not bundled
    sys.exit(EXIT_USAGE if unusable else _exit_code(result, opts["fail_on"]))


def _saved_whole(result: ScanResult, side_by_side: int) -> bool:
    """Whether the store takes the report whole, rendered once here for it and the JSON report alike:
    a report small enough to hold whole, of a re-scan (targets the store holds scans of) or saved in
    one process (--workers 1). A re-scan's body is most often stored already (its rows are then
    named, not derived), and when it is not, deriving the rows once from the whole report beats
    reading it twice in pieces; in one process, so does rendering it once (docs/fleet.md). A first
    scan's report, or a large one, is read in pieces by the store (a first scan's aside, in a forked
    process, while the rows are derived)."""
    from scanner.store.streamed import SMALL_REPORT_ASSETS

    return len(result.assets) <= SMALL_REPORT_ASSETS and (bool(result.history) or side_by_side < 2)


def _side_by_side(opts: dict[str, Any]) -> int:
    """How many of the store's save and the reports are written at once (--workers, else the usable cores)."""
    from scanner.collectors.files.pool import usable_cores

    return int(opts.get("file_workers") or usable_cores())


def _tee(result: ScanResult, json_output: Output, reporter: Reporter) -> ReportTee | None:
    """The JSON report, to be written from the pieces the store reads: when it replaces a regular
    file (a pipe or a device gets its own job, never holding up the save)."""
    from scanner.reporting.output import replaced_whole
    from scanner.reporting.tee import ReportTee

    if not replaced_whole(json_output.path):
        return None
    return ReportTee(
        json_output.path,
        partial(_write_output, result, json_output, reporter, None),
        partial(_not_written, json_output),
    )


def _save(
    report: tuple[bytes, dict[str, Any] | None] | ReportSource, where: str | Path, tee: ReportTee | None = None
) -> str | None:
    """The scan saved to the store (its report's bytes and values, or read in pieces); else why not.
    Then the JSON report written, if ``tee`` was to write it from the pieces and they were not all read."""
    from scanner.store.history import StoreError, save, save_report

    message = None
    try:
        if isinstance(report, tuple):
            save(report[0], where, report[1])
        else:
            save_report(report, where)
    except StoreError as exc:  # the reports are still written; the exit code says the store failed
        message = f"scan not saved to the store: {printable(exc)}"
    except KeyboardInterrupt:
        if tee is not None:
            tee.abandon()
        raise
    except BaseException:  # an internal error fails the scan; the report is still written
        if tee is not None:
            tee.finish()
        raise
    if tee is not None:
        tee.finish()
    return message


def _write_output(result: ScanResult, output: Output, reporter: Reporter, json_report: bytes | None) -> str | None:
    """One output written; else why not (one failure never stops the others)."""
    try:
        if output.format == "json" and json_report is not None:
            write_output(output.path, json_report)
        else:  # streamed, or with a companion file, by reporters that write themselves
            write_report(reporter, result, output.path)
    except (OutputError, ReporterError) as exc:
        return _not_written(output, str(exc))
    return None


def _not_written(output: Output, reason: str) -> str:
    return f"{output.format} report not written: {printable(reason)}"


_STDOUT_ALIASES = frozenset({"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


def _outputs(opts: dict[str, Any]) -> list[Output]:
    """--json FILE and friends, then every --format NAME[=PATH] (no path: stdout)."""
    outputs = [Output(name, str(opts[f"out_{name}"])) for name in _REPORT_OPTIONS if opts[f"out_{name}"]]
    for option, reporter in _EXPORT_OPTIONS.items():
        path = opts.get(f"out_{option}")
        if path:
            json_export = reporter == "m2302" and Path(path).suffix.lower() == ".json"
            outputs.append(Output("m2302-json" if json_export else reporter, str(path)))
    for spec in opts["formats"]:
        name, _, path = spec.partition("=")
        if not name:
            raise usage_error(f"--format {spec!r}: give a reporter name, e.g. --format json=report.json")
        outputs.append(Output(name, path or STDOUT))
    stdout = [o.format for o in outputs if o.to_stdout]
    if len(stdout) > 1:
        raise usage_error(f"only one format can go to stdout; got {', '.join(stdout)}: give the others a path")
    return outputs


def _systems(path: Path | None) -> SystemsConfig | None:
    if path is None:
        return None
    try:
        return load_systems(Path(path))
    except SystemsError as exc:
        raise usage_error(str(exc)) from None


def render_findings_table(result: ScanResult, level: int) -> str:
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return render_table(result, colour=colour, limit=None if level >= 1 else DEFAULT_LIMIT)


def _report_settings(name: str, opts: dict[str, Any]) -> dict[str, Any]:
    settings = _REPORT_SETTINGS.get(name)
    return settings(opts) if settings else {}


def _distributed(request: Any, opts: dict[str, Any]) -> Any:
    """The same scan, its network targets collected by the zone workers behind a broker."""
    import dataclasses
    import uuid

    from scanner.distributed.app import make_app
    from scanner.distributed.broker import BrokerError, resolve_broker
    from scanner.distributed.coordinator import DEFAULT_CHUNK_SIZE, DistributedCollect
    from scanner.distributed.zones import ZoneError, ZoneMap, load_zones

    try:
        broker = resolve_broker(opts.get("distributed_broker"), opts.get("broker_password_file"))
        zones = load_zones(opts["zones_file"]) if opts.get("zones_file") else ZoneMap()
    except (BrokerError, ZoneError) as exc:
        raise usage_error(str(exc)) from None
    sweep_id = opts.get("resume_sweep") or str(uuid.uuid4())
    click.echo(
        f"keysweep: distributed sweep {sweep_id} through {broker.url} (resume with --resume {sweep_id})", err=True
    )
    collect = DistributedCollect(
        make_app(broker),
        zones,
        sweep_id,
        zone_timeout=opts["zone_timeout"],
        chunk_size=opts.get("chunk_size") or DEFAULT_CHUNK_SIZE,
        resume=bool(opts.get("resume_sweep")),
    )
    return dataclasses.replace(request, collect=collect, scan_id=sweep_id)


def _waivers(path: Path | None) -> tuple[WaiverRule, ...]:
    if path is None:
        return ()
    try:
        return load_waivers(path)
    except WaiverError as exc:
        raise usage_error(str(exc)) from None


def _with_config(opts: dict[str, Any]) -> dict[str, Any]:
    """Values from the scan definition, for every option not given on the command line."""
    from click.core import ParameterSource

    from scanner.scanconfig import ConfigError, load_scan_config

    try:
        values = load_scan_config(opts["config_file"])
    except ConfigError as exc:
        raise usage_error(str(exc)) from None
    ctx = click.get_current_context()
    merged = dict(opts)
    for name, value in values.items():
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            merged[name] = value
    return merged


def _targets(opts: dict[str, Any]) -> list[Target]:
    targets = [Target("path", str(p.absolute())) for p in opts["paths"]]
    tls, ssh = list(opts["tls_targets"]), list(opts.get("ssh_targets") or ())
    try:
        if opts["targets_file"]:
            from_file_tls, from_file_ssh = split_schemes(split_remote(read_targets_file(opts["targets_file"]))[0])
            tls += from_file_tls
            ssh += from_file_ssh
        targets += [Target("tls", endpoint) for endpoint in expand(tls)]
        targets += [Target("ssh", endpoint) for endpoint in expand(ssh, DEFAULT_SSH_PORT)]
    except TargetError as exc:
        raise usage_error(str(exc)) from None
    for module in opts["pkcs11_modules"]:
        targets.append(Target("pkcs11", str(module.absolute())))
    targets += [Target("import", str(p.absolute())) for p in opts.get("imports") or ()]
    targets += remote_targets(opts)
    return targets + _generic_targets(opts.get("generic_targets", ()))


def _generic_targets(specs: tuple[str, ...]) -> list[Target]:
    """--target KIND:VALUE, checked against the kinds the installed collectors declare."""
    if not specs:
        return []
    from scanner.collectors.routing import target_kinds

    kinds = target_kinds()
    targets: list[Target] = []
    for spec in specs:
        kind, sep, value = spec.partition(":")
        if not sep or not kind or not value:
            raise usage_error(f"--target {spec!r}: expected KIND:VALUE (kinds: {', '.join(sorted(kinds))})")
        if kind not in kinds:
            raise usage_error(
                f"--target {spec!r}: no installed collector takes {kind!r} (kinds: {', '.join(sorted(kinds))})"
            )
        targets.append(Target(kind, value))
    return targets


def _passwords(opts: dict[str, Any]) -> tuple[Secret, ...]:
    found: list[Secret] = []
    for variable in opts["password_envs"]:
        secret = secret_from_env(variable)
        if secret is None:
            raise usage_error(f"--password-env: environment variable {variable} is not set")
        found.append(secret)
    try:
        found += [secret_from_file(path) for path in opts["password_files"]]
    except SecretError as exc:
        raise usage_error(str(exc)) from None
    return tuple(found)


def _collector_options(opts: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {"concurrency": opts["concurrency"], **remote_collector_options(opts)}
    if opts.get("file_workers"):
        options["file_workers"] = opts["file_workers"]
    # TLS: private trust anchors for chain validation, and the per-endpoint deadline
    options["tls_ca_files"] = tuple(str(p.absolute()) for p in opts.get("ca_files") or ())
    options["tls_ca_paths"] = tuple(str(p.absolute()) for p in opts.get("ca_paths") or ())
    if opts.get("tls_deadline"):
        options["tls_deadline"] = opts["tls_deadline"]
    options["tls_enumeration"] = opts.get("tls_enumeration") or "keysweep"
    cache_dir = _cache_dir(opts)
    if cache_dir is not None:
        options["file_cache"] = str(cache_dir)
    if opts["pkcs11_modules"]:
        pin: Secret | None = None
        if opts["pkcs11_pin_file"]:
            try:
                pin = secret_from_file(opts["pkcs11_pin_file"])
            except SecretError as exc:
                raise usage_error(str(exc)) from None
        else:
            pin = secret_from_env(opts["pkcs11_pin_env"])
        options["pkcs11_pin"] = pin
        options["pkcs11_pin_source"] = (
            f"file {opts['pkcs11_pin_file']}" if opts["pkcs11_pin_file"] else f"${opts['pkcs11_pin_env']}"
        )
        options["pkcs11_token"] = opts["pkcs11_token"]
    return options


def _cache_dir(opts: dict[str, Any]) -> Path | None:
    """--cache DIR; else beside a local history store (the data directory for a database URL)."""
    if opts.get("no_cache") or opts.get("distributed_broker") or opts.get("resume_sweep"):
        return None
    if opts.get("cache_dir"):
        return Path(opts["cache_dir"]).expanduser().absolute()
    store = store_path(opts)
    if store is None:
        return None
    if "://" in store:
        from scanner.store.history import default_store_path

        store = str(default_store_path())
        if "://" in store:
            return None
    return Path(store).expanduser().absolute().parent / "cache"


def _exit_code(result: ScanResult, fail_on: str | None) -> int:
    if not result.assets and result.errors:
        return EXIT_USAGE  # nothing could be scanned
    if fail_on:
        threshold = Severity(fail_on).rank
        if any(f.waived is None and f.severity.rank >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


def _print_summary(result: ScanResult, written: list[Output]) -> None:
    from scanner.inventory.summary import summarize

    summary = summarize(result)
    counts = ", ".join(f"{n} {s}" for s, n in summary["by_severity"].items() if n)
    score = summary["readiness"]["score"]
    projection = f" (projection as of {result.metadata.as_of.date()})" if summary["projection"] else ""
    note(
        f"{plural(len(result.assets), 'asset')}, {plural(len(result.findings), 'finding')}"
        f"{f' ({counts} open)' if counts else ''}, {plural(len(result.errors), 'error')}; "
        f"readiness {'not assessed' if score is None else f'{score}%'}{projection}"
    )
    for output in written:
        if not output.to_stdout:
            note(f"{output.format} report written to {printable(os.path.abspath(output.path))}")

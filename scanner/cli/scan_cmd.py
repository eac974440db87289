"""``keysweep scan``: sweep the targets, apply the policies, write the reports."""

from __future__ import annotations

import gc
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
    store_options,
    store_path,
    usage_error,
)
from scanner.collectors.base import Target
from scanner.engine.rules import PackError, discover_packs, select_packs
from scanner.engine.waivers import WaiverError, WaiverRule, load_waivers
from scanner.inventory.model import ScanResult, Severity
from scanner.reporting.base import ReporterError, load_reporter, write_atomically
from scanner.secrets import Secret, SecretError, secret_from_env, secret_from_file
from scanner.targets import DEFAULT_SSH_PORT, TargetError, expand, read_targets_file, split_schemes

# the report options DESIGN.md fixes, each the name of a reporter entry point
_REPORT_OPTIONS = ("json", "html", "cbom", "sarif", "csv")


class TerminalProgress:
    """One line per target on a terminal; nothing when output is piped or scheduled."""

    def target_started(self, collector: str, target: str) -> None:
        click.echo(f"  scanning {collector}: {target} ...", err=True)

    def target_finished(self, collector: str, target: str, ok: bool) -> None:
        click.echo(f"  {'done' if ok else 'FAILED'} {collector}: {target}", err=True)


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
@click.option("--cbom", "out_cbom", type=click.Path(path_type=Path), help="Write a CycloneDX 1.6 CBOM here.")
@click.option("--sarif", "out_sarif", type=click.Path(path_type=Path), help="Write SARIF 2.1.0 here.")
@click.option("--csv", "out_csv", type=click.Path(path_type=Path), help="Write findings as CSV here.")
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
    help="Seconds per network target before it is given up as an error.",
)
@click.option(
    "--concurrency",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Network targets scanned at once.",
)
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
        raise usage_error("nothing to scan: give --path, --tls, --ssh, --targets or --pkcs11-module")
    try:
        packs = select_packs(discover_packs(opts["rules_dirs"]), opts["policies"])
    except PackError as exc:
        raise usage_error(str(exc)) from None
    waivers = _waivers(opts["waivers_file"])
    outputs = {name: opts[f"out_{name}"] for name in _REPORT_OPTIONS if opts[f"out_{name}"]}
    try:
        reporters = {name: load_reporter(name) for name in outputs}
    except ReporterError as exc:
        raise usage_error(str(exc)) from None

    request = ScanRequest(
        targets=tuple(targets),
        packs=tuple(packs),
        as_of=opts["as_of"],
        timeout=opts["timeout"],
        passwords=_passwords(opts),
        options=_collector_options(opts),
        waivers=waivers,
    )
    if opts.get("distributed_broker") or opts.get("resume_sweep"):
        request = _distributed(request, opts)
    progress = TerminalProgress() if sys.stderr.isatty() else None
    result = run_scan(request, progress)

    json_report: bytes | None = None
    history_path = store_path(opts)
    if history_path is not None:
        from scanner.reporting.json_report import JsonReporter
        from scanner.store.history import StoreError, record

        json_report = JsonReporter().render(result)
        try:
            result = record(result, json_report, history_path)
        except StoreError as exc:  # the scan's reports matter more than its history
            click.echo(f"keysweep: warning: scan not saved to history: {exc}", err=True)
    for name, path in outputs.items():
        content = json_report if name == "json" and json_report is not None else reporters[name].render(result)
        write_atomically(path, content)
    _print_summary(result, outputs)
    if history_path is not None:
        click.echo(f"keysweep: scan {result.metadata.id} saved to {history_path}", err=True)
    sys.exit(_exit_code(result, opts["fail_on"]))


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
            from_file_tls, from_file_ssh = split_schemes(read_targets_file(opts["targets_file"]))
            tls += from_file_tls
            ssh += from_file_ssh
        targets += [Target("tls", endpoint) for endpoint in expand(tls)]
        targets += [Target("ssh", endpoint) for endpoint in expand(ssh, DEFAULT_SSH_PORT)]
    except TargetError as exc:
        raise usage_error(str(exc)) from None
    for module in opts["pkcs11_modules"]:
        targets.append(Target("pkcs11", str(module.absolute())))
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
    options: dict[str, Any] = {"concurrency": opts["concurrency"]}
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

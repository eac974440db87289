"""``keysweep demo``: start the sample targets, scan them, write the report, stop them.

Each part of sample-targets/ writes ``generated/<part>/scan-args`` (keysweep options, one per
line) and may write ``generated/<part>/scan-env`` (NAME=value lines, e.g. a demo PIN). The scan
gets those values through its environment, never its command line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from scanner import resources

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
START_TIMEOUT = 600.0
SCAN_TIMEOUT = 1800.0


class DemoError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class DemoPlan:
    parts: tuple[str, ...]
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def _sample_targets() -> Path:
    return resources.reports_dir().parent / "sample-targets"


def sample_targets_available() -> bool:
    """Only a source checkout has sample-targets/ (a pip-installed keysweep does not)."""
    return (_sample_targets() / "start.sh").is_file()


def sample_targets_dir() -> Path:
    here = _sample_targets()
    if not sample_targets_available():
        raise DemoError(
            "the demo needs a keysweep source checkout (its sample-targets/ directory, with openssl, "
            "softhsm2 and nginx installed), which a pip-installed keysweep does not have; in a checkout, "
            "run: bash scripts/bootstrap.sh demo"
        )
    return here


def read_plan(generated: Path) -> DemoPlan:
    """The scan options and environment that the started parts asked for."""
    parts: list[str] = []
    args: list[str] = []
    env: dict[str, str] = {}
    for part in sorted(p for p in generated.iterdir() if p.is_dir()):
        scan_args = part / "scan-args"
        if not scan_args.is_file():
            continue
        parts.append(part.name)
        args += [line.strip() for line in scan_args.read_text("utf-8").splitlines() if line.strip()]
        scan_env = part / "scan-env"
        if scan_env.is_file():
            for number, line in enumerate(scan_env.read_text("utf-8").splitlines(), start=1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                name, sep, value = line.partition("=")
                if not sep or not _ENV_NAME.match(name.strip()):
                    # the line may hold a secret: name the file and line, never the content
                    raise DemoError(f"{scan_env}:{number}: expected NAME=value")
                env[name.strip()] = value
    return DemoPlan(tuple(parts), tuple(args), env)


def _fd(stream: TextIO) -> int | None:
    try:
        stream.flush()
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's)
        return None


def run_demo(extra_scan_args: Sequence[str] = (), log: TextIO = sys.stderr) -> Path:
    """Runs the whole demo and returns the HTML report's path; the servers are stopped in any case."""
    here = sample_targets_dir()
    generated = here / "generated"
    env = dict(os.environ, KEYSWEEP_PYTHON=sys.executable)
    try:
        subprocess.run(["bash", str(here / "start.sh")], env=env, check=True, timeout=START_TIMEOUT)
        plan = read_plan(generated)
        if not plan.args:
            raise DemoError(f"no part of {here} produced scan-args; see the messages above")
        print(f"keysweep demo: scanning parts {', '.join(plan.parts)}", file=log)
        html = generated / "report.html"
        outputs = ["--html", str(html), "--json", str(generated / "report.json")]
        outputs += ["--cbom", str(generated / "report.cdx.json"), "--sarif", str(generated / "report.sarif")]
        # the demo's systems: owners, impact and data time-to-live, and the exports filed per system
        outputs += ["--systems", str(here / "systems.toml"), "--m2302", str(generated / "m2302.csv")]
        outputs += ["--oscal-ar", str(generated / "oscal-ar.json"), "--oscal-poam", str(generated / "oscal-poam.json")]
        outputs += ["--compliance-csv", str(generated / "compliance.csv")]
        command = [sys.executable, "-m", "scanner", "scan", *plan.args, *outputs]
        # the scan's findings table goes to the log: the demo's stdout is the report's path alone
        done = subprocess.run(
            [*command, *extra_scan_args], env={**env, **plan.env}, timeout=SCAN_TIMEOUT, stdout=_fd(log)
        )
        if done.returncode not in (0, 1):  # 1 only means findings at or above --fail-on
            raise DemoError(f"the demo scan failed (exit code {done.returncode})")
        return html
    except subprocess.CalledProcessError as exc:
        raise DemoError(f"sample-targets/start.sh failed (exit code {exc.returncode})") from None
    except subprocess.TimeoutExpired as exc:
        step = "sample-targets/start.sh" if "start.sh" in str(exc.cmd) else "the demo scan"
        raise DemoError(f"{step} did not finish within {exc.timeout:.0f} seconds") from None
    finally:
        subprocess.run(["bash", str(here / "stop.sh")], env=env, timeout=START_TIMEOUT, check=False)

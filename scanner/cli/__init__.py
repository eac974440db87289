"""The keysweep command line: parses and wires; the work is done in modules tests call directly.

Each command is one module of this package, registered in the ``keysweep.commands`` entry-point
group like any plugin, so a new command group never edits this file.

Exit codes (DESIGN.md): 0 done; 1 findings at or above ``--fail-on``; 2 usage error, unusable
output or nothing scanned; 3 internal error; 130 interrupted.
"""

# ruff: noqa: E402 - the collector's threshold is set before the other imports, on purpose (below)
from __future__ import annotations

import gc

# First, before the imports: start-up creates some 40,000 long-lived objects (modules, classes,
# functions, the methods dataclasses generate), and with the default threshold of 700 the collector
# runs 46 times over them before a command starts (~45 ms of a 0.3 s scan start, measured). None of
# them is garbage; young objects are still collected, 50,000 allocations apart (`keysweep scan` then
# freezes what start-up made and sets its own thresholds).
gc.set_threshold(50_000, *gc.get_threshold()[1:])

import contextlib
import errno
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from scanner import __version__, plugins
from scanner.cli import lifetime
from scanner.cli.common import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    add_environment_variables,
    add_verbosity_options,
    configure_logging,
    error,
    verbosity,
)
from scanner.printable import printable

EPILOG = """\b
Examples:
  keysweep scan --path /etc/ssl                      findings table on the terminal
  keysweep scan --path /etc --json report.json --fail-on high
  keysweep scan --tls example.org:443 --format jsonl >> findings.jsonl
  keysweep history                                   past scans in the history store
  keysweep diff OLD NEW                              what changed between two scans

\b
Exit codes: 0 done; 1 findings at or above --fail-on; 2 usage error, unusable output or
nothing could be scanned; 3 internal error; 130 interrupted.
Every option can also be set as KEYSWEEP_<COMMAND>_<OPTION> (e.g. KEYSWEEP_SCAN_TIMEOUT=5)."""


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
        if not isinstance(command, click.Command):
            return None
        # -v/-q are accepted after the subcommand too, for every command including third-party ones
        return add_environment_variables(add_verbosity_options(command), cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        # internal errors are caught here, where the context still knows the verbosity
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            _internal_error(exc, verbosity(ctx))
        except Exception as exc:
            _internal_error(exc, verbosity(ctx))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        """Every way out maps to one exit code; click's own ("Aborted!" and 1) are not used."""
        extra.setdefault("auto_envvar_prefix", "KEYSWEEP")
        signalled = threading.Event()
        previous = _install_sigint_handler(signalled)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (click.exceptions.Abort, KeyboardInterrupt):
            _interrupted(signalled.is_set())
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_USAGE)
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                _internal_error(exc, 0)
            _quiet_broken_pipe()
        except Exception as exc:
            _internal_error(exc, 0)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            # On the way out (a command's sys.exit included): interpreter shutdown collects every
            # generation once more, walking the whole heap a scan built (~0.6 s of CPU after a
            # 20,000-file re-scan) to find no garbage worth it. Frozen objects are not walked; they
            # are still freed as usual.
            gc.freeze()
        sys.exit(code if isinstance(code, int) else 0)


# after Ctrl-C, the time left for cleanup (temporary files, open transactions) before exiting anyway
_INTERRUPT_GRACE_SECONDS = 3.0


def _install_sigint_handler(signalled: threading.Event) -> Any:
    """Ctrl-C raises KeyboardInterrupt as usual, and a watchdog makes sure the process then ends:
    unwinding can block (a thread pool's shutdown waits for workers stuck in a network timeout)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_sigint(_signum: int, _frame: Any) -> None:
        signalled.set()
        threading.Thread(target=_exit_after_grace, name="keysweep-interrupt", daemon=True).start()
        raise KeyboardInterrupt

    return signal.signal(signal.SIGINT, on_sigint)


def _exit_after_grace() -> None:
    time.sleep(_INTERRUPT_GRACE_SECONDS)
    with contextlib.suppress(Exception):
        sys.stderr.write("keysweep: interrupted\n")
        sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _interrupted(by_signal: bool) -> NoReturn:
    click.echo("keysweep: interrupted", err=True)
    if not by_signal:  # e.g. an EOF at a prompt, or a caller running main() in its own process
        sys.exit(EXIT_INTERRUPTED)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    # Every finally block of the scan has run (temporary report files are gone, transactions rolled
    # back); what is left are worker threads that interpreter shutdown would join, each up to its
    # network timeout, and exit-time handlers that could be interrupted again: end here.
    os._exit(EXIT_INTERRUPTED)


def _internal_error(exc: BaseException, level: int) -> NoReturn:
    error(f"internal error: {type(exc).__name__}: {printable(exc)}")
    if level >= 2:
        click.echo(printable_traceback(exc), err=True, nl=False)
        # a forked job's own traceback (scanner.cli.jobs), where the error was raised
        details = getattr(exc, "details", "")
        if details:
            click.echo("".join(printable(line) + "\n" for line in str(details).splitlines()), err=True, nl=False)
    else:
        click.echo("keysweep: run again with -vv for the traceback", err=True)
    sys.exit(EXIT_INTERNAL)


def printable_traceback(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception(exc)).splitlines()
    return "".join(printable(line) + "\n" for line in lines)


def _quiet_broken_pipe() -> NoReturn:
    # the reader went away (`keysweep scan | head`): no traceback, and no flush error at exit
    with contextlib.suppress(OSError, ValueError):  # stdout is not a real file (a test runner's)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(EXIT_USAGE)


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, "-V", "--version", prog_name="keysweep")
def main() -> None:
    """keysweep: inventory keys, certificates, TLS endpoints, HSMs and configs, and audit them."""
    configure_logging(verbosity())


add_verbosity_options(main)


def run() -> NoReturn:
    """keysweep run as a program (its console script, ``python -m scanner``): :func:`main`, then
    out without tearing the heap down.

    A scan's heap (its inventory, its result, a report's values: millions of objects at 20,000
    files) would be freed object by object on the way out: first the frames the exit unwinds, then
    every module at interpreter shutdown (~0.15 s of CPU after a 20,000-file re-scan, measured).
    The process ends as shutdown would end it, without that: the threads shutdown waits for are
    waited for, the exit handlers run (logging's flush, temporary files), standard streams are
    flushed, and the exit code is the one ``sys.exit`` gave. Called in-process (a test, another
    program), :func:`main` raises SystemExit as usual.
    """
    lifetime.end_with_command()
    try:
        main()
    except SystemExit as exc:
        # left from inside the handler: ``exc`` holds the unwound frames, and with them the scan's
        # heap; past the handler Python deletes ``exc`` and frees it all (~0.1 s of CPU, measured)
        _leave(exc.code)
    _leave(0)  # main() always exits; a return is a success


def _leave(code: object) -> NoReturn:
    status = code if isinstance(code, int) else 0 if code is None else 1
    if not isinstance(code, int) and code is not None:  # sys.exit("text"): the text on stderr, as Python does
        with contextlib.suppress(Exception):
            print(code, file=sys.stderr)
    shutdown = getattr(threading, "_shutdown", None)  # CPython's own first step of shutting down
    if shutdown is None:
        sys.exit(status)
    shutdown()  # joins the threads that are not daemons (and thread pools' exit hooks)
    import atexit

    atexit._run_exitfuncs()  # what atexit.register'ed: logging.shutdown, weakref finalizers, ...
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader gone (EPIPE) is handled where output is written
            stream.flush()
    os._exit(status)

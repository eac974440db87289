"""The PKCS#11 collector: each --pkcs11-module is read by a worker process, read-only.

The PIN goes to the worker on its stdin; it is never in argv, the environment, a log line, a
report or an error message (messages from the worker are scrubbed of it all the same).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext, Target
from scanner.collectors.pkcs11.assets import COLLECTOR, token_observations
from scanner.collectors.pkcs11.reading import ModuleReading
from scanner.inventory.model import CollectionError, Observation
from scanner.secrets import Secret

log = logging.getLogger(__name__)

# listing a token with thousands of objects over a slow HSM takes a while; a hung module does not
MIN_MODULE_TIMEOUT = 30.0


def redact(text: str, pin: Secret | None) -> str:
    if pin is None:
        return text
    value = pin.reveal().decode("utf-8", "replace")
    return text.replace(value, "<redacted>") if value else text


def _child_environment(pin: Secret | None) -> dict[str, str]:
    """The worker's environment, without the variable that carried the PIN (it gets it on stdin)."""
    if pin is None:
        return dict(os.environ)
    value = pin.reveal().decode("utf-8", "replace")
    return {name: text for name, text in os.environ.items() if text != value}


class Pkcs11Collector:
    name: ClassVar[str] = COLLECTOR
    target_kinds: ClassVar[frozenset[str]] = frozenset({"pkcs11"})

    def collect(self, targets: Sequence[Target], context: CollectContext) -> Iterator[Observation]:
        pin: Secret | None = context.options.get("pkcs11_pin")
        for target in targets:
            context.progress.target_started(self.name, target.value)
            ok = True
            for observation in self._collect_module(target.value, context, pin):
                if isinstance(observation, CollectionError):
                    ok = False
                yield observation
            context.progress.target_finished(self.name, target.value, ok)

    def _collect_module(self, module: str, context: CollectContext, pin: Secret | None) -> Iterator[Observation]:
        path = Path(module)
        if not path.exists():
            yield CollectionError(module, self.name, "PKCS#11 module not found: no such file")
            return
        if not path.is_file():
            yield CollectionError(module, self.name, "PKCS#11 module is not a file")
            return
        reading = self._run_worker(module, context, pin)
        if isinstance(reading, str):
            yield CollectionError(module, self.name, redact(reading, pin))
            return
        for message in reading.errors:
            yield CollectionError(module, self.name, redact(message, pin))
        for token in reading.tokens:
            # partial readings (mechanism list, object listing cut short) are errors too, not silence
            for problem in token.problems:
                yield CollectionError(module, self.name, f"token {token.label!r} (serial {token.serial}): {problem}")
            try:
                observations = token_observations(token, module)
            except Exception as exc:  # a token answering in a way not foreseen loses that token only
                log.debug("pkcs11: token %r could not be inventoried", token.label, exc_info=True)
                message = f"token {token.label!r} (serial {token.serial}): cannot be inventoried: {type(exc).__name__}"
                yield CollectionError(module, self.name, message)
                continue
            for observation in observations:
                if isinstance(observation, CollectionError):
                    observation = CollectionError(module, self.name, redact(observation.message, pin))
                yield observation

    def _run_worker(self, module: str, context: CollectContext, pin: Secret | None) -> ModuleReading | str:
        """The reading, or a message saying why there is none."""
        timeout = float(context.options.get("pkcs11_timeout") or max(MIN_MODULE_TIMEOUT, 3 * context.timeout))
        request: dict[str, Any] = {
            "module": module,
            "token": context.options.get("pkcs11_token"),
            # hex: a PIN read from a file may be any bytes; JSON carries text only
            "pin_hex": None if pin is None else pin.reveal().hex(),
            "pin_source": context.options.get("pkcs11_pin_source") or "the PIN source",
        }
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "scanner.collectors.pkcs11.worker"],
                input=json.dumps(request).encode(),
                capture_output=True,
                timeout=timeout,
                check=False,
                env=_child_environment(pin),
            )
        except subprocess.TimeoutExpired:
            return f"PKCS#11 module did not answer within {timeout:g} seconds"
        except OSError as exc:
            return f"cannot start the PKCS#11 worker: {exc.strerror or type(exc).__name__}"
        if completed.returncode != 0:
            if completed.returncode < 0:
                try:
                    cause = f"signal {signal.Signals(-completed.returncode).name}"
                except ValueError:
                    cause = f"signal {-completed.returncode}"
            else:
                cause = f"exit code {completed.returncode}"
            # the worker's stderr may hold a module's own diagnostics; logged at debug, scrubbed
            log.debug("pkcs11 worker stderr: %s", redact(completed.stderr.decode("utf-8", "replace"), pin)[-2000:])
            return f"PKCS#11 module crashed the worker ({cause})"
        try:
            return ModuleReading.from_json(json.loads(completed.stdout))
        except (ValueError, KeyError, TypeError) as exc:
            return f"PKCS#11 worker gave an unreadable answer: {type(exc).__name__}"

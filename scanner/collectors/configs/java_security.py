"""Java ``java.security``: disabled TLS, certificate-path and JAR algorithms, keystore type, providers.

The file is a Java properties file (``key=value``, ``key: value``, ``\\`` continuations, ``#`` and
``!`` comments); newer JDKs also accept ``include <file>``. The TLS protocols left enabled are every
known protocol not named in ``jdk.tls.disabledAlgorithms``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import common
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import knowledge

KIND = "java-security"
_LISTS = ("jdk.tls.disabledAlgorithms", "jdk.certpath.disabledAlgorithms", "jdk.jar.disabledAlgorithms")
_PROVIDER = re.compile(r"^(?:security|fips)\.provider\.(\d+)$")


@dataclass(frozen=True, slots=True)
class Property:
    value: str
    file: Path
    line: int


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)
    values: dict[str, Property] = field(default_factory=dict)

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> None:
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            number, line = i + 1, lines[i].strip()
            i += 1
            if not line or line[0] in "#!":
                continue
            while line.endswith("\\") and not line.endswith("\\\\") and i < len(lines):
                line = line[:-1] + lines[i].strip()
                i += 1
            if line.startswith("include ") and "=" not in line.split()[0]:
                for inc in self.includes.expand(line[len("include ") :], self.base, path, number, [*stack, path]):
                    self.parse(inc.path, inc.text, [*stack, path])
                continue
            match = re.match(r"^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$", line)
            if match is None:
                self.values[line] = Property("", path, number)
                continue
            key = match.group(1).replace("\\", "")
            self.values[key] = Property(common.redact(key, match.group(2).strip()), path, number)


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


_KEY_SIZE = re.compile(r"^keySize\s*(<=|>=|==|!=|<|>)\s*(\d+)$", re.IGNORECASE)


def constraint(item: str) -> dict[str, Any]:
    """One entry of a jdk.*.disabledAlgorithms list, with each of its conditions kept.

    The JDK's grammar: ``AlgorithmName [Constraint {'&' Constraint}]``, a constraint being
    ``keySize Op N``, ``jdkCA``, ``denyAfter YYYY-MM-DD`` or ``usage TLSServer|TLSClient|SignedJAR...``;
    or ``include <property>``. An entry without a constraint disables the algorithm outright.
    """
    text = " ".join(item.split())
    if text.lower().startswith("include "):
        return {"text": text, "include": text.split(None, 1)[1]}
    name, _, rest = text.partition(" ")
    conditions: list[dict[str, Any]] = []
    for part in (p.strip() for p in rest.split("&") if p.strip()):
        size = _KEY_SIZE.match(part)
        words = part.split()
        if size:
            conditions.append({"type": "keySize", "operator": size.group(1), "bits": int(size.group(2))})
        elif words[0] == "jdkCA":
            conditions.append({"type": "jdkCA"})
        elif words[0] == "denyAfter" and len(words) > 1:
            conditions.append({"type": "denyAfter", "date": words[1]})
        elif words[0] == "usage":
            conditions.append({"type": "usage", "uses": words[1:]})
        else:  # an unknown condition is kept as written, never dropped
            conditions.append({"type": "unknown", "text": part})
    return {"text": text, "algorithm": name, "conditions": conditions, "unconditional": not conditions}


class JavaSecurityHandler:
    name: ClassVar[str] = "java-security"
    priority: ClassVar[int] = 54
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"java.security"})

    _TOKENS = frozenset(
        b"security.provider.1 jdk.tls.disabledAlgorithms jdk.certpath.disabledAlgorithms jdk.jar.disabledAlgorithms "
        b"keystore.type securerandom.source policy.provider login.configuration.provider".split()
    )
    _SIGNS = re.compile(
        r"^\s*(?:security\.provider\.\d+|jdk\.(?:tls|certpath|jar)\.disabledAlgorithms|keystore\.type"
        r"|securerandom\.source|jdk\.security\.\w+|policy\.provider|login\.configuration\.provider)\s*[=:]",
        re.MULTILINE,
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        # the JDK's own file opens with several KiB of comments: its name is the hint there
        if path.name == "java.security":
            return True
        if self._TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        return bool(self._SIGNS.search(text))

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "java.security file")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        parser = _Parser(source.path.parent)
        parser.parse(source.path, text, [])
        values = parser.values
        settings: dict[str, Any] = {}
        for key in (*_LISTS, "keystore.type", "securerandom.source", "jdk.tls.keyLimits"):
            if key in values:
                settings[key] = split_list(values[key].value) if key in _LISTS else values[key].value
        providers = sorted(
            ((int(m.group(1)), key, prop.value) for key, prop in values.items() if (m := _PROVIDER.match(key))),
        )
        settings["providers"] = [f"{key}={value}" for _, key, value in providers]
        fips_providers = [value for _, _, value in providers if "fips" in value.lower()]

        constraints: dict[str, list[dict[str, Any]]] = {}
        for key in _LISTS:
            if key not in values:
                continue
            entries = [constraint(item) for item in split_list(values[key].value)]
            for entry in entries:  # "include jdk.disabled.namedCurves": the named property's entries
                included = values.get(entry.get("include", ""))
                if included is not None:
                    entry["expanded"] = [constraint(i) for i in split_list(included.value)]
            constraints[key] = entries
        tls = values.get("jdk.tls.disabledAlgorithms")
        # a protocol is off only when listed without a condition ("TLSv1 usage TLSClient" leaves servers on)
        disabled = {e["algorithm"] for e in constraints.get("jdk.tls.disabledAlgorithms", []) if e.get("unconditional")}
        enabled = [p for p in knowledge.all_tls_protocols() if p not in disabled and p != "SSLv2"]
        context_ = {
            "scope": "jdk.tls.disabledAlgorithms",
            "server": False,
            "file": str(tls.file if tls else source.path),
            "line": tls.line if tls else 1,
            "protocols": enabled,
            "protocols_source": "config" if tls else "not set (nothing disabled)",
            "protocols_line": tls.line if tls else 1,
            "protocols_file": str(tls.file if tls else source.path),
            "settings": {
                "disabled": sorted(disabled),
                "disabled_with_conditions": [
                    e["text"] for e in constraints.get("jdk.tls.disabledAlgorithms", []) if e.get("conditions")
                ],
            },
        }
        return common.build(
            KIND,
            source,
            text,
            settings,
            properties={
                "tls_contexts": [context_],
                "fips_providers": fips_providers,
                "disabled_algorithms": constraints,
            },
            includes=parser.includes,
        )

"""OpenSSL configuration (openssl.cnf): the library-wide TLS defaults and FIPS mode.

The library reads ``openssl_conf`` in the default section, then the sections it names:
``ssl_conf`` (``system_default`` and per-application TLS settings), ``providers`` (which
providers load and activate) and ``alg_section`` (``default_properties``). FIPS mode is an
activated ``fips`` provider AND ``default_properties`` requiring ``fips=yes``: a loaded provider
alone leaves non-FIPS algorithms reachable (policy-facts section 9).
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

KIND = "openssl"
_TLS_KEYS = ("MinProtocol", "MaxProtocol", "CipherString", "Ciphersuites", "Groups", "Curves", "Protocol", "Options")
_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_INCLUDE = re.compile(r"^\s*\.include\s*=?\s*(.+?)\s*$")
_PAIR = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Value:
    value: str
    file: Path
    line: int


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)
    sections: dict[str, dict[str, Value]] = field(default_factory=dict)

    def parse(self, path: Path, text: str, stack: Sequence[Path], section: str = "default") -> None:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = re.sub(r"(?<!\\)#.*$", "", raw).strip()
            if not line:
                continue
            if (m := _SECTION.match(line)) is not None:
                section = m.group(1).strip()
                self.sections.setdefault(section, {})
                continue
            if (m := _INCLUDE.match(line)) is not None:
                for inc in self.includes.expand(
                    m.group(1), self.base, path, number, [*stack, path], directory_files="*.c*nf"
                ):
                    self.parse(inc.path, inc.text, [*stack, path], "default")
                continue
            if line.startswith(".pragma"):
                continue
            if (m := _PAIR.match(line)) is not None:
                key, value = m.group(1).strip(), m.group(2).strip().strip("\"'")
                self.sections.setdefault(section, {})[key] = Value(value, path, number)


def _get(sections: dict[str, dict[str, Value]], section: str | None, key: str) -> Value | None:
    if section is None:
        return None
    return sections.get(section, {}).get(key)


def _tls_context(name: str, section: str, values: dict[str, Value]) -> dict[str, Any]:
    ctx: dict[str, Any] = {"scope": f"{name} ([{section}])", "server": False}
    first = min(values.values(), key=lambda v: v.line, default=None)
    if first is not None:
        ctx.update(file=str(first.file), line=first.line)
    minimum = values.get("MinProtocol")
    if minimum is not None:
        ctx.update(protocols=knowledge.tls_protocols_from(minimum.value), protocols_source="config")
        ctx.update(protocols_line=minimum.line, protocols_file=str(minimum.file))
        maximum = values.get("MaxProtocol")
        top = knowledge.tls_protocol(maximum.value) if maximum else None
        if top is not None:
            ctx["protocols"] = [p for p in ctx["protocols"] if (knowledge.tls_protocol(p) or ("", 0))[1] <= top[1]]
    cipher = values.get("CipherString")
    if cipher is not None:
        ctx.update(ciphers=cipher.value, ciphers_line=cipher.line, ciphers_file=str(cipher.file))
    suites = values.get("Ciphersuites")
    if suites is not None:
        ctx["ciphersuites"] = suites.value
    groups = values.get("Groups") or values.get("Curves")
    if groups is not None:
        ctx["groups"] = groups.value
    ctx["settings"] = {k: v.value for k, v in values.items() if k in _TLS_KEYS}
    return ctx


class OpenSslConfigHandler:
    name: ClassVar[str] = "openssl-cnf"
    priority: ClassVar[int] = 53
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"openssl.cnf"})

    _TOKENS = frozenset(
        b"openssl_conf .include MinProtocol CipherString default_properties module-mac openssl_init provider_sect "
        b"ssl_sect system_default_sect fips_sect req ca CA_default new_oids v3_ca v3_req req_distinguished_name".split()
    )
    _STRONG = re.compile(
        r"^\s*(?:openssl_conf\s*=|\.include\b|MinProtocol\s*=|CipherString\s*=|default_properties\s*=|module-mac\s*="
        r"|\[\s*(?:openssl_init|provider_sect|ssl_sect|system_default_sect|fips_sect|req|ca|CA_default|new_oids"
        r"|v3_ca|v3_req|req_distinguished_name)\s*\])",
        re.MULTILINE,
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        if self._TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        return bool(self._STRONG.search(text))

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "OpenSSL configuration")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        parser = _Parser(source.path.parent)
        parser.parse(source.path, text, [])
        sections = parser.sections
        init_value = _get(sections, "default", "openssl_conf")
        init = init_value.value if init_value else None
        properties: dict[str, Any] = {"library_config": init is not None}
        settings: dict[str, Any] = {"openssl_conf": init}
        contexts: list[dict[str, Any]] = []

        # TLS: the sections ssl_conf names, or (for a file without openssl_conf) any section with TLS keys
        ssl_conf = _get(sections, init, "ssl_conf")
        tls_sections: list[tuple[str, str]] = []
        if ssl_conf is not None:
            for name, target in sections.get(ssl_conf.value, {}).items():
                tls_sections.append((name, target.value))
        elif init is None:
            tls_sections = [(s, s) for s, values in sections.items() if any(k in values for k in _TLS_KEYS[:4])]
        for name, section in tls_sections:
            values = {k: v for k, v in sections.get(section, {}).items() if k in _TLS_KEYS}
            if values:
                contexts.append(_tls_context(name, section, values))
        settings["ssl_conf"] = {c["scope"]: c["settings"] for c in contexts}

        # providers and FIPS mode
        providers: dict[str, bool] = {}
        providers_sect = _get(sections, init, "providers")
        if providers_sect is not None:
            for provider, sect in sections.get(providers_sect.value, {}).items():
                activate = _get(sections, sect.value, "activate")
                providers[provider] = activate is not None and common.is_on(activate.value)
        alg = _get(sections, init, "alg_section")
        props_value = _get(sections, alg.value if alg else None, "default_properties")
        default_properties = props_value.value if props_value else None
        requires_fips = bool(default_properties and re.search(r"(^|,)\s*fips\s*=\s*yes\s*($|,)", default_properties))
        fips_activated = providers.get("fips", False)
        settings.update(providers=providers, default_properties=default_properties)
        properties.update(
            fips_provider_activated=fips_activated,
            fips_default_properties=requires_fips,
            fips_mode=fips_activated and requires_fips,
            tls_contexts=contexts,
        )
        if props_value is not None:
            properties.update(fips_line=props_value.line, fips_file=str(props_value.file))
        elif init_value is not None:
            properties.update(fips_line=init_value.line, fips_file=str(init_value.file))
        return common.build(KIND, source, text, settings, properties=properties, includes=parser.includes)

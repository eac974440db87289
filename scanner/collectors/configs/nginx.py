"""nginx: TLS settings per ``server`` block, with ``http``-level defaults, following ``include``.

Effective settings follow nginx's inheritance: an ``ssl_*`` directive in ``http`` applies to every
server that does not set its own, and ``add_header`` in a server replaces all inherited headers.
Relative paths (includes, certificates) are relative to the directory of the main file, as nginx
resolves them against its configuration prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import common
from scanner.collectors.files.handler import FileSource, ParsedFile

KIND = "nginx"
# nginx's default when ssl_protocols is not set (1.23.4 and later; earlier releases lack TLSv1.3)
DEFAULT_PROTOCOLS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
DEFAULT_CIPHERS = "HIGH:!aNULL:!MD5"
# files a server names, and their role (CA certificates make a trust store: scanner.inventory.trust)
_FILE_DIRECTIVES = (
    ("ssl_certificate", "certificate"),
    ("ssl_certificate_key", "private-key"),
    ("ssl_client_certificate", "ca-certificates"),
    ("ssl_trusted_certificate", "ca-certificates"),
)
_TLS_DIRECTIVES = (
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_ecdh_curve",
    "ssl_dhparam",
    "ssl_stapling",
    "ssl_prefer_server_ciphers",
    "ssl_conf_command",
)


@dataclass
class Directive:
    name: str
    args: list[str]
    file: Path
    line: int
    block: list[Directive] | None = None


@dataclass
class _Token:
    text: str
    line: int
    special: bool  # "{", "}" or ";" outside quotes


def _tokens(text: str) -> Iterator[_Token]:
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in "{};":
            yield _Token(ch, line, True)
            i += 1
        elif ch in "\"'":
            start_line, i, buf = line, i + 1, []
            while i < n and text[i] != ch:
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                if text[i] == "\n":
                    line += 1
                buf.append(text[i])
                i += 1
            i += 1
            yield _Token("".join(buf), start_line, False)
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{};\"'":
                i += 1
            yield _Token(text[start:i], line, False)


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> list[Directive]:
        tokens = list(_tokens(text))
        directives, _ = self._block(tokens, 0, path, [*stack, path])
        return directives

    def _block(self, tokens: list[_Token], i: int, path: Path, stack: list[Path]) -> tuple[list[Directive], int]:
        out: list[Directive] = []
        words: list[_Token] = []
        while i < len(tokens):
            tok = tokens[i]
            i += 1
            if not tok.special:
                words.append(tok)
            elif tok.text == ";":
                if words:
                    out.extend(self._directive(words, path, stack))
                words = []
            elif tok.text == "{":
                inner, i = self._block(tokens, i, path, stack)
                if words:
                    out.append(Directive(words[0].text, [w.text for w in words[1:]], path, words[0].line, inner))
                words = []
            else:  # "}"
                return out, i
        return out, i

    def _directive(self, words: list[_Token], path: Path, stack: list[Path]) -> list[Directive]:
        name, args, line = words[0].text, [w.text for w in words[1:]], words[0].line
        if name != "include" or not args:
            return [Directive(name, args, path, line)]
        spliced: list[Directive] = []
        for inc in self.includes.expand(args[0], self.base, path, line, stack):
            spliced.extend(self.parse(inc.path, inc.text, stack))
        return spliced


def _last(directives: Sequence[Directive], name: str) -> Directive | None:
    found = [d for d in directives if d.name == name and d.block is None]
    return found[-1] if found else None


def _hsts(directives: Sequence[Directive]) -> tuple[bool, int | None, int | None]:
    for d in directives:
        if d.name == "add_header" and d.args and d.args[0].lower() == "strict-transport-security":
            match = re.search(r"max-age\s*=\s*\"?(\d+)", " ".join(d.args[1:]), re.IGNORECASE)
            return True, int(match.group(1)) if match else None, d.line
    return False, None, None


def _tls_enabled(server: Sequence[Directive], inherited_ssl: bool) -> bool:
    for d in server:
        if d.name == "listen" and "ssl" in d.args[1:]:
            return True
        if d.name == "ssl" and d.args and d.args[0] == "on":
            return True
    return inherited_ssl or any(d.name == "ssl_certificate" for d in server)


def _context(
    scope: str,
    own: Sequence[Directive],
    outer: Sequence[Directive],
    file: Path,
    line: int,
    server: bool,
    base: Path,
    refs: list[common.Reference],
    *,
    defaults: bool = True,
) -> dict[str, Any]:
    def pick(name: str) -> Directive | None:
        return _last(own, name) or _last(outer, name)

    ctx: dict[str, Any] = {"scope": scope, "file": str(file), "line": line, "server": server}
    settings: dict[str, Any] = {}
    protocols = pick("ssl_protocols")
    if protocols is not None:
        ctx.update(protocols=protocols.args, protocols_source="config", protocols_line=protocols.line)
        ctx["protocols_file"] = str(protocols.file)
    elif defaults:
        ctx.update(protocols=list(DEFAULT_PROTOCOLS), protocols_source="nginx default", protocols_line=line)
        ctx["protocols_file"] = str(file)
    ciphers = pick("ssl_ciphers")
    if ciphers is not None:
        ctx.update(ciphers=" ".join(ciphers.args), ciphers_line=ciphers.line, ciphers_file=str(ciphers.file))
    elif defaults:
        ctx.update(ciphers=DEFAULT_CIPHERS, ciphers_source="nginx default")
    for name in _TLS_DIRECTIVES:
        d = pick(name)
        if d is not None:
            settings[name] = " ".join(d.args)
    dhparam = pick("ssl_dhparam")
    if dhparam is not None and dhparam.args:
        ctx["dh_params"] = str(common.resolve(dhparam.args[0], base))
        ctx["dh_params_line"] = dhparam.line
        refs.append(common.Reference(Path(ctx["dh_params"]), "dh-parameters", dhparam.line, dhparam.file))
    for name, role in _FILE_DIRECTIVES:
        chosen = [d for d in own if d.name == name] or [d for d in outer if d.name == name]
        paths = []
        for d in chosen:
            if d.args and not d.args[0].startswith(("data:", "engine:", "store:")) and "$" not in d.args[0]:
                resolved = common.resolve(d.args[0], base)
                paths.append(str(resolved))
                refs.append(common.Reference(resolved, role, d.line, d.file))
        if paths:
            settings[name] = paths
    stapling = pick("ssl_stapling")
    ctx["ocsp_stapling"] = common.is_on(stapling.args[0] if stapling and stapling.args else None)
    headers = [d for d in own if d.name == "add_header"] or [d for d in outer if d.name == "add_header"]
    ctx["hsts"], ctx["hsts_max_age"], hsts_line = _hsts(headers)
    if hsts_line is not None:
        settings["add_header Strict-Transport-Security"] = ctx["hsts_max_age"]
    names = _last(own, "server_name")
    if names is not None:
        settings["server_name"] = " ".join(names.args)
    listens = [" ".join(d.args) for d in own if d.name == "listen"]
    if listens:
        settings["listen"] = listens
    ctx["settings"] = settings
    return ctx


def _walk_servers(directives: Sequence[Directive]) -> Iterator[tuple[Directive, list[Directive]]]:
    """Each server block with the directives of its enclosing http block."""
    for d in directives:
        if d.block is None:
            continue
        if d.name == "http":
            for inner in d.block:
                if inner.name == "server" and inner.block is not None:
                    yield inner, d.block
        elif d.name == "server":  # a snippet file holding bare server blocks
            yield d, list(directives)


class NginxHandler:
    name: ClassVar[str] = "nginx"
    priority: ClassVar[int] = 50
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"nginx.conf"})

    _SIGNS = re.compile(
        r"^\s*(?:(?:http|events|server|upstream|stream|mail)\s*\{|(?:ssl_\w+|server_name|worker_processes"
        r"|worker_connections|proxy_pass|fastcgi_pass|root|listen|add_header|location)\s[^\n#;{]*[;{])",
        re.MULTILINE,
    )
    _TOKENS = frozenset(
        w.encode()
        for w in [
            "http",
            "events",
            "server",
            "upstream",
            "stream",
            "mail",
            "ssl_protocols",
            "ssl_ciphers",
            "ssl_certificate",
            "ssl_certificate_key",
            "server_name",
            "worker_processes",
            "worker_connections",
            "proxy_pass",
            "fastcgi_pass",
            "root",
            "listen",
            "add_header",
            "location",
        ]
    )
    _STRONG = re.compile(r"^\s*(?:(?:http|events)\s*\{|ssl_(?:protocols|ciphers|certificate)\s)", re.MULTILINE)

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        if b";" not in head or self._TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        if self._STRONG.search(text):
            return True
        hits = len(self._SIGNS.findall(text))
        return hits >= 2 or (hits >= 1 and "nginx" in str(path).lower())

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "nginx configuration")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        base = source.path.parent
        parser = _Parser(base)
        top = parser.parse(source.path, text, [])
        refs: list[common.Reference] = []
        contexts: list[dict[str, Any]] = []
        for server, http in _walk_servers(top):
            assert server.block is not None
            inherited = [d for d in http if d.block is None]
            if not _tls_enabled(server.block, False):
                continue
            names = _last(server.block, "server_name")
            label = f"server {' '.join(names.args)}" if names else "server"
            contexts.append(_context(label, server.block, inherited, server.file, server.line, True, base, refs))
        if not contexts:
            # a snippet or an http block with TLS settings but no TLS server: its protocol and cipher
            # settings still matter; stapling and HSTS belong to servers only
            flat = [d for d in top if d.block is None] + [
                d for h in top if h.name == "http" and h.block for d in h.block if d.block is None
            ]
            if any(d.name in ("ssl_protocols", "ssl_ciphers", "ssl_dhparam") for d in flat):
                scope = "http block" if any(d.name == "http" for d in top) else "file level"
                contexts.append(_context(scope, flat, [], source.path, 1, False, base, refs, defaults=False))
        settings = {"servers": [c["settings"] for c in contexts]}
        return common.build(
            KIND,
            source,
            text,
            settings,
            properties={"tls_contexts": contexts},
            references=refs,
            includes=parser.includes,
        )

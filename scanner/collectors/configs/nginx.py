"""nginx: TLS settings per ``server`` block, composed as nginx composes them from its root, nginx.conf.

Effective settings follow nginx's inheritance: an ``ssl_*`` directive in ``http`` applies to every
server that does not set its own, and ``add_header`` in a server replaces all inherited headers.
Relative paths (includes, certificates) resolve against nginx's configuration prefix: the folder of
nginx.conf. A file below a root that the root includes (``sites-enabled/*``, ``conf.d/*.conf``) is
judged inside the root, never alone; see docs/configs.md.
"""

from __future__ import annotations

import functools
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import common
from scanner.collectors.files import fs
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import knowledge

KIND = "nginx"
ROOT_NAMES = ("nginx.conf",)
DEFAULT_CIPHERS = "HIGH:!aNULL:!MD5"
_TLS_DIRECTIVES = (
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_ecdh_curve",
    "ssl_dhparam",
    "ssl_stapling",
    "ssl_prefer_server_ciphers",
    "ssl_conf_command",
)
# directives naming a file the TLS stack reads: recorded wherever they appear, even in a snippet
_FILE_DIRECTIVES = {
    "ssl_certificate": "certificate",
    "ssl_certificate_key": "private-key",
    "ssl_dhparam": "dh-parameters",
    # CA certificates make a trust store (scanner.inventory.trust)
    "ssl_trusted_certificate": "ca-certificates",
    "ssl_client_certificate": "ca-certificates",
}
# where distributions install the binary; its version string decides the default protocols
_BINARIES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx", "/usr/bin/nginx")
_VERSION = re.compile(rb"nginx/(\d+\.\d+\.\d+)\x00")


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


# one alternative per token kind; none can backtrack into another, so a scan is linear in the text
_TOKEN = re.compile(
    r"""(\n)|[^\S\n]+|\#[^\n]*|([{};])|"((?:\\.|[^"\\])*)"?|'((?:\\.|[^'\\])*)'?|([^\s{};"']+)""", re.DOTALL
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _tokens(text: str) -> Iterator[_Token]:
    """nginx's tokens: words, quoted strings (backslash escapes the next character), ``{`` ``}`` ``;``."""
    line = 1
    for match in _TOKEN.finditer(text):
        newline, special, double, single, word = match.groups()
        if newline:
            line += 1
        elif special:
            yield _Token(special, line, True)
        elif word is not None:
            yield _Token(word, line, False)
        elif double is not None or single is not None:
            quoted = double if double is not None else single
            yield _Token(_ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted, line, False)
            line += quoted.count("\n")


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> list[Directive]:
        """The file's directives as a tree; iterative, so that deep nesting costs memory, not the stack."""
        chain = [*stack, path]
        top: list[Directive] = []
        # each open block: the list it fills and the words of the directive being read in it
        blocks: list[tuple[list[Directive], list[_Token]]] = [(top, [])]
        for tok in _tokens(text):
            out, words = blocks[-1]
            if not tok.special:
                words.append(tok)
            elif tok.text == ";":
                if words:
                    out.extend(self._directive(words, path, chain))
                words.clear()
            elif tok.text == "{":
                inner: list[Directive] = []
                if words:
                    out.append(Directive(words[0].text, [w.text for w in words[1:]], path, words[0].line, inner))
                words.clear()
                blocks.append((inner, []))
            elif len(blocks) > 1:  # "}"; a stray one at the top is ignored, as before
                blocks.pop()
        return top

    def _directive(self, words: list[_Token], path: Path, stack: list[Path]) -> list[Directive]:
        name, args, line = words[0].text, [w.text for w in words[1:]], words[0].line
        if name != "include" or not args:
            return [Directive(name, args, path, line)]
        spliced: list[Directive] = []
        for inc in self.includes.expand(args[0], self.base, path, line, stack):
            spliced.extend(self.parse(inc.path, inc.text, stack))
        return spliced


Scope = common.Scope[Directive]


def _plain(directives: Sequence[Directive]) -> list[Directive]:
    return [d for d in directives if d.block is None]


def _hsts(headers: Sequence[Directive]) -> tuple[bool, int | None, int | None]:
    for d in headers:
        if d.args and d.args[0].lower() == "strict-transport-security":
            match = re.search(r"max-age\s*=\s*\"?(\d+)", " ".join(d.args[1:]), re.IGNORECASE)
            return True, int(match.group(1)) if match else None, d.line
    return False, None, None


def _tls_enabled(own: Scope) -> bool:
    if any("ssl" in d.args[1:] for d in own.all("listen")):
        return True
    ssl = own.last("ssl")
    return (ssl is not None and bool(ssl.args) and ssl.args[0] == "on") or own.has("ssl_certificate")


@dataclass(frozen=True, slots=True)
class DefaultProtocols:
    """What nginx enables when ``ssl_protocols`` is not written, and why we think so."""

    protocols: tuple[str, ...]
    source: str  # said on the asset and in findings


def default_protocols(version: str | None, binary: str | None = None) -> DefaultProtocols:
    """nginx's built-in ``ssl_protocols`` for a version (knowledge base); the newest when unknown."""
    table = knowledge.server_default_protocols("nginx")
    if version is None:
        newest = table[-1]
        return DefaultProtocols(newest.protocols, f"nginx default, version unknown: assumed {newest.since} or later")
    wanted = tuple(int(p) for p in version.split("."))
    chosen = table[0]
    for entry in table:
        if tuple(int(p) for p in entry.since.split(".")) <= wanted:
            chosen = entry
    where = f", read from {binary}" if binary else ""
    return DefaultProtocols(chosen.protocols, f"nginx {version} default{where}")


def installed_version() -> tuple[str, str] | None:
    """The version string compiled into the installed nginx binary, read without running it."""
    # the scanning host's PATH says nothing about a remote host's: there, only the usual places
    which = "" if fs.is_remote() else shutil.which("nginx") or ""

    def version_in(data: bytes) -> str | None:
        match = _VERSION.search(data)
        return match.group(1).decode() if match else None

    return common.installed_binary_version([which, *_BINARIES], version_in)


@dataclass
class _Judge:
    """Builds one TLS context per server, from the server's own scope and its http scope."""

    base: Path
    defaults: DefaultProtocols
    # False for a file its root does not include (a site not enabled): only what it writes is judged,
    # never the server's defaults, and no per-server rule (HSTS, stapling) applies to what does not run
    active: bool = True
    refs: list[common.Reference] = field(default_factory=list)

    def context(
        self, scope: str, own: Scope, outer: Scope, file: Path, line: int, server: bool, *, defaults: bool = True
    ) -> dict[str, Any]:
        def pick(name: str) -> Directive | None:
            return own.last(name) or outer.last(name)

        defaults = defaults and self.active
        ctx = common.context_head(scope, file, line, server, self.active)
        settings: dict[str, Any] = {}
        protocols = pick("ssl_protocols")
        if protocols is not None:
            ctx.update(protocols=protocols.args, protocols_source="config", protocols_line=protocols.line)
            ctx["protocols_file"] = str(protocols.file)
        elif defaults:
            ctx.update(protocols=list(self.defaults.protocols), protocols_source=self.defaults.source)
            ctx.update(protocols_line=line, protocols_file=str(file))
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
            ctx["dh_params"] = str(common.resolve(dhparam.args[0], self.base))
            ctx["dh_params_line"] = dhparam.line
            self.refs.append(common.Reference(Path(ctx["dh_params"]), "dh-parameters", dhparam.line, dhparam.file))
        for name, role in (("ssl_certificate", "certificate"), ("ssl_certificate_key", "private-key")):
            paths = []
            for d in own.all(name) or outer.all(name):
                resolved = _named_path(d, self.base)
                if resolved is not None:
                    paths.append(str(resolved))
                    self.refs.append(common.Reference(resolved, role, d.line, d.file))
            if paths:
                settings[name] = paths
        stapling = pick("ssl_stapling")
        ctx["ocsp_stapling"] = common.is_on(stapling.args[0] if stapling and stapling.args else None)
        ctx["hsts"], ctx["hsts_max_age"], hsts_line = _hsts(own.all("add_header") or outer.all("add_header"))
        if hsts_line is not None:
            settings["add_header Strict-Transport-Security"] = ctx["hsts_max_age"]
        names = own.last("server_name")
        if names is not None:
            settings["server_name"] = " ".join(names.args)
        listens = [" ".join(d.args) for d in own.all("listen")]
        if listens:
            settings["listen"] = listens
        ctx["settings"] = settings
        return ctx

    def http_level(self, top: Sequence[Directive], path: Path, unused: str | None = None) -> list[dict[str, Any]]:
        """An http block (or snippet) with TLS settings but no TLS server: its protocols and ciphers
        still matter; stapling and HSTS belong to servers only. ``unused`` says why they are not in
        effect today when that is known (a root that includes no TLS server)."""
        flat = _plain(top) + [d for h in top if h.name == "http" and h.block for d in _plain(h.block)]
        if not any(d.name in ("ssl_protocols", "ssl_ciphers", "ssl_dhparam") for d in flat):
            return []
        scope = "http block" if any(d.name == "http" for d in top) else "file level"
        ctx = self.context(scope, Scope(flat), Scope([]), path, 1, False, defaults=False)
        if unused is not None:
            ctx["inactive"] = unused
        return [ctx]

    def servers(self, servers: Sequence[tuple[Directive, Scope]]) -> list[dict[str, Any]]:
        contexts = []
        for server, outer in servers:
            assert server.block is not None
            own = Scope(_plain(server.block))
            if not _tls_enabled(own):
                continue
            names = own.last("server_name")
            label = f"server {' '.join(names.args)}" if names else "server"
            contexts.append(self.context(label, own, outer, server.file, server.line, True))
        return contexts


def _named_path(d: Directive, base: Path) -> Path | None:
    if not d.args or d.args[0].startswith(("data:", "engine:", "store:")) or "$" in d.args[0]:
        return None
    return common.resolve(d.args[0], base)


def _servers(top: Sequence[Directive], outer: Scope | None = None) -> list[tuple[Directive, Scope]]:
    """Each server block with the scope it inherits from; every http scope is indexed once."""
    found: list[tuple[Directive, Scope]] = []
    file_level: Scope | None = None
    for d in top:
        if d.block is None:
            continue
        if d.name == "http":
            http = Scope(_plain(d.block))
            found.extend((inner, http) for inner in d.block if inner.name == "server" and inner.block is not None)
        elif d.name == "server":  # a snippet file holding bare server blocks: included inside http
            if file_level is None:
                file_level = outer if outer is not None else Scope(_plain(top))
            found.append((d, file_level))
    return found


def _named_files(directives: Sequence[Directive], base: Path, only: Path | None) -> list[common.Reference]:
    return common.named_files(directives, _FILE_DIRECTIVES, lambda d: _named_path(d, base), only)


# a main-context block only a root has; is_root confirms it is at the top level
_ROOT_BLOCK = re.compile(r"^[ \t]*(?:events|http)\s*\{", re.MULTILINE)


def is_root(top: Sequence[Directive], path: Path) -> bool:
    """nginx.conf by content (a main context with ``events`` or ``http``) or by name."""
    return path.name in ROOT_NAMES or any(d.name in ("events", "http") and d.block is not None for d in top)


@dataclass(frozen=True, slots=True)
class _Composed:
    root: Path
    top: list[Directive]
    includes: common.Includes
    included: frozenset[Path]  # real paths of every file the root reaches


class NginxHandler:
    name: ClassVar[str] = "nginx"
    priority: ClassVar[int] = 50
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset(ROOT_NAMES)

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

    def __init__(self) -> None:
        # per collector run: a root read once serves every snippet below it
        self._roots: common.RootCache[_Composed] = common.RootCache()

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

    @functools.cached_property
    def _installed(self) -> tuple[str, str] | None:
        return installed_version()  # once per collector run, when a server needs the defaults

    def _defaults(self) -> DefaultProtocols:
        found = self._installed
        return default_protocols(found[0] if found else None, found[1] if found else None)

    @staticmethod
    def _composed_root(root: Path, text: str) -> _Composed:
        parser = _Parser(root.parent)
        top = parser.parse(root, text, [])
        return _Composed(root, top, parser.includes, frozenset(common.real(Path(p)) for p in parser.includes.read))

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "nginx configuration")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        defaults = self._defaults()
        own_real = common.real(source.path)
        if source.path.name in ROOT_NAMES or _ROOT_BLOCK.search(text):
            parser = _Parser(source.path.parent)
            top = parser.parse(source.path, text, [])
            if is_root(top, source.path):
                return self._judge_root(source, text, top, parser, defaults)
        root = common.find_root(source.path, ROOT_NAMES)
        composed = self._roots.get(root, "nginx configuration", self._composed_root) if root is not None else None
        if composed is not None and own_real in composed.included:
            # judged where nginx reads it: in the root's composition, never alone
            refs = _named_files(composed.top, composed.root.parent, own_real)
            return common.judged_at_root(KIND, source, text, composed.root, refs, {"servers": []}, "tls_contexts")
        if composed is not None:
            # below a root that does not include it (a site not enabled): only what it writes is judged,
            # with paths resolved against the root's prefix; the root's http settings are the root's to report
            base = composed.root.parent
            parser = _Parser(base)
            top = parser.parse(source.path, text, [])
            reason = f"not included by {composed.root} (inactive): only what it writes is judged"
            where = common.Composition("not-included", composed.root, reason)
            outer = Scope(_plain(top))
            return self._judge_file(source, text, top, parser, base, defaults, outer, where, (composed.root,))
        where = common.Composition("alone", None, "no nginx.conf above it includes it: judged alone")
        parser = _Parser(source.path.parent)
        top = parser.parse(source.path, text, [])
        return self._judge_file(source, text, top, parser, source.path.parent, defaults, None, where, ())

    def _judge_root(
        self, source: FileSource, text: str, top: list[Directive], parser: _Parser, defaults: DefaultProtocols
    ) -> ParsedFile:
        base = source.path.parent
        judge = _Judge(base, defaults)
        # Debian's stock nginx.conf sets ssl_protocols in http, and its only site listens on port 80: the
        # setting waits for a TLS server; it is reported, at low severity, with that reason
        unused = f"no server that {source.path} includes serves TLS: in effect for any server that enables it"
        contexts = judge.servers(_servers(top)) or judge.http_level(top, source.path, unused)
        refs = [*judge.refs, *_named_files(top, base, None)]
        where = common.Composition("root", source.path, "nginx root: every server it includes is judged here")
        return self._build(source, text, contexts, refs, parser.includes, where, defaults, ())

    def _judge_file(
        self,
        source: FileSource,
        text: str,
        top: list[Directive],
        parser: _Parser,
        base: Path,
        defaults: DefaultProtocols,
        outer: Scope | None,
        where: common.Composition,
        follow: tuple[Path, ...],
    ) -> ParsedFile:
        judge = _Judge(base, defaults, active=where.role != "not-included")
        contexts = judge.servers(_servers(top, outer)) or judge.http_level(top, source.path)
        refs = [*judge.refs, *_named_files(top, base, common.real(source.path))]
        return self._build(source, text, contexts, refs, parser.includes, where, defaults, follow)

    def _build(
        self,
        source: FileSource,
        text: str,
        contexts: list[dict[str, Any]],
        refs: list[common.Reference],
        includes: common.Includes,
        where: common.Composition,
        defaults: DefaultProtocols,
        follow: tuple[Path, ...],
    ) -> ParsedFile:
        unique = list({(r.path, r.role, r.file, r.line): r for r in refs}.values())
        return common.build(
            KIND,
            source,
            text,
            {"servers": [c["settings"] for c in contexts]},
            properties={"tls_contexts": contexts, "default_protocols": defaults.source, **where.properties()},
            references=unique,
            includes=includes,
            follow=follow,
        )

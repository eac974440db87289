"""Apache httpd mod_ssl: TLS settings per ``<VirtualHost>``, with server-wide defaults, following ``Include``.

``<IfModule>``, ``<IfDefine>`` and similar containers are read as if their condition held (a scan
cannot know which modules load); ``<Directory>``, ``<Location>`` and the like are not TLS scopes.
Relative paths resolve against ``ServerRoot`` when the file sets one, else the file's directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import common
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import knowledge

KIND = "apache"
# mod_ssl 2.4's default: "SSLProtocol all -SSLv3"
DEFAULT_PROTOCOL_ARGS = ("all", "-SSLv3")
_ALL = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TRANSPARENT = {"ifmodule", "ifdefine", "ifversion", "iffile", "ifdirective", "ifsection", "else", "elseif", "if"}
_FILE_DIRECTIVES = {
    "sslcertificatefile": "certificate",
    "sslcertificatekeyfile": "private-key",
    "sslcertificatechainfile": "certificate-chain",
    # CA certificates make a trust store (scanner.inventory.trust)
    "sslcacertificatefile": "ca-certificates",
    "sslcacertificatepath": "ca-directory",
    "sslproxycacertificatefile": "ca-certificates",
}
_ALL_FILE_DIRECTIVES = {
    **_FILE_DIRECTIVES,
    "sslcarevocationfile": "revocation-list",
}
ROOT_NAMES = ("apache2.conf", "httpd.conf", "conf/httpd.conf")


@dataclass
class Directive:
    name: str  # lower-cased: Apache directives are case-insensitive
    args: list[str]
    file: Path
    line: int
    block: list[Directive] | None = None


def split_words(text: str) -> list[str]:
    """Apache's ap_getword_conf: words split on whitespace, "..." or '...' quoted, \\" inside quotes.

    One pass over the text (shlex was quadratic in the length of a token); an unbalanced quote
    takes the rest of the line, as Apache does.
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            quote, i, start, parts = ch, i + 1, i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] == quote:
                    parts.append(text[start:i])
                    start = i + 1
                    i += 2
                    continue
                i += 1
            parts.append(text[start:i])
            words.append("".join(parts))
            i += 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        words.append(text[start:i])
    return words


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined (in linear time), numbered by their first line."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        if line.endswith("\\"):
            parts = [line[:-1]]
            while i < len(lines):
                nxt = lines[i].strip()
                i += 1
                if nxt.endswith("\\"):
                    parts.append(nxt[:-1])
                else:
                    parts.append(nxt)
                    break
            line = " ".join(parts)
        yield number, line


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)
    server_root: Directive | None = None

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> list[Directive]:
        root: list[Directive] = []
        open_blocks: list[list[Directive]] = [root]
        for number, line in _logical_lines(text):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("</"):
                if len(open_blocks) > 1:
                    open_blocks.pop()
                continue
            if stripped.startswith("<") and stripped.endswith(">"):
                words = split_words(stripped[1:-1])
                block: list[Directive] = []
                name = words[0].lower() if words else ""
                open_blocks[-1].append(Directive(name, words[1:], path, number, block))
                open_blocks.append(block)
                continue
            words = split_words(stripped)
            if not words:
                continue
            name = words[0].lower()
            if name == "serverroot" and len(words) > 1:
                self.base = common.resolve(words[1], self.base)
                self.server_root = Directive(name, words[1:], path, number)
            if name in ("include", "includeoptional") and len(words) > 1:
                for inc in self.includes.expand(
                    words[1],
                    self.base,
                    path,
                    number,
                    [*stack, path],
                    directory_files="*",
                    optional=name == "includeoptional",
                ):
                    open_blocks[-1].extend(self.parse(inc.path, inc.text, [*stack, path]))
                continue
            open_blocks[-1].append(Directive(name, words[1:], path, number))
        return root


def _walk(directives: Sequence[Directive], want: Callable[[Directive], bool]) -> list[Directive]:
    """Directives ``want`` picks, in order, looking through conditional containers (iteratively)."""
    out: list[Directive] = []
    pending: list[Iterator[Directive]] = [iter(directives)]
    while pending:
        d = next(pending[-1], None)
        if d is None:
            pending.pop()
        elif want(d):
            out.append(d)
        elif d.block is not None and d.name in _TRANSPARENT:
            pending.append(iter(d.block))
    return out


def _flatten(directives: Sequence[Directive]) -> list[Directive]:
    """Plain directives of a scope, looking through conditional containers."""
    return _walk(directives, lambda d: d.block is None)


def _vhosts(directives: Sequence[Directive]) -> list[Directive]:
    return _walk(directives, lambda d: d.block is not None and d.name == "virtualhost")


def protocols_from(args: Sequence[str]) -> list[str]:
    """mod_ssl's SSLProtocol: a bare name replaces the set, +name adds, -name removes."""
    enabled: list[str] = []
    for arg in args:
        sign = arg[0] if arg[:1] in ("+", "-") else ""
        name = arg[1:] if sign else arg
        if name.lower() == "all":
            names = list(_ALL)
        else:
            known = knowledge.tls_protocol(name)
            names = [known[0]] if known else []
        if sign == "-":
            enabled = [p for p in enabled if p not in names]
        elif sign == "+":
            enabled += [p for p in names if p not in enabled]
        else:
            enabled = names
    return enabled


Scope = common.Scope[Directive]


def _conf_cmds(directives: Sequence[Directive]) -> dict[str, Directive]:
    cmds: dict[str, Directive] = {}
    for d in directives:
        if len(d.args) >= 2:
            cmds[d.args[0].lower()] = d
    return cmds


@dataclass
class _Judge:
    base: Path
    # False for a file its root does not include (a site not enabled): only what it writes is judged,
    # never the server's defaults, and no per-server rule (HSTS, stapling) applies to what does not run
    active: bool = True
    refs: list[common.Reference] = field(default_factory=list)

    def context(
        self, scope: str, own: Scope, outer: Scope, file: Path, line: int, server: bool, *, defaults: bool
    ) -> dict[str, Any]:
        def pick(name: str) -> Directive | None:
            return own.last(name) or outer.last(name)

        defaults = defaults and self.active
        ctx = common.context_head(scope, file, line, server, self.active)
        settings: dict[str, Any] = {}
        cmds = {**_conf_cmds(outer.all("sslopensslconfcmd")), **_conf_cmds(own.all("sslopensslconfcmd"))}
        protocol = pick("sslprotocol")
        if protocol is not None:
            ctx.update(protocols=protocols_from(protocol.args), protocols_source="config")
            ctx.update(protocols_line=protocol.line, protocols_file=str(protocol.file))
            settings["SSLProtocol"] = " ".join(protocol.args)
        elif defaults:
            ctx.update(protocols=protocols_from(DEFAULT_PROTOCOL_ARGS), protocols_source="mod_ssl default")
            ctx.update(protocols_line=line, protocols_file=str(file))
        minimum = cmds.get("minprotocol")
        if minimum is not None:
            allowed = set(knowledge.tls_protocols_from(minimum.args[1]))
            current = ctx.get("protocols", list(_ALL))
            ctx.update(protocols=[p for p in current if p in allowed], protocols_source="config")
            ctx.update(protocols_line=minimum.line, protocols_file=str(minimum.file))
        for d in own.all("sslciphersuite") or outer.all("sslciphersuite"):
            if len(d.args) >= 2 and d.args[0].upper().startswith("TLSV1.3"):
                ctx["ciphersuites"] = d.args[1]
                settings["SSLCipherSuite TLSv1.3"] = d.args[1]
            elif d.args:
                ctx.update(ciphers=d.args[-1], ciphers_line=d.line, ciphers_file=str(d.file))
                settings["SSLCipherSuite"] = d.args[-1]
        for _, d in sorted(cmds.items()):
            settings[f"SSLOpenSSLConfCmd {d.args[0]}"] = " ".join(d.args[1:])
        dh = cmds.get("dhparameters")
        if dh is not None:
            ctx["dh_params"] = str(common.resolve(dh.args[1], self.base))
            ctx["dh_params_line"] = dh.line
            self.refs.append(common.Reference(Path(ctx["dh_params"]), "dh-parameters", dh.line, dh.file))
        for name, role in _FILE_DIRECTIVES.items():
            paths = []
            for d in own.all(name) or outer.all(name):
                resolved = _named_path(d, self.base)
                if resolved is not None:
                    paths.append(str(resolved))
                    self.refs.append(common.Reference(resolved, role, d.line, d.file))
            if paths:
                key = {"certificate": "SSLCertificateFile", "private-key": "SSLCertificateKeyFile"}.get(role, name)
                settings[key] = paths
        stapling = pick("sslusestapling")
        ctx["ocsp_stapling"] = common.is_on(stapling.args[0] if stapling and stapling.args else None)
        settings["SSLUseStapling"] = ctx["ocsp_stapling"]
        ctx["hsts"], ctx["hsts_max_age"] = False, None
        for d in [*outer.all("header"), *own.all("header")]:
            args = [a.lower() for a in d.args]
            if "strict-transport-security" not in args:
                continue
            position = args.index("strict-transport-security")
            value = " ".join(d.args[position + 1 :])
            if "unset" in args[:position]:
                ctx["hsts"], ctx["hsts_max_age"] = False, None
                continue
            match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
            ctx["hsts"], ctx["hsts_max_age"] = True, int(match.group(1)) if match else None
        settings["Strict-Transport-Security max-age"] = ctx["hsts_max_age"]
        server_name = own.last("servername")
        if server_name is not None:
            settings["ServerName"] = " ".join(server_name.args)
        ctx["settings"] = settings
        return ctx

    def virtual_hosts(self, tree: Sequence[Directive], server_wide: Scope) -> list[dict[str, Any]]:
        contexts = []
        global_engine = server_wide.last("sslengine")
        for vhost in _vhosts(tree):
            assert vhost.block is not None
            own = Scope(_flatten(vhost.block))
            engine = own.last("sslengine") or global_engine
            if not common.is_on(engine.args[0] if engine and engine.args else None):
                continue
            names = own.last("servername")
            label = f"VirtualHost {' '.join(vhost.args)}" + (f" ({names.args[0]})" if names and names.args else "")
            contexts.append(self.context(label, own, server_wide, vhost.file, vhost.line, True, defaults=True))
        return contexts

    def server_config(self, server_wide: Scope, path: Path) -> list[dict[str, Any]]:
        """Server-wide TLS defaults without a TLS virtual host (e.g. mods-available/ssl.conf)."""
        if not any(server_wide.has(name) for name in ("sslprotocol", "sslciphersuite", "sslopensslconfcmd")):
            return []
        return [self.context("server config", server_wide, Scope([]), path, 1, False, defaults=False)]


def _named_path(d: Directive, base: Path) -> Path | None:
    if not d.args or d.args[0].startswith(("pkcs11:", "|")) or "${" in d.args[0]:
        return None
    return common.resolve(d.args[0], base)


def _named_files(directives: Sequence[Directive], base: Path, only: Path | None) -> list[common.Reference]:
    return common.named_files(directives, _ALL_FILE_DIRECTIVES, lambda d: _named_path(d, base), only)


def default_server_root(root: Path) -> Path:
    """Where relative paths resolve when the root sets no ServerRoot: the compiled-in HTTPD_ROOT.

    Debian builds it as /etc/apache2 (apache2.conf's folder), Red Hat as /etc/httpd with the root in
    /etc/httpd/conf: the root's folder, or its parent when that folder is ``conf``.
    """
    return root.parent.parent if root.parent.name == "conf" else root.parent


@dataclass(frozen=True, slots=True)
class _Composed:
    root: Path
    tree: list[Directive]
    server_root: Path
    included: frozenset[Path]


class ApacheHandler:
    name: ClassVar[str] = "apache"
    priority: ClassVar[int] = 51
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"httpd.conf", "apache2.conf", "ssl.conf", "httpd-ssl.conf"})

    _TOKENS = frozenset(
        w
        for name in [
            "VirtualHost",
            "SSLEngine",
            "SSLProtocol",
            "SSLCipherSuite",
            "SSLCertificateFile",
            "SSLCertificateKeyFile",
            "SSLUseStapling",
            "SSLOpenSSLConfCmd",
            "LoadModule",
            "ServerRoot",
            "DocumentRoot",
            "IfModule",
            "Directory",
            "Location",
            "Files",
            "ServerName",
            "ServerAdmin",
            "ErrorLog",
            "CustomLog",
            "Listen",
        ]
        for w in (name.encode(), name.lower().encode())
    )
    _STRONG = re.compile(
        r"^[ \t]*(?:<VirtualHost[\s>]|(?:SSL(?:Engine|Protocol|CipherSuite|CertificateFile|CertificateKeyFile"
        r"|UseStapling|OpenSSLConfCmd)|LoadModule|ServerRoot|DocumentRoot)[ \t]+[^\s=(])",
        re.MULTILINE | re.IGNORECASE,
    )
    _WEAK = re.compile(
        r"^[ \t]*(?:<(?:IfModule|Directory|Location|Files)\s|(?:ServerName|ServerAdmin|ErrorLog|CustomLog|Listen)"
        r"[ \t]+[^\s=(])",
        re.MULTILINE | re.IGNORECASE,
    )

    def __init__(self) -> None:
        # per collector run: a root read once serves every file below it
        self._roots: common.RootCache[_Composed] = common.RootCache()

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        # apache2.conf opens with several KiB of comments: its name says what it is
        if path.name in ROOT_NAMES and b"\n" in head:
            return True
        if self._TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        return bool(self._STRONG.search(text)) or len(self._WEAK.findall(text)) >= 2

    @staticmethod
    def _composed_root(root: Path, text: str) -> _Composed:
        parser = _Parser(default_server_root(root))
        tree = parser.parse(root, text, [])
        return _Composed(root, tree, parser.base, frozenset(common.real(Path(p)) for p in parser.includes.read))

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "Apache configuration")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        own_real = common.real(source.path)
        if source.path.name in ROOT_NAMES[:2] or re.search(r"^\s*ServerRoot\s", text, re.MULTILINE | re.IGNORECASE):
            return self._judge_root(source, text)
        root = common.find_root(source.path, ROOT_NAMES)
        composed = self._roots.get(root, "Apache configuration", self._composed_root) if root is not None else None
        if composed is not None and own_real in composed.included:
            refs = _named_files(composed.tree, composed.server_root, own_real)
            extra = {"server_root": str(composed.server_root)}
            settings: dict[str, Any] = {"virtual_hosts": []}
            return common.judged_at_root(KIND, source, text, composed.root, refs, settings, "tls_contexts", extra)
        if composed is not None:
            # below a root that does not include it (a site or module not enabled): only what it writes is
            # judged, paths resolved against the root's ServerRoot; the root reports its own settings
            parser = _Parser(composed.server_root)
            tree = parser.parse(source.path, text, [])
            outer = _flatten(tree)
            reason = f"not included by {composed.root} (inactive): only what it writes is judged"
            where = common.Composition("not-included", composed.root, reason)
            return self._judge(source, text, tree, outer, parser, composed.server_root, where, (composed.root,))
        parser = _Parser(source.path.parent)
        tree = parser.parse(source.path, text, [])
        where = common.Composition("alone", None, "no apache2.conf or httpd.conf above it includes it: judged alone")
        return self._judge(source, text, tree, _flatten(tree), parser, parser.base, where, ())

    def _judge_root(self, source: FileSource, text: str) -> ParsedFile:
        parser = _Parser(default_server_root(source.path))
        tree = parser.parse(source.path, text, [])
        where = common.Composition("root", source.path, "Apache root: every VirtualHost it includes is judged here")
        return self._judge(source, text, tree, _flatten(tree), parser, parser.base, where, ())

    def _judge(
        self,
        source: FileSource,
        text: str,
        tree: list[Directive],
        outer: list[Directive],
        parser: _Parser,
        server_root: Path,
        where: common.Composition,
        follow: tuple[Path, ...],
    ) -> ParsedFile:
        judge = _Judge(server_root, active=where.role != "not-included")
        server_wide = Scope(outer)
        contexts = judge.virtual_hosts(tree, server_wide) or judge.server_config(server_wide, source.path)
        only = None if where.role == "root" else common.real(source.path)
        refs = [*judge.refs, *_named_files(tree, server_root, only)]
        unique = list({(r.path, r.role, r.file, r.line): r for r in refs}.values())
        root_source = (
            f"ServerRoot at {parser.server_root.file}:{parser.server_root.line}"
            if parser.server_root is not None
            else "compiled-in default assumed (the root's folder)"
        )
        return common.build(
            KIND,
            source,
            text,
            {"virtual_hosts": [c["settings"] for c in contexts]},
            properties={
                "tls_contexts": contexts,
                "server_root": str(server_root),
                "server_root_source": root_source,
                **where.properties(),
            },
            references=unique,
            includes=parser.includes,
            follow=follow,
        )

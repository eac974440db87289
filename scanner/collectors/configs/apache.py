"""Apache httpd mod_ssl: TLS settings per ``<VirtualHost>``, with server-wide defaults, following ``Include``.

``<IfModule>``, ``<IfDefine>`` and similar containers are read as if their condition held (a scan
cannot know which modules load); ``<Directory>``, ``<Location>`` and the like are not TLS scopes.
Relative paths resolve against ``ServerRoot`` when the file sets one, else the file's directory.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
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


@dataclass
class Directive:
    name: str  # lower-cased: Apache directives are case-insensitive
    args: list[str]
    file: Path
    line: int
    block: list[Directive] | None = None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:  # an unbalanced quote: Apache would refuse it too; keep the words
        return text.split()


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> list[Directive]:
        root: list[Directive] = []
        open_blocks: list[list[Directive]] = [root]
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            number, line = i + 1, lines[i]
            i += 1
            while line.endswith("\\") and i < len(lines):  # continuation lines
                line = line[:-1] + " " + lines[i].strip()
                i += 1
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("</"):
                if len(open_blocks) > 1:
                    open_blocks.pop()
                continue
            if stripped.startswith("<") and stripped.endswith(">"):
                words = _split(stripped[1:-1])
                block: list[Directive] = []
                name = words[0].lower() if words else ""
                open_blocks[-1].append(Directive(name, words[1:], path, number, block))
                open_blocks.append(block)
                continue
            words = _split(stripped)
            if not words:
                continue
            name = words[0].lower()
            if name == "serverroot" and len(words) > 1:
                self.base = common.resolve(words[1], self.base)
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


def _flatten(directives: Sequence[Directive]) -> list[Directive]:
    """Plain directives of a scope, looking through conditional containers."""
    out: list[Directive] = []
    for d in directives:
        if d.block is None:
            out.append(d)
        elif d.name in _TRANSPARENT:
            out.extend(_flatten(d.block))
    return out


def _vhosts(directives: Sequence[Directive]) -> list[Directive]:
    out: list[Directive] = []
    for d in directives:
        if d.block is None:
            continue
        if d.name == "virtualhost":
            out.append(d)
        elif d.name in _TRANSPARENT:
            out.extend(_vhosts(d.block))
    return out


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


def _last(directives: Sequence[Directive], name: str) -> Directive | None:
    found = [d for d in directives if d.name == name]
    return found[-1] if found else None


def _conf_cmds(directives: Sequence[Directive]) -> dict[str, Directive]:
    cmds: dict[str, Directive] = {}
    for d in directives:
        if d.name == "sslopensslconfcmd" and len(d.args) >= 2:
            cmds[d.args[0].lower()] = d
    return cmds


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
    defaults: bool,
) -> dict[str, Any]:
    def pick(name: str) -> Directive | None:
        return _last(own, name) or _last(outer, name)

    ctx: dict[str, Any] = {"scope": scope, "file": str(file), "line": line, "server": server}
    settings: dict[str, Any] = {}
    cmds = {**_conf_cmds(outer), **_conf_cmds(own)}
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
    suites = [d for d in own if d.name == "sslciphersuite"] or [d for d in outer if d.name == "sslciphersuite"]
    for d in suites:
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
        ctx["dh_params"] = str(common.resolve(dh.args[1], base))
        ctx["dh_params_line"] = dh.line
        refs.append(common.Reference(Path(ctx["dh_params"]), "dh-parameters", dh.line, dh.file))
    for name, role in _FILE_DIRECTIVES.items():
        chosen = [d for d in own if d.name == name] or [d for d in outer if d.name == name]
        paths = []
        for d in chosen:
            if d.args and not d.args[0].startswith(("pkcs11:", "|")):
                resolved = common.resolve(d.args[0], base)
                paths.append(str(resolved))
                refs.append(common.Reference(resolved, role, d.line, d.file))
        if paths:
            settings[{"certificate": "SSLCertificateFile", "private-key": "SSLCertificateKeyFile"}.get(role, name)] = (
                paths
            )
    stapling = pick("sslusestapling")
    ctx["ocsp_stapling"] = common.is_on(stapling.args[0] if stapling and stapling.args else None)
    settings["SSLUseStapling"] = ctx["ocsp_stapling"]
    ctx["hsts"], ctx["hsts_max_age"] = False, None
    for d in [*outer, *own]:
        args = [a.lower() for a in d.args]
        if d.name == "header" and "strict-transport-security" in args:
            position = args.index("strict-transport-security")
            value = " ".join(d.args[position + 1 :])
            if "unset" in args[:position]:
                ctx["hsts"], ctx["hsts_max_age"] = False, None
                continue
            match = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
            ctx["hsts"], ctx["hsts_max_age"] = True, int(match.group(1)) if match else None
    settings["Strict-Transport-Security max-age"] = ctx["hsts_max_age"]
    server_name = _last(own, "servername")
    if server_name is not None:
        settings["ServerName"] = " ".join(server_name.args)
    ctx["settings"] = settings
    return ctx


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

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        if self._TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        return bool(self._STRONG.search(text)) or len(self._WEAK.findall(text)) >= 2

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "Apache configuration")
        except common.ConfigError as exc:
            return common.binary_error(KIND, source, exc)
        parser = _Parser(source.path.parent)
        tree = parser.parse(source.path, text, [])
        base = parser.base
        server_wide = _flatten(tree)
        refs: list[common.Reference] = []
        contexts: list[dict[str, Any]] = []
        global_engine = _last(server_wide, "sslengine")
        for vhost in _vhosts(tree):
            assert vhost.block is not None
            own = _flatten(vhost.block)
            engine = _last(own, "sslengine") or global_engine
            if not common.is_on(engine.args[0] if engine and engine.args else None):
                continue
            names = _last(own, "servername")
            label = f"VirtualHost {' '.join(vhost.args)}" + (f" ({names.args[0]})" if names and names.args else "")
            contexts.append(_context(label, own, server_wide, vhost.file, vhost.line, True, base, refs, defaults=True))
        tls_directives = ("sslprotocol", "sslciphersuite", "sslopensslconfcmd")
        if not contexts and any(d.name in tls_directives for d in server_wide):
            # server-wide defaults without a TLS virtual host (e.g. mods-available/ssl.conf)
            contexts.append(
                _context("server config", server_wide, [], source.path, 1, False, base, refs, defaults=False)
            )
        return common.build(
            KIND,
            source,
            text,
            {"virtual_hosts": [c["settings"] for c in contexts]},
            properties={"tls_contexts": contexts},
            references=refs,
            includes=parser.includes,
        )

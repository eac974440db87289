"""OpenSSH sshd_config and ssh_config: algorithm lists per scope, host keys, ``Match``/``Host`` and ``Include``.

For each keyword OpenSSH uses the first value it obtains, so within a scope the first occurrence
wins. Each ``Match`` (and, for ssh_config, ``Host``) block is a scope of its own holding the values
it sets. A list that starts with ``+``, ``-`` or ``^`` edits OpenSSH's built-in default: the named
algorithms are enabled (``+``, ``^``) or removed (``-``).

An ``sshd_config`` root is judged by its effective settings: a list it does not write is the
compiled-in default of the installed OpenSSH (read from the sshd binary; the lists per version are
in the knowledge base), and an edited list is resolved against it. A drop-in that its root
includes (``sshd_config.d/*.conf``) is judged there, not alone. See docs/configs.md.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import common
from scanner.collectors.files import fs
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory import knowledge

# keyword (lower-case) -> property name in a scope
ALGORITHM_KEYWORDS = {
    "ciphers": "ciphers",
    "macs": "macs",
    "kexalgorithms": "kex",
    "hostkeyalgorithms": "host_key_algorithms",
    "pubkeyacceptedalgorithms": "pubkey_accepted_algorithms",
    "pubkeyacceptedkeytypes": "pubkey_accepted_algorithms",  # the pre-8.5 name
    "casignaturealgorithms": "ca_signature_algorithms",
}
_TOKENS = frozenset(
    w
    for name in [
        "HostKey",
        "PermitRootLogin",
        "Subsystem",
        "AuthorizedKeysFile",
        "UsePAM",
        "ListenAddress",
        "PrintMotd",
        "AcceptEnv",
        "ChallengeResponseAuthentication",
        "KbdInteractiveAuthentication",
        "X11Forwarding",
        "ClientAliveInterval",
        "PermitEmptyPasswords",
        "MaxAuthTries",
        "AllowUsers",
        "AllowGroups",
        "HostKeyAlgorithms",
        "PubkeyAuthentication",
        "PasswordAuthentication",
        "Ciphers",
        "MACs",
        "KexAlgorithms",
        "IdentityFile",
        "StrictHostKeyChecking",
        "SendEnv",
        "HashKnownHosts",
        "ForwardAgent",
        "ForwardX11",
        "ProxyJump",
        "ProxyCommand",
        "UserKnownHostsFile",
        "GSSAPIAuthentication",
        "ServerAliveInterval",
    ]
    for w in (name.encode(), name.lower().encode())
)
# keywords only OpenSSH uses; generic ones (Port, Match, Include, Host, User) count only beside a name hint
_DISTINCT_KEYWORDS = re.compile(
    r"^[ \t]*(HostKey|PermitRootLogin|Subsystem|AuthorizedKeysFile|UsePAM|ListenAddress|PrintMotd|AcceptEnv"
    r"|ChallengeResponseAuthentication|KbdInteractiveAuthentication|X11Forwarding|ClientAliveInterval"
    r"|PermitEmptyPasswords|MaxAuthTries|AllowUsers|AllowGroups|HostKeyAlgorithms|PubkeyAuthentication"
    r"|PasswordAuthentication|Ciphers|MACs|KexAlgorithms|IdentityFile|StrictHostKeyChecking|SendEnv|HashKnownHosts"
    r"|ForwardAgent|ForwardX11|ProxyJump|ProxyCommand|UserKnownHostsFile|GSSAPIAuthentication|ServerAliveInterval)"
    r"(?:[ \t]+|[ \t]*=[ \t]*)[^\s=(]",
    re.MULTILINE | re.IGNORECASE,
)
_GENERIC_KEYWORDS = re.compile(
    r"^[ \t]*(?:Port|Match|Include|Host|User|HostName)[ \t]+\S", re.MULTILINE | re.IGNORECASE
)
_SERVER_ONLY = re.compile(
    r"^\s*(?:HostKey|PermitRootLogin|Subsystem|AuthorizedKeysFile|UsePAM|ListenAddress|AcceptEnv|AllowUsers"
    r"|PermitEmptyPasswords|ClientAliveInterval|PrintMotd)(?:\s|=)",
    re.MULTILINE | re.IGNORECASE,
)
_CLIENT_ONLY = re.compile(
    r"^\s*(?:Host|IdentityFile|StrictHostKeyChecking|SendEnv|HashKnownHosts|ForwardAgent|ProxyJump)(?:\s|=)",
    re.MULTILINE | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Line:
    keyword: str  # lower-case
    args: list[str]
    file: Path
    number: int


def split_args(text: str) -> list[str]:
    """OpenSSH's argv_split: whitespace-separated words, "..." and '...' quoting, backslash escapes.

    A word that starts with ``#`` ends the line (a trailing comment). One pass over the text: shlex
    was quadratic in the length of a token.
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t\r\n":
            i += 1
            continue
        if text[i] == "#":
            break
        buf: list[str] = []
        quote = ""
        start = i
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n and (text[i + 1] in "'\"\\" or (not quote and text[i + 1] == " ")):
                buf.append(text[start:i])
                start = i + 1  # keep the escaped character, drop the backslash
                i += 2
                continue
            if not quote and ch in " \t\r\n":
                break
            if not quote and ch in "'\"":
                buf.append(text[start:i])
                quote, start = ch, i + 1
            elif quote and ch == quote:
                buf.append(text[start:i])
                quote, start = "", i + 1
            i += 1
        buf.append(text[start:i])
        words.append("".join(buf))
    return words


def _split(line: str) -> tuple[str, list[str]] | None:
    """Keyword and arguments; the keyword ends at whitespace or one ``=`` (OpenSSH's strdelim)."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    end = 0
    while end < len(stripped) and stripped[end] not in " \t=":
        end += 1
    keyword, rest = stripped[:end].lower(), stripped[end:].lstrip(" \t")
    if rest.startswith("="):
        rest = rest[1:]
    return keyword, split_args(rest)


@dataclass
class _Parser:
    base: Path
    includes: common.Includes = field(default_factory=common.Includes)

    def parse(self, path: Path, text: str, stack: Sequence[Path]) -> list[Line]:
        out: list[Line] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            split = _split(raw)
            if split is None:
                continue
            keyword, args = split
            if keyword == "include":
                for pattern in args:
                    for inc in self.includes.expand(pattern, self.base, path, number, [*stack, path]):
                        out.extend(self.parse(inc.path, inc.text, [*stack, path]))
                continue
            out.append(Line(keyword, args, path, number))
        return out


def _algorithms(value: str) -> dict[str, Any]:
    mode = {"+": "append", "-": "remove", "^": "prepend"}.get(value[:1], "replace")
    names = [n.strip() for n in (value[1:] if mode != "replace" else value).split(",") if n.strip()]
    return {"names": names, "mode": mode}


def _scopes(lines: Sequence[Line], client: bool, refs: list[common.Reference], base: Path) -> list[dict[str, Any]]:
    scopes: list[dict[str, Any]] = []
    current: dict[str, Any] = {"scope": "global", "file": None, "line": None, "settings": {}}
    scopes.append(current)
    for item in lines:
        if item.keyword == "match" or (client and item.keyword == "host"):
            label = f"{'Host' if item.keyword == 'host' else 'Match'} {' '.join(item.args)}"
            current = {"scope": label, "file": str(item.file), "line": item.number, "settings": {}}
            scopes.append(current)
            continue
        if current["file"] is None:
            current.update(file=str(item.file), line=item.number)
        prop = ALGORITHM_KEYWORDS.get(item.keyword)
        if prop is not None and item.args and prop not in current:  # first value wins
            current[prop] = _algorithms(",".join(item.args))
            current[f"{prop}_line"] = item.number
            current[f"{prop}_file"] = str(item.file)
            current["settings"][item.keyword] = ",".join(item.args)
        elif item.keyword == "hostkey" and item.args:
            resolved = common.resolve(item.args[0], base)
            current["settings"].setdefault("hostkey", []).append(str(resolved))
            refs.append(common.Reference(resolved, "host-key", item.number, item.file))
        elif item.keyword in ("port", "listenaddress", "permitrootlogin", "passwordauthentication"):
            current["settings"].setdefault(item.keyword, " ".join(item.args))
    return [s for s in scopes if s["file"] is not None]


def effective(configured: Mapping[str, Any] | None, default: Sequence[str]) -> list[str]:
    """The list sshd uses: a written list, or the compiled-in default edited by ``+``, ``-`` or ``^``.

    OpenSSH's kex_assemble_names: ``+`` appends the names missing from the default, ``^`` puts them
    first, ``-`` removes every default name matching one of the (wildcard) patterns.
    """
    if configured is None:
        return list(default)
    names = [str(n) for n in configured.get("names", [])]
    mode = configured.get("mode")
    if mode == "append":
        return [*default, *(n for n in names if n not in default)]
    if mode == "prepend":
        return [*names, *(n for n in default if n not in names)]
    if mode == "remove":
        return [n for n in default if not any(fnmatch.fnmatchcase(n, pattern) for pattern in names)]
    return names


_SSHD_BINARIES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd")
_SSHD_VERSION = re.compile(rb"OpenSSH_(\d+\.\d+)(p\d+)?")


def installed_openssh() -> tuple[str, str] | None:
    """The OpenSSH release compiled into the installed sshd (e.g. "9.2p1"), read without running it."""

    def version_in(data: bytes) -> str | None:
        # the release string ("OpenSSH_9.2p1") is what sshd -V prints; bare "OpenSSH_2.*" are compat patterns
        found = next((m for m in _SSHD_VERSION.finditer(data) if m.group(2)), None)
        return found.group(1).decode() + found.group(2).decode() if found else None

    return common.installed_binary_version(_SSHD_BINARIES, version_in)


def apply_defaults(scopes: list[dict[str, Any]], version: tuple[str, str] | None) -> dict[str, Any]:
    """Turn every scope's algorithm lists into the lists sshd uses, with where each came from.

    The global scope gets the compiled-in default for every list it does not write; a Match block
    keeps only the lists it writes (others fall back to the global ones at connection time).
    """
    if version is None:
        return {"openssh_version": None, "defaults_source": "installed OpenSSH version not found: defaults unknown"}
    known = knowledge.ssh_defaults(version[0])
    if known is None:
        return {"openssh_version": version[0], "defaults_source": f"no defaults recorded for OpenSSH {version[0]}"}
    assumed = "" if version[0].startswith(known.version) else f", defaults recorded for {known.version} assumed"
    label = f"OpenSSH {version[0]} default{assumed}"
    for ctx in scopes:
        for prop, default in known.lists.items():
            configured = ctx.get(prop)
            if configured is None and ctx["scope"] != "global":
                continue
            names = effective(configured, default)
            if configured is None:
                source = label
                ctx[f"{prop}_line"] = None  # nothing written: the finding names the file, not a line
            elif configured.get("mode") == "replace":
                source = "config"
            else:
                source = f"config edits the {label}"
            ctx[prop] = {
                "names": names,
                "mode": "effective",
                "source": source,
                **({"configured": configured} if configured is not None else {}),
            }
    return {
        "openssh_version": version[0],
        "openssh_binary": version[1],
        "defaults_source": f"{known.source} ({label})",
    }


# sshd's host keys when no HostKey line is written: _PATH_HOST_*_KEY_FILE in OpenSSH's pathnames.h
# (SSHDIR, /etc/ssh on Debian: the root's folder); DSA left the defaults in OpenSSH 7.0
DEFAULT_HOST_KEYS = ("ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key")


def _default_host_keys(root: Path, global_scope: dict[str, Any]) -> list[common.Reference]:
    """The compiled-in host key files that exist beside the root: what sshd loads without HostKey."""
    found = [root.parent / name for name in DEFAULT_HOST_KEYS if fs.isfile(str(root.parent / name))]
    if found:
        global_scope["settings"]["hostkey"] = [str(p) for p in found]
        global_scope["settings"]["hostkey_source"] = "OpenSSH default (no HostKey line)"
    return [common.Reference(path, "host-key", 0, root) for path in found]


def _included_files(root: Path, text: str) -> frozenset[Path]:
    """The real paths of every file an OpenSSH root reads through ``Include``."""
    parser = _Parser(root.parent)
    parser.parse(root, text, [])
    return frozenset(common.real(Path(p)) for p in parser.includes.read)


class SshConfigHandler:
    name: ClassVar[str] = "ssh"
    priority: ClassVar[int] = 52
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"sshd_config", "ssh_config"})

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        # a root under its own name is claimed whatever it sets (Debian's opens with comments)
        if path.name in self.WELL_KNOWN_NAMES:
            return True
        if _TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        hinted = "ssh" in path.name.lower() or path.parent.name in ("ssh", ".ssh", "sshd_config.d", "ssh_config.d")
        distinct = {m.lower() for m in _DISTINCT_KEYWORDS.findall(text)}
        if len(distinct) >= 2:
            return True
        return hinted and bool(distinct or _GENERIC_KEYWORDS.search(text))

    def __init__(self) -> None:
        self._roots: common.RootCache[frozenset[Path]] = common.RootCache()

    @functools.cached_property
    def _openssh(self) -> tuple[str, str] | None:
        return installed_openssh()  # once per collector run, when an sshd_config needs the defaults

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        try:
            text = common.decode(source.data, "OpenSSH configuration")
        except common.ConfigError as exc:
            return common.binary_error("sshd", source, exc)
        name = source.path.name.lower()
        if "sshd" in name:
            client = False
        elif name.startswith("ssh_config") or name == "config":
            client = True
        else:
            client = len(_CLIENT_ONLY.findall(text)) > len(_SERVER_ONLY.findall(text))
        kind = "ssh" if client else "sshd"
        root_name = "ssh_config" if client else "sshd_config"
        if source.path.name == root_name:
            # relative Include paths are relative to /etc/ssh, the root's folder
            return self._judge(source, text, kind, client, source.path.parent, "root")
        root = common.find_root(source.path, (root_name,), levels=2)
        included = self._roots.get(root, "OpenSSH configuration", _included_files) if root is not None else None
        if root is not None and included is not None and common.real(source.path) in included:
            refs: list[common.Reference] = []
            lines = _Parser(root.parent).parse(source.path, text, [])
            _scopes([li for li in lines if li.file == source.path], client, refs, root.parent)
            extra = {"role": "client" if client else "server"}
            return common.judged_at_root(kind, source, text, root, refs, {"scopes": {}}, "ssh_contexts", extra)
        return self._judge(source, text, kind, client, source.path.parent, "alone")

    def _judge(self, source: FileSource, text: str, kind: str, client: bool, base: Path, role: str) -> ParsedFile:
        parser = _Parser(base)
        lines = parser.parse(source.path, text, [])
        refs: list[common.Reference] = []
        scopes = _scopes(lines, client, refs, base)
        properties: dict[str, Any] = {"role": "client" if client else "server"}
        if role == "root":
            where = common.Composition("root", source.path, f"{source.path.name}: effective settings judged here")
            if not client:
                if not any(s["scope"] == "global" for s in scopes):
                    scopes.insert(0, {"scope": "global", "file": str(source.path), "line": None, "settings": {}})
                properties.update(apply_defaults(scopes, self._openssh))
                if not any(r.role == "host-key" for r in refs):
                    refs.extend(_default_host_keys(source.path, scopes[0]))
        else:
            where = common.Composition("alone", None, "not included by an sshd_config or ssh_config: judged alone")
        return common.build(
            kind,
            source,
            text,
            {"scopes": {s["scope"]: s["settings"] for s in scopes}},
            properties={"ssh_contexts": scopes, **properties, **where.properties()},
            references=refs,
            includes=parser.includes,
        )

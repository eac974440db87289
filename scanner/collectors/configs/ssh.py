"""OpenSSH sshd_config and ssh_config: algorithm lists per scope, host keys, ``Match``/``Host`` and ``Include``.

For each keyword OpenSSH uses the first value it obtains, so within a scope the first occurrence
wins. Each ``Match`` (and, for ssh_config, ``Host``) block is a scope of its own holding the values
it sets. A list that starts with ``+``, ``-`` or ``^`` edits OpenSSH's built-in default: the named
algorithms are enabled (``+``, ``^``) or removed (``-``); the full list then depends on the
installed version, which a config file does not say.
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


def _split(line: str) -> tuple[str, list[str]] | None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    match = re.match(r"^(\S+?)\s*(?:=\s*|\s+)(.*)$", stripped)
    if match is None:
        return stripped.lower(), []
    try:
        args = shlex.split(match.group(2), comments=True)
    except ValueError:
        args = match.group(2).split()
    return match.group(1).lower(), args


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


class SshConfigHandler:
    name: ClassVar[str] = "ssh"
    priority: ClassVar[int] = 52
    oversize_is_error: ClassVar[bool] = True
    WELL_KNOWN_NAMES: ClassVar[frozenset[str]] = frozenset({"sshd_config", "ssh_config"})

    def sniff(self, path: Path, head: bytes) -> bool:
        text = common.text_head(head)
        if text is None:
            return common.binary_with_config_name(path, head, self.WELL_KNOWN_NAMES)
        if _TOKENS.isdisjoint(common.head_tokens(head)):
            return False
        hinted = "ssh" in path.name.lower() or path.parent.name in ("ssh", ".ssh", "sshd_config.d", "ssh_config.d")
        distinct = {m.lower() for m in _DISTINCT_KEYWORDS.findall(text)}
        if len(distinct) >= 2:
            return True
        return hinted and bool(distinct or _GENERIC_KEYWORDS.search(text))

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
        base = source.path.parent
        parser = _Parser(base)
        lines = parser.parse(source.path, text, [])
        refs: list[common.Reference] = []
        scopes = _scopes(lines, client, refs, base)
        return common.build(
            kind,
            source,
            text,
            {"scopes": {s["scope"]: s["settings"] for s in scopes}},
            properties={"ssh_contexts": scopes, "role": "client" if client else "server"},
            references=refs,
            includes=parser.includes,
        )

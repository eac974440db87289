"""Plaintext secrets written into config and .env files: passwords, API keys, tokens, private keys.

A secret is reported by kind and location (file and line), never by value: the value lives only
in the local variables of the line being checked, is compared and measured, and is dropped.
Known formats (AWS access key ids, PEM private key blocks, provider tokens) are found anywhere;
other secrets are assignments to a secret-like name with a high-entropy value.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Relation, RelationType, freeze

# formats whose shape alone says "secret"; each is (kind, pattern)
_KNOWN: tuple[tuple[str, re.Pattern[str]], ...] = (
    # a key, not the marker string a parser compares against: base64 must follow the BEGIN line
    ("private-key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]{0,200}?[A-Za-z0-9+/]{40}")),
    (
        "aws-access-key-id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    ("github-token", re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}")),
    ("slack-token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google-api-key", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}")),
    ("stripe-secret-key", re.compile(r"(?<![A-Za-z0-9])[sr]k_live_[0-9A-Za-z]{20,}")),
    ("jwt", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)

# NAME=value, name: value, "name": "value", name => value (env, ini, properties, YAML, JSON, Ruby)
_ASSIGNMENT = re.compile(
    r"""^\s*(?:export\s+|set\s+)?["']?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*(?:=>|=|:)\s*(?P<value>.*)$"""
)
# kinds by name, most specific first
_NAME_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"private[_.\-]?key", re.IGNORECASE)),
    ("password", re.compile(r"pass(word|wd|phrase)?(?![a-z])|pwd", re.IGNORECASE)),
    ("secret", re.compile(r"secret", re.IGNORECASE)),
    ("api-key", re.compile(r"api[_.\-]?key|access[_.\-]?key(?![_.\-]?id)", re.IGNORECASE)),
    ("token", re.compile(r"token", re.IGNORECASE)),
)
# names that hold a reference to a secret, not the secret itself
_NOT_A_VALUE_NAME = re.compile(
    r"(_|\.|-)(file|path|dir|env|var|length|len|min|max|policy|type|id|name|enabled|required|url|uri|hint|command|cmd)$",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"^(\$\{?[A-Za-z_]|%\(|\{\{|<[^>]*>$|ENC\(|vault:|arn:|secretsmanager:|/|\./|~/|file:)")
# a value that is code or a reference to a name (typing.Optional[bytes], Security.kSecPassphrase, f(x))
_CODE_LIKE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\[.*\]|\(.*\))?,?$")
_PLACEHOLDERS = frozenset(
    {"changeme", "change_me", "changeit", "password", "secret", "example", "none", "null", "nil", "true", "false"}
    | {"yes", "no", "on", "off", "empty", "redacted", "<redacted>", "todo", "xxx", "dummy", "your_password_here"}
)
MIN_LENGTH = 8
MIN_ENTROPY_BITS_PER_CHAR = 3.0

# file names that hold settings; a file with none of these names is scanned only if its head shows a secret
_NAME_HINTS = re.compile(
    r"(^\.env$|^\.env\.|\.env$|\.(conf|cnf|cfg|config|ini|properties|ya?ml|json|toml|xml|npmrc|pypirc|netrc)$"
    r"|^credentials$|^\.(npmrc|pypirc|netrc|pgpass|my\.cnf)$)",
    re.IGNORECASE,
)
COLLECTOR = "files"


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _clean(raw: str) -> str:
    value = raw.strip().rstrip(",;").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    # an unquoted value ends at an inline comment
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def _assignment_kind(line: str) -> tuple[str, str] | None:
    """(kind, name) when the line assigns a high-entropy literal to a secret-like name."""
    match = _ASSIGNMENT.match(line)
    if match is None:
        return None
    name = match.group("name")
    kind = next((k for k, pattern in _NAME_KINDS if pattern.search(name)), None)
    if kind is None or _NOT_A_VALUE_NAME.search(name):
        return None
    value = _clean(match.group("value"))
    if (
        len(value) < MIN_LENGTH
        or " " in value
        or value.lower() in _PLACEHOLDERS
        or _REFERENCE.match(value)
        or set(value) <= set("*xX.-_#")
        or (_CODE_LIKE.match(value) and ("." in value or "(" in value or "[" in value))
        or _entropy(value) < MIN_ENTROPY_BITS_PER_CHAR
    ):
        return None
    return kind, name


_NAME_WORDS = re.compile(r"pass|pwd|secret|token|key|credential", re.IGNORECASE)


def detect(text: str, *, assignments: bool = True) -> list[tuple[int, str, str]]:
    """(line number, kind, variable name or "") for every secret in the text. Values are not returned.

    ``assignments=False`` finds known formats only: for text that is not a settings file (source
    code with a key pasted in), where ``password: Optional[bytes]`` is code, not a secret.
    """
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    # known formats: one pass over the whole text per pattern, then the line of each match
    known: dict[int, set[str]] = {}
    for kind, pattern in _KNOWN:
        for match in pattern.finditer(text):
            known.setdefault(bisect.bisect_right(starts, match.start()), set()).add(kind)
    found = [(number, kind, "") for number, kinds in known.items() for kind in sorted(kinds)]
    # assignments: only lines whose text names a secret-like word are parsed
    for match in _NAME_WORDS.finditer(text) if assignments else ():
        number = bisect.bisect_right(starts, match.start())
        if number in known or (found and found[-1][0] == number):
            continue
        line = text[starts[number - 1] : starts[number] if number < len(starts) else len(text)]
        if line.lstrip().startswith(("#", ";", "//", "!")):
            continue
        assigned = _assignment_kind(line.rstrip("\r\n"))
        if assigned is not None:
            found.append((number, assigned[0], assigned[1]))
        known.setdefault(number, set())  # each line is parsed once, however many words it has
    return sorted(found)


def secret_id(location: str) -> str:
    return "secret:" + hashlib.sha256(location.encode()).hexdigest()


def scan(path: Path, text: str, *, assignments: bool = True) -> list[Asset | Relation]:
    """Secret assets (kind and location only) and their stored-in relations to the file.

    One asset per line (its id is the hash of the location); a line with several known formats
    lists them all in ``kinds``.
    """
    by_line: dict[int, list[tuple[str, str]]] = {}
    for number, kind, name in detect(text, assignments=assignments):
        by_line.setdefault(number, []).append((kind, name))
    out: list[Asset | Relation] = []
    for number, found in sorted(by_line.items()):
        location = f"{path}:{number}"
        kind, name = found[0]
        properties: dict[str, Any] = {"kind": kind, "location": location, "path": str(path), "line": number}
        if len(found) > 1:
            properties["kinds"] = [k for k, _ in found]
        if name:
            properties["name"] = name
        asset = Asset(
            id=secret_id(location),
            type=AssetType.SECRET,
            properties=freeze(properties),
            locations=(Location("file", str(path), f"line {number}"),),
        )
        out.append(asset)
        out.append(Relation(asset.id, f"file:{path}", RelationType.STORED_IN))
    return out


class SecretsHandler:
    """Last among file handlers: settings files (by name) and text with a key or AWS key id in its head."""

    name: ClassVar[str] = "secrets"
    priority: ClassVar[int] = 90

    def sniff(self, path: Path, head: bytes) -> bool:
        # settings files by name, plus any text file whose head shows a pasted key or an AWS key id;
        # other text (source code, documents) is not read for assignments: a large walk stays cheap
        if not head or b"\x00" in head:
            return False
        return bool(_NAME_HINTS.search(path.name)) or b"PRIVATE KEY-----" in head or b"AKIA" in head

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        if b"\x00" in source.data:
            return ParsedFile(format="binary", emit_file_asset=False)  # text head, binary body: not a config
        text = source.data.decode("utf-8", errors="replace")
        settings_file = bool(_NAME_HINTS.search(source.path.name))
        found: list[Asset | Relation | CollectionError] = list(scan(source.path, text, assignments=settings_file))
        if not found:
            return ParsedFile(format="text", emit_file_asset=False)
        file_properties: dict[str, Any] = {"contains_secrets": sum(isinstance(o, Asset) for o in found)}
        if b"PRIVATE KEY-----" in source.data:
            # a key pasted into a settings file is still a key: inventory it as the crypto handler would
            from scanner.collectors.files.crypto_material import CryptoMaterialHandler

            data = source.data
            if b"\\n-----END " in data:  # a key inside a JSON or quoted string, newlines escaped
                data = data.replace(b"\\n", b"\n")
            parsed = CryptoMaterialHandler().parse(FileSource(source.path, data), context)
            found.extend(o for o in parsed.observations if not isinstance(o, CollectionError))
            file_properties.update(parsed.file_properties)
        fmt = "env" if re.search(r"(^|\.)env($|\.)", source.path.name) else "text"
        return ParsedFile(format=fmt, observations=tuple(found), file_properties=file_properties)

"""Plaintext secrets written into config and .env files: passwords, API keys, tokens, private keys.

A secret is reported by kind and location (file and line), never by value: the value lives only
in the local variables of the line being checked, is judged by shape and entropy, and is dropped.
Known formats (provider tokens, AWS key ids, PEM private key blocks; detect-secrets' patterns) are
found anywhere; other secrets are assignments of a literal to a secret-like name. Every candidate
ends with a reason: why it is a secret, or why not (``secret_values``). Secrets in installed
package data (site-packages, /usr/share, test fixtures) are marked so (``package_data``).

The text is read in chunks of whole lines, so that memory stays near the chunk size whatever the
file size (a 10 MiB .env once cost 1.7 GB as one string with a list of every line start).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from scanner.collectors.base import CollectContext
from scanner.collectors.configs.secret_patterns import KnownFormat, known_formats
from scanner.collectors.configs.secret_values import (
    MIN_ENTROPY_BITS_PER_CHAR,
    MIN_LENGTH,
    assigned_value_exclusion,
    entropy,
    known_format_exclusion,
)
from scanner.collectors.files.handler import FileSource, ParsedFile
from scanner.collectors.package_data import package_data_reason
from scanner.inventory.model import Asset, AssetType, CollectionError, Location, Relation, RelationType, freeze

__all__ = ["MIN_ENTROPY_BITS_PER_CHAR", "MIN_LENGTH", "Candidate", "SecretsHandler", "candidates", "detect", "scan"]

# NAME=value, name: value, "name": "value", name => value (env, ini, properties, YAML, JSON, Ruby)
_ASSIGNMENT = re.compile(
    # a quoted name closes with its own quote: "secretsmanager:GetSecretValue" is one string, not a pair
    r"""^\s*(?:export\s+|set\s+)?(?P<q>["']?)(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P=q)\s*(?:=>|=|:)\s*(?P<value>.*)$"""
)
# kinds by name, most specific first
# (matched against the lower-cased name: case-insensitive patterns cost ten times more in re)
_NAME_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private-key", re.compile(r"private[_.\-]?key")),
    ("password", re.compile(r"pass(word|wd|phrase)?(?![a-z])|pwd")),
    ("secret", re.compile(r"secret")),
    ("api-key", re.compile(r"api[_.\-]?key|access[_.\-]?key(?![_.\-]?id)")),
    ("token", re.compile(r"token")),
)
# names that hold a reference to a secret, or a fact about one, not the secret itself
_NOT_A_VALUE_NAME = re.compile(
    r"(_|\.|-)(file|path|dir|env|var|length|len|min|max|policy|type|id|ids|name|enabled|required|url|uri|hint"
    r"|command|cmd|hash|digest|field|header|param|prompt|label|format|style|regex|pattern|expiry|expires|ttl)$",
    re.IGNORECASE,
)
# the same in CamelCase (API models): SecretId, TokenArn, PasswordLength
_NOT_A_VALUE_CAMEL = re.compile(r"[a-z0-9](Id|Ids|Arn|Arns|Name|Names|Type|Path|File|Url|Uri|Length|Format|Hash)$")
# tokens that page through results, make a call idempotent or name a KMS grant (which AWS documents
# as not secret): API models and their examples are full of them ("NextToken": "abcdefg123",
# botocore's examples-1.json), and none is a credential
_NOT_A_SECRET_TOKEN = re.compile(
    r"(next|continuation|page|paging|pagination|client|idempotency|sync|grant)[_.\-]?token"
)
_NAME_WORDS = re.compile(r"pass|pwd|secret|token|key|credential")  # searched in lower-cased text
_NAME_WORDS_ANY_CASE = re.compile(_NAME_WORDS.pattern, re.IGNORECASE)

# file names that hold settings; a file with none of these names is scanned only if its head shows a secret
_NAME_HINTS = re.compile(
    r"(^\.env$|^\.env\.|\.env$|\.(conf|cnf|cfg|config|ini|properties|ya?ml|json|toml|xml|npmrc|pypirc|netrc)$"
    r"|^credentials$|^\.(npmrc|pypirc|netrc|pgpass|my\.cnf)$)",
    re.IGNORECASE,
)
COLLECTOR = "files"
# lines are read in chunks of about this size; a longer line is cut at this many bytes times 16
CHUNK_BYTES = 64 * 1024
# a PEM key block is matched across a chunk's end with this much of the next chunk
_OVERLAP_BYTES = 4096


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place that looked like a secret, with the verdict and its reason. Never holds the value."""

    line: int
    kind: str
    name: str  # the variable name of an assignment, "" for a known format
    reason: str  # why it is a secret, or why it is not
    excluded: bool


def _clean(raw: str) -> str:
    value = raw.strip().rstrip(",;").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    # an unquoted value ends at an inline comment
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def _assignment(line: str, number: int) -> Candidate | None:
    match = _ASSIGNMENT.match(line)
    if match is None:
        return None
    name = match.group("name")
    lowered = name.lower()
    kind = next((k for k, pattern in _NAME_KINDS if pattern.search(lowered)), None)
    if kind is None or _NOT_A_VALUE_NAME.search(name) or _NOT_A_VALUE_CAMEL.search(name):
        return None
    value = _clean(match.group("value"))
    why_not = assigned_value_exclusion(value, line)
    if why_not is None and kind == "token" and _NOT_A_SECRET_TOKEN.search(lowered):
        why_not = "a paging, idempotency or grant token's name: not a credential"
    if why_not is not None:
        return Candidate(number, kind, name, why_not, True)
    # the reason tells the entropy, never the length or any character of the value
    reason = f"a literal with {entropy(value):.1f} bits/char of entropy assigned to the {kind}-like name {name}"
    return Candidate(number, kind, name, reason, False)


def _known(fmt: KnownFormat, match: re.Match[str], number: int) -> Candidate:
    value = fmt.value(match)
    if fmt.free_form:
        why_not = assigned_value_exclusion(value, "")
    else:
        # a PEM block is judged by its shape alone: base64 after the marker
        why_not = known_format_exclusion(value) if not fmt.multiline else None
    if why_not is None and fmt.valid is not None and not fmt.valid(value):
        why_not = f"not a well-formed {fmt.description}"
    reason = why_not or f"{fmt.description} format ({fmt.source})"
    return Candidate(number, fmt.kind, "", reason, why_not is not None)


def _chunks(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) byte offsets of consecutive runs of whole lines."""
    start, size = 0, len(data)
    while start < size:
        end = data.find(b"\n", min(start + CHUNK_BYTES, size))
        end = size if end < 0 else end + 1
        # a single enormous line is cut: a secret straddling the cut is missed, memory stays bounded
        end = min(end, start + CHUNK_BYTES * 16)
        yield start, end
        start = end


def _chunk_candidates(text: str, tail: str, first_line: int, assignments: bool) -> Iterator[Candidate]:
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    claimed: set[int] = set()  # lines with a known format are not parsed again as assignments
    lowered = text.lower()
    for fmt in known_formats():
        if not fmt.may_match(text, lowered):
            continue
        haystack = text + tail if fmt.multiline and tail else text
        for match in fmt.finditer(haystack, lowered if haystack is text else None):
            if match.start() >= len(text):
                break
            index = bisect.bisect_right(starts, match.start())
            claimed.add(index)
            yield _known(fmt, match, first_line + index - 1)
    if not assignments:
        return
    parsed: set[int] = set()
    # str.lower keeps ASCII offsets; text where it does not (a few Unicode letters) is searched as is
    words = _NAME_WORDS.finditer(lowered) if len(lowered) == len(text) else _NAME_WORDS_ANY_CASE.finditer(text)
    for match in words:
        index = bisect.bisect_right(starts, match.start())
        if index in claimed or index in parsed:
            continue
        parsed.add(index)  # each line is parsed once, however many words it has
        line = text[starts[index - 1] : starts[index] if index < len(starts) else len(text)]
        if line.lstrip().startswith(("#", ";", "//", "!")):
            continue
        found = _assignment(line.rstrip("\r\n"), first_line + index - 1)
        if found is not None:
            yield found


def candidates(data: bytes, *, assignments: bool = True) -> Iterator[Candidate]:
    """Every place in the data that looked like a secret, with the verdict and its reason.

    ``assignments=False`` finds known formats only: for text that is not a settings file (source
    code with a key pasted in), where ``password: Optional[bytes]`` is code, not a secret.
    """
    line = 1
    for start, end in _chunks(data):
        text = data[start:end].decode("utf-8", errors="replace")
        tail = data[end : end + _OVERLAP_BYTES].decode("utf-8", errors="replace") if end < len(data) else ""
        found = sorted(_chunk_candidates(text, tail, line, assignments), key=lambda c: (c.line, c.kind))
        yield from found
        line += data.count(b"\n", start, end)


def detect(text: str, *, assignments: bool = True) -> list[tuple[int, str, str]]:
    """(line number, kind, variable name or "") for every secret in the text. Values are not returned."""
    found = {(c.line, c.kind, c.name) for c in candidates(text.encode(), assignments=assignments) if not c.excluded}
    return sorted(found)


def secret_id(location: str) -> str:
    return "secret:" + hashlib.sha256(location.encode()).hexdigest()


def scan(path: Path, data: bytes | str, *, assignments: bool = True) -> list[Asset | Relation]:
    """Secret assets (kind, location and reason, never the value) and their stored-in relations.

    One asset per line (its id is the hash of the location); a line with several known formats
    lists them all in ``kinds``.
    """
    raw = data.encode() if isinstance(data, str) else data
    by_line: dict[int, list[Candidate]] = {}
    for candidate in candidates(raw, assignments=assignments):
        if not candidate.excluded:
            by_line.setdefault(candidate.line, []).append(candidate)
    package_reason = package_data_reason(str(path)) if by_line else None
    out: list[Asset | Relation] = []
    for number, found in sorted(by_line.items()):
        location = f"{path}:{number}"
        first = found[0]
        properties: dict[str, Any] = {
            "kind": first.kind,
            "location": location,
            "path": str(path),
            "line": number,
            "reason": first.reason,
        }
        kinds = list(dict.fromkeys(c.kind for c in found))
        if len(kinds) > 1:
            properties["kinds"] = kinds
        if first.name:
            properties["name"] = first.name
        if package_reason is not None:
            properties["package_data"] = True
            properties["package_data_reason"] = package_reason
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

    def sniff_whole(self, path: Path, data: bytes) -> bool:
        """A private key pasted into text past its head (a module that defines a key 200 lines down):
        the search runs at memchr speed, and only for files no handler knew by their head."""
        return b"PRIVATE KEY-----" in data and b"\x00" not in data

    def may_find_further(self, head: bytes) -> bool:
        return b"\x00" not in head  # text only

    def parse(self, source: FileSource, context: CollectContext) -> ParsedFile:
        if b"\x00" in source.data:
            return ParsedFile(format="binary", emit_file_asset=False)  # text head, binary body: not a config
        settings_file = bool(_NAME_HINTS.search(source.path.name))
        found: list[Asset | Relation | CollectionError] = list(
            scan(source.path, source.data, assignments=settings_file)
        )
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

"""Is this value a secret? Judged by shape and entropy; every exclusion says why.

The heuristics that detect-secrets ships as filters (templated values, sequences, UUIDs, values
with no letters, indirect references, id names) are used as they are; keysweep adds what sweeps
of whole machines showed: vendors' documented example keys, schema and type declarations
(``"NextToken": {"type": "string"}``), identifiers (``"input_token": "NextPageToken"``), template
placeholders (``'{__relative_name__}'``) and references to other places (paths, URLs, variables).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from types import ModuleType

MIN_LENGTH = 8
MIN_ENTROPY_BITS_PER_CHAR = 3.0
# letters-only values this long and this random are kept (a random base64 secret rarely lacks digits)
_WORDLIKE_MAX_LENGTH = 24

# documented by vendors as examples, and copied into docs, SDK models and tutorials verbatim
DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",  # AWS access key id, AWS documentation
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # AWS secret access key, AWS documentation
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",  # AWS secret access key, AWS documentation
        "AKIAI44QH8DHBEXAMPLE",  # AWS access key id, AWS documentation
        # the jwt.io debugger's sample token (HS256, "John Doe")
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
        ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)
# `key: &key_name` names a YAML node for later `*key_name` references (google-cloud-sdk's flags.yaml)
_YAML_ANCHOR = re.compile(r"[&*][a-z][a-z0-9]*(?:[_\-][a-z0-9]+)*")
# a value that calls itself an example, a placeholder or a redaction
_SELF_DECLARED = re.compile(
    r"example|placeholder|redacted|changeme|change[_\-]?me|changeit|replace[_\-]?me|your[_\-]|insert[_\-]|"
    r"<[^>]*>|xxxx|\*{4}|\.{3}|dummy|notasecret|not[_\-]a[_\-]secret",
    re.IGNORECASE,
)
_PLACEHOLDERS = frozenset(
    {"password", "secret", "none", "null", "nil", "true", "false", "yes", "no", "on", "off", "empty", "todo"}
    | {"undefined", "default", "unset", "disabled", "enabled", "required", "optional", "sensitive", "hidden"}
)
# type names a schema, an API model or a typed declaration gives as the "value" of a secret-like name
_TYPE_NAMES = frozenset(
    {"string", "str", "bytes", "bytearray", "int", "integer", "long", "number", "float", "double", "bool"}
    | {"boolean", "object", "array", "list", "dict", "map", "binary", "blob", "timestamp", "datetime", "any"}
    | {"securestring", "secretstring", "sensitivestring", "password", "text", "char", "varchar", "uuid"}
)
# ${VAR}, $VAR, %(name)s, {{ var }}, {name}, <name>, @VAR@, __VAR__, ENC(...), vault:, arn:, paths, URLs
_REFERENCE = re.compile(
    r"^(\$|%\(|%[sd]$|\{\{|\{[%#]|@[A-Za-z_]+@$|__[A-Za-z0-9_]+__$|ENC\(|vault:|arn:|secretsmanager:|ssm:"
    r"|/|\./|\.\./|~/|[A-Za-z]:\\|file:|https?://|env:|keyring:|op://)",
    re.IGNORECASE,
)
# a value that is code or a reference to a name (typing.Optional[bytes], Security.kSecPassphrase, f(x))
# (and JMESPath in SDK models: Jobs[-1].JobId)
_CODE_LIKE = re.compile(r"^[A-Za-z_]\w*(?:\[[^\]]*\]|\(.*\))?(?:\.[A-Za-z_]\w*(?:\[[^\]]*\]|\(.*\))?)*,?$")
# words joined by separators or case changes, no digit and no symbol: a name (NextPageToken, api_key_header)
_WORDLIKE = re.compile(r"^[A-Za-z]+(?:[_\-.:/ ][A-Za-z]+)*$")
# a file name or a host name: app.pem, secrets.yaml, db.internal.example
_FILE_OR_HOST = re.compile(r"^[\w\-]+(?:\.[\w\-]+)*\.(?:[a-z]{2,5}|d)$")


@functools.cache
def _heuristic() -> ModuleType:
    # imported on first use: detect-secrets pulls in requests and urllib3 (~0.1 s at start-up), which a
    # scan that meets no settings file never needs
    from detect_secrets.filters import heuristic

    return heuristic


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _example_or_placeholder(value: str, *, references: bool = True) -> str | None:
    if value in DOCUMENTED_EXAMPLES:
        return "a vendor's documented example value"
    if _SELF_DECLARED.search(value):
        return "says it is an example, placeholder or redaction"
    # a known format's match is never a reference, though a webhook's is a URL
    if _heuristic().is_templated_secret(value) or (references and _REFERENCE.match(value)):
        return "a template placeholder or a reference (variable, path, URL, vault)"
    if _heuristic().is_sequential_string(value):
        return "a sequence (abcdef..., 0123...)"
    return None


def known_format_exclusion(value: str) -> str | None:
    """Why a value of a known token format is not a secret, or None when it is one."""
    reason = _example_or_placeholder(value, references=False)
    if reason is not None:
        return reason
    if entropy(value) < MIN_ENTROPY_BITS_PER_CHAR:
        return f"entropy {entropy(value):.1f} bits/char, below {MIN_ENTROPY_BITS_PER_CHAR}: a placeholder"
    return None


def assigned_value_exclusion(value: str, line: str) -> str | None:
    """Why a literal assigned to a secret-like name is not a secret, or None when it looks like one."""
    if not value:
        return "empty"
    if value[0] in "{[" and any(c in value for c in ':,"'):
        return "a structure (object or list): a schema or type declaration, not a literal"
    if _YAML_ANCHOR.fullmatch(value):
        return "a YAML anchor or alias (&name, *name): a reference, not a literal"
    lowered = value.lower()
    if lowered in _TYPE_NAMES:
        return "a type name: a schema or type declaration"
    if lowered in _PLACEHOLDERS:
        return "a placeholder word"
    reason = _example_or_placeholder(value)
    if reason is not None:
        return reason
    if len(value) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if " " in value:
        return "contains spaces: prose, not a secret"
    if _heuristic().is_not_alphanumeric_string(value) or set(value) <= set("*xX.-_#0"):
        return "no letters: a mask or a number"
    if _heuristic().is_potential_uuid(value):
        return "a UUID: an identifier"
    if _CODE_LIKE.match(value) and any(c in value for c in ".[("):
        return "code: an attribute, call or subscript"
    if _heuristic().is_indirect_reference(line):
        return "an indirect reference (a call or a lookup)"
    if _FILE_OR_HOST.match(value):
        return "a file or host name"
    bits = entropy(value)
    if _WORDLIKE.match(value) and (len(value) < _WORDLIKE_MAX_LENGTH or bits < 4.0):
        return "words only (no digit or symbol): a name, not a secret"
    if bits < MIN_ENTROPY_BITS_PER_CHAR:
        return f"entropy {bits:.1f} bits/char, below {MIN_ENTROPY_BITS_PER_CHAR}"
    return None

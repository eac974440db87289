"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning takes it as it is).

One rule per keysweep rule, one result per finding, and every result has a physical location:
- files, configs, keystores, secrets: the file, relative to ``--sarif-root`` (``SRCROOT``) or, outside
  it, to the file-system root (``FSROOT``), with the line where the collector knew it;
- endpoints and tokens: the config file that configures them where the scan found one, else a
  stable synthetic artifact under the base id ``KEYSWEEP`` (``tls/HOST/PORT``, ``ssh/HOST/PORT``,
  ``pkcs11/SERIAL``, ``asset/<asset id>``) that names the place and is not a file. The asset's id is
  also given as a logical location.
``partialFingerprints`` carry the finding id (a hash of rule and asset id), stable across scans.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import quote as _quote

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback keeps a bare install working
    orjson = None  # type: ignore[assignment]

from scanner import PROJECT_URL, __version__
from scanner.inventory.model import Asset, AssetType, Finding, RelationType, RuleInfo, ScanResult, Severity, iso_time
from scanner.inventory.summary import is_projection
from scanner.reporting.json_indent import Chunks, iter_indent1, plain
from scanner.reporting.locations import Place, places
from scanner.reporting.output import write_output_chunks

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = PROJECT_URL
RULES_DOC_URI = f"{INFORMATION_URI}/blob/main/docs/rules.md"
SRCROOT, FSROOT, SYNTHETIC = "SRCROOT", "FSROOT", "KEYSWEEP"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security results by this CVSS-like number
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
# the weakness each category is about, as GitHub shows CWE tags (external/cwe/cwe-N)
CATEGORY_CWE = {
    "key-size": 326,  # inadequate encryption strength
    "algorithm": 327,  # broken or risky cryptographic algorithm
    "protocol": 327,
    "pqc": 327,
    "fips": 327,
    "certificate-validity": 298,  # improper validation of certificate expiration
    "rotation": 324,  # use of a key past its expiration date
    "key-storage": 922,  # insecure storage of sensitive information
    "key-usage": 323,  # reusing a nonce, key pair in encryption
    "trust": 296,  # improper following of a certificate's chain of trust
    "revocation": 299,  # improper check for certificate revocation
    "secret-exposure": 798,  # use of hard-coded credentials
}
# results encoded per call when the log is streamed: small pieces, few enough calls to cost nothing
# (a piece ends early once its results name CHUNK_LOCATIONS places)
CHUNK_RESULTS = 500
CHUNK_LOCATIONS = 2000
# an asset with this many places keeps them built for its next finding (see SarifReporter.chunks)
_KEPT_PLACES = 16
# logical places (location kind -> synthetic artifact folder); ids are "<prefix>:<rest>"
_SYNTHETIC_FOLDERS = {"tls": "tls", "ssh": "ssh", "pkcs11": "pkcs11", "import": "import"}


def _anchor(rule_id: str) -> str:
    # GitHub's heading anchors: lower case, punctuation other than '-' dropped
    return "".join(c for c in f"{rule_id} " if c.isalnum() or c in "-_ ").strip().replace(" ", "-").lower()


def _rule(info: RuleInfo) -> dict[str, Any]:
    references = "\n".join(f"- {r}" for r in info.references)
    text = f"{info.rationale}\n\nRemediation: {info.remediation}\n\nReferences:\n{references}".strip()
    markdown = (f"{info.rationale}\n\n**Remediation:** {info.remediation}\n\n**References:**\n\n{references}").strip()
    tags = ["security", "cryptography", info.category]
    if info.category in CATEGORY_CWE:
        tags.append(f"external/cwe/cwe-{CATEGORY_CWE[info.category]}")
    return {
        "id": info.id,
        "name": "".join(part.capitalize() for part in info.id.replace("-", ".").split(".")),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.rationale or info.title},
        "help": {"text": text, "markdown": markdown},
        "helpUri": f"{RULES_DOC_URI}#{_anchor(f'{info.id} {info.title}')}",
        "defaultConfiguration": {"level": LEVELS[info.severity]},
        "properties": {
            "category": info.category,
            "pack": info.pack,
            "tags": tags,
            "precision": "high",
            "problem.severity": "error" if info.severity.rank >= Severity.HIGH.rank else "warning",
            "security-severity": SECURITY_SEVERITY[info.severity],
        },
    }


def quote(text: str, safe: str = "/") -> str:
    """Percent-encode a URI path; an undecodable file-name byte (a PEP 383 surrogate) is its own %XX.

    ``quote`` would raise on the surrogate; its exact byte is what a file URI names (RFC 8089).
    """
    return _quote(text, safe=safe, errors="surrogateescape")


def _rule_from_finding(f: Finding) -> RuleInfo:
    return RuleInfo(f.rule_id, f.title, f.category, f.severity, ",".join(f.policies), "", f.remediation, f.references)


def _segments(text: str) -> str:
    return "/".join(quote(part, safe="") for part in text.split("/") if part)


class _Artifacts:
    """Turns places into SARIF artifact locations relative to the root, the file system or KEYSWEEP."""

    def __init__(self, root: Path) -> None:
        self.root = root
        normal = str(PurePosixPath(root))
        self._prefix = normal if normal.endswith("/") else normal + "/"
        # a shared key's or CA's file is named by thousands of findings: its URI is worked out once
        self._files: dict[str, dict[str, Any]] = {}

    def file(self, path: str) -> dict[str, Any]:
        found = self._files.get(path)
        if found is None:
            found = self._files[path] = self._file(path)
        return dict(found)  # the caller's own copy

    def _file(self, path: str) -> dict[str, Any]:
        # most paths are plain (absolute, no '//', '.' or trailing '/'): under the root, their
        # relative path is what follows it, as PurePosixPath.relative_to gives it (20,000 files:
        # ~0.4 s of path objects); anything else takes the path objects' way
        if path.startswith(self._prefix) and _plain_path(path):
            return {"uri": quote(path[len(self._prefix) :]), "uriBaseId": SRCROOT}
        posix = PurePosixPath(path)
        try:
            relative = posix.relative_to(PurePosixPath(self.root))
            return {"uri": quote(str(relative)), "uriBaseId": SRCROOT}
        except ValueError:
            return {
                "uri": quote(str(posix.relative_to("/")) if posix.is_absolute() else str(posix)),
                "uriBaseId": FSROOT,
            }

    @staticmethod
    def synthetic(place: Place, asset_id: str) -> dict[str, Any]:
        ref = place.logical or asset_id
        prefix, _, rest = ref.partition(":")
        folder = _SYNTHETIC_FOLDERS.get(prefix)
        if folder and rest:
            host, _, port = rest.rpartition(":")
            if folder in ("tls", "ssh") and host and port.isdigit():
                rest = f"{host.strip('[]')}/{port}"  # an IPv6 literal loses its brackets
            return {"uri": f"{folder}/{_segments(rest)}", "uriBaseId": SYNTHETIC}
        return {"uri": f"asset/{quote(asset_id, safe='')}", "uriBaseId": SYNTHETIC}


def _plain_path(path: str) -> bool:
    """An absolute path that PurePosixPath leaves as it is (nothing to collapse or strip)."""
    return (
        path.startswith("/")
        and not path.startswith("//")
        and "//" not in path
        and "/./" not in path
        and not path.endswith(("/", "/."))
    )


def _logical(place: Place, asset_id: str) -> dict[str, Any]:
    name = place.logical or asset_id
    return {"name": name, "fullyQualifiedName": name, "kind": "resource"}


class SarifReporter:
    format: ClassVar[str] = "sarif"

    def __init__(self, root: Path | str | None = None) -> None:
        # --sarif-root: the checkout the file URIs are relative to (default: the current directory)
        self.root = Path(root).absolute() if root else None

    def render(self, result: ScanResult) -> bytes:
        return b"".join(self.chunks(result))

    def write(self, result: ScanResult, path: str) -> None:
        """Stream the log to ``path`` (the rules of scanner.reporting.output): the same bytes as
        :meth:`render`, without the whole document in memory (one result per finding, each naming
        every place of its asset: a shared key's findings name thousands)."""
        write_output_chunks(path, self.chunks(result))

    def chunks(self, result: ScanResult) -> Iterator[bytes]:
        """The log's bytes in pieces: its results CHUNK_RESULTS at a time (json_indent.iter_indent1)."""
        root = self.root or Path.cwd()
        artifacts = _Artifacts(root)
        rules = {r.id: r for r in result.rules}
        for f in result.findings:
            rules.setdefault(f.rule_id, _rule_from_finding(f))
        order = sorted(rules)
        index = {rule_id: i for i, rule_id in enumerate(order)}
        assets = {a.id: a for a in result.assets}
        configured_by: dict[str, list[str]] = defaultdict(list)
        for rel in result.relations:
            if rel.type == RelationType.CONFIGURES and rel.source in assets:
                configured_by[rel.target].append(rel.source)

        sizes = {
            str(a.properties["path"]): int(a.properties["size"])
            for a in result.assets
            if a.type == AssetType.FILE and isinstance(a.properties.get("size"), int) and a.properties.get("path")
        }

        def located(found: list[Place], asset_id: str) -> list[tuple[object, dict[str, Any]]]:
            """Each place as a SARIF location, keyed by its canonical JSON (to drop repeats)."""
            out: list[dict[str, Any]] = []
            for place in found:
                if place.path:
                    location: dict[str, Any] = {"physicalLocation": _physical(artifacts, place, sizes)}
                    if place.detail:
                        location["message"] = {"text": place.detail}
                    out.append(location)
                    continue
                configs = _config_places(configured_by.get(asset_id, []), assets)
                physical = (
                    _physical(artifacts, configs[0], sizes)
                    if configs
                    else {"artifactLocation": artifacts.synthetic(place, asset_id), "region": {"byteOffset": 0}}
                )
                out.append({"physicalLocation": physical, "logicalLocations": [_logical(place, asset_id)]})
            return [(_identity(loc), loc) for loc in out]

        # an asset's own locations, built once when it has many: a shared key has thousands, and each of
        # its findings names them (the findings share those location objects: JSON writes a shared object
        # like any other); an asset's few are built again for each finding, so that what is kept while
        # the log streams stays the size of the shared assets' places, not of every finding's
        by_asset: dict[str, list[tuple[object, dict[str, Any]]]] = {}

        def locations(f: Finding) -> list[dict[str, Any]]:
            own = by_asset.get(f.asset_id)
            if own is None:
                own = located(places(assets.get(f.asset_id), f.asset_id), f.asset_id)
                if len(own) >= _KEPT_PLACES:
                    by_asset[f.asset_id] = own
            # the evidence's place first, then the asset's, each once (as one list of both gave)
            return list(dict(located(_evidence_places(f), f.asset_id) + own).values())

        def result_of(f: Finding) -> dict[str, Any]:
            entry: dict[str, Any] = {
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": LEVELS[f.severity],
                "message": {"text": f"{f.message} (asset {f.asset_id})"},
                "locations": locations(f),
                "partialFingerprints": {"keysweepFindingId/v1": f.id},
                "properties": {
                    "severity": f.severity.value,
                    "category": f.category,
                    "asset_id": f.asset_id,
                    "evidence": dict(f.evidence),
                    "policies": list(f.policies),
                    **({"deadline": f.deadline} if f.deadline else {}),
                },
            }
            if f.waived is not None:
                entry["suppressions"] = [{"kind": "external", "justification": f.waived.reason}]
            return entry

        meta = result.metadata
        # GitHub keeps one analysis per category: the part of the id before its last '/'
        scope = str(getattr(meta, "scope", "") or meta.host or "default")
        projection = is_projection(meta)
        sarif = {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "keysweep",
                            "fullName": "keysweep crypto inventory scanner",
                            "version": __version__,
                            "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": [_rule(rules[rule_id]) for rule_id in order],
                        }
                    },
                    # a projection (rules as of another day) is its own automation, never a scan of the scope
                    "automationDetails": {
                        "id": f"keysweep/{scope}/{'projection-' if projection else ''}{meta.id}",
                        **(
                            {"description": {"text": f"Projection: rules evaluated as of {meta.as_of.date()}."}}
                            if projection
                            else {}
                        ),
                    },
                    "properties": {"asOf": iso_time(meta.as_of), "projection": projection},
                    "originalUriBaseIds": {
                        SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"},
                        FSROOT: {
                            "uri": "file:///",
                            "description": {"text": "Files outside --sarif-root, relative to the file-system root."},
                        },
                        SYNTHETIC: {
                            "description": {
                                "text": "Synthetic artifacts for places that are not files: tls/HOST/PORT, "
                                "ssh/HOST/PORT, pkcs11/TOKEN-SERIAL, asset/ASSET-ID."
                            }
                        },
                    },
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "startTimeUtc": meta.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "endTimeUtc": meta.finished_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "toolExecutionNotifications": [
                                {"level": "warning", "message": {"text": f"{e.collector}: {e.target}: {e.message}"}}
                                for e in result.errors
                            ],
                        }
                    ],
                    "columnKind": "unicodeCodePoints",
                    "results": Chunks(_batches(result.findings, result_of)),
                }
            ],
        }
        # backslashreplace: a non-UTF-8 file name's surrogates become JSON \udcXX escapes, as in the JSON
        # report; the results' evidence is the one part not built here of str, int and bool alone
        return iter_indent1(sarif, plain=True)


def _batches(
    findings: Sequence[Finding], result_of: Callable[[Finding], dict[str, Any]]
) -> Iterator[tuple[list[Any], bool]]:
    """The findings' results a piece at a time, with whether the piece is plain: CHUNK_RESULTS of
    them, or fewer when their locations add up to CHUNK_LOCATIONS (one finding of a key in 2,000
    files writes ~1 MB)."""
    batch: list[Any] = []
    evidence_plain = True
    named = 0  # the locations the batch's results name
    for f in findings:
        entry = result_of(f)
        batch.append(entry)
        evidence_plain = evidence_plain and plain(f.evidence)
        named += len(entry["locations"])
        if len(batch) >= CHUNK_RESULTS or named >= CHUNK_LOCATIONS:
            yield batch, evidence_plain
            batch, evidence_plain, named = [], True, 0
    if batch:
        yield batch, evidence_plain


def _identity(location: dict[str, Any]) -> object:
    """A location's canonical JSON, to drop repeats (never written): equal locations give equal
    values, either way (orjson, or the json module for what orjson refuses, such as surrogates)."""
    if orjson is not None:
        try:
            return orjson.dumps(location, option=orjson.OPT_SORT_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(location, sort_keys=True)


def _config_places(config_ids: list[str], assets: dict[str, Asset]) -> list[Place]:
    found: list[Place] = []
    for config_id in sorted(config_ids):
        found += [p for p in places(assets[config_id], config_id) if p.path]
    return found


def _evidence_places(f: Finding) -> list[Place]:
    """The file and line a config check names in its evidence: the most precise place there is."""
    path, line = f.evidence.get("file"), f.evidence.get("line")
    if not isinstance(path, str) or not path.startswith("/"):
        return []
    return [Place(path=path, line=line if isinstance(line, int) and line > 0 else None)]


def _physical(artifacts: _Artifacts, place: Place, sizes: dict[str, int]) -> dict[str, Any]:
    """A file and its region: the line where known, else the whole file (GitHub wants a region)."""
    assert place.path is not None
    if place.line:
        region: dict[str, int] = {"startLine": place.line}
    elif place.path in sizes:
        region = {"byteOffset": 0, "byteLength": sizes[place.path]}
    else:
        region = {"byteOffset": 0}
    return {"artifactLocation": artifacts.file(place.path), "region": region}

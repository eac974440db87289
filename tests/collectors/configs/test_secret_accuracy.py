"""The secrets detector on real material: no false positive on package data, every planted secret found.

negatives/ holds real files from PyPI packages and Debian packages that once gave false "plaintext
secret" findings; planted/ holds made-up secrets of every supported kind (see corpus/secrets/NOTE.md).
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext
from scanner.collectors.configs import secrets
from scanner.collectors.configs.secret_patterns import KnownFormat, known_formats
from scanner.collectors.files.handler import FileSource
from scanner.inventory.model import Asset, AssetType, CollectionError, Severity
from tests.support import pki

from .conftest import collect, scan

CORPUS = Path(__file__).parent / "corpus" / "secrets"
SECRET = "server.secret.plaintext"


def _planted(root: Path) -> Path:
    target = root / "srv" / "app"
    shutil.copytree(CORPUS / "planted", target)
    (target / "expected.json").unlink()
    return target


def test_every_planted_secret_is_found_at_deployment_severity_with_its_reason(tmp_path: Path) -> None:
    app = _planted(tmp_path)
    expected = {
        (str(app / f), line, kind) for f, line, kind in json.loads((CORPUS / "planted/expected.json").read_text())
    }
    result = scan([app])
    found = {
        (f.evidence["path"], f.evidence["line"], f.evidence["kind"]) for f in result.findings if f.rule_id == SECRET
    }
    assert found == expected
    hits = [f for f in result.findings if f.rule_id == SECRET]
    assert {f.severity for f in hits} == {Severity.HIGH}
    assert all(f.evidence["reason"] and "package_data" not in f.evidence for f in hits)
    # the reason says why, never what: no planted value appears anywhere in the result
    text = repr(result)
    for path in app.iterdir():
        for line in path.read_text().splitlines():
            value = line.split("=", 1)[-1].split(":", 1)[-1].strip().strip('",')
            if len(value) >= 16 and any(c.isdigit() for c in value):
                assert value not in text, path


@pytest.mark.parametrize("path", sorted((CORPUS / "negatives").iterdir()), ids=lambda p: p.name)
def test_real_package_data_holds_no_secret(path: Path, tmp_path: Path) -> None:
    # copied out of tests/ so that only the content is judged, not the location
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    observations = collect(copy)
    assert [o for o in observations if isinstance(o, Asset) and o.type is AssetType.SECRET] == []
    assert [o for o in observations if isinstance(o, CollectionError)] == []


def test_negatives_are_judged_not_skipped() -> None:
    """The corpus tests the filters: its files hold candidates, each excluded with a reason."""
    reasons: set[str] = set()
    total = 0
    for path in (CORPUS / "negatives").iterdir():
        settings = bool(secrets._NAME_HINTS.search(path.name))
        for candidate in secrets.candidates(path.read_bytes(), assignments=settings):
            total += 1
            assert candidate.excluded and candidate.reason, (path.name, candidate)
            reasons.add(candidate.reason.split(":")[0])
    assert total > 150
    assert {
        "a vendor's documented example value",
        "a structure (object or list)",
        "words only (no digit or symbol)",
        "a UUID",
    } <= reasons


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('"NextToken":{"type":"string"}', "a structure (object or list)"),
        ('  "input_token": "NextPageToken",', "words only (no digit or symbol)"),
        ("  \"client_secret\": '{__relative_name__}',", "a template placeholder or a reference"),
        ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "a vendor's documented example value"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "a vendor's documented example value"),
        ("AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX", "says it is an example, placeholder or redaction"),
        ('password: "your-password-here"', "says it is an example, placeholder or redaction"),
        ("api_key = %(API_KEY)s", "a template placeholder or a reference"),
        ("token: {{ vault_token }}", "a template placeholder or a reference"),
        ('"AccessToken":{"shape":"AccessToken"},', "a structure (object or list)"),
        ('"output_token": "Jobs[-1].JobId",', "code"),
        ("client_secret = 3f2c8a1e-7b4d-4c9a-9e21-5d6f7a8b9c0d", "a UUID"),
        ("password = abcdefghijkl", "a sequence"),
        ("db_password: PassWordType", "words only (no digit or symbol)"),
        ("token = SecureString", "a type name"),
        ("secret = get_secret('db')", "code"),
        # google-cloud-sdk's command_lib/iam/flags.yaml: the node is named, its value comes later
        ("  oidc_client_secret_value: &oidc_client_secret_value", "a YAML anchor or alias"),
        ("  client_secret: *oidc_client_secret_value", "a YAML anchor or alias"),
    ],
)
def test_exclusions_say_why(line: str, reason: str) -> None:
    [candidate] = secrets.candidates(line.encode() + b"\n")
    assert candidate.excluded
    assert candidate.reason.startswith(reason), candidate.reason


def test_secrets_in_package_data_are_low_with_the_reason(tmp_path: Path) -> None:
    env = "API_TOKEN=Zq8LmX0vTbW2kR7pN4sY1dC6\n"
    deployed = tmp_path / "srv" / "app" / ".env"
    packaged = tmp_path / "venv" / "lib" / "python3.11" / "site-packages" / "sdk" / "conf" / "sample.env"
    fixture = tmp_path / "src" / "project" / "tests" / "fixtures" / "ci.env"
    for path in (deployed, packaged, fixture):
        path.parent.mkdir(parents=True)
        path.write_text(env)
    result = scan([tmp_path])
    by_path = {f.evidence["path"]: f for f in result.findings if f.rule_id == SECRET}
    assert by_path[str(deployed)].severity is Severity.HIGH
    assert "package_data" not in by_path[str(deployed)].evidence
    assert by_path[str(packaged)].severity is Severity.LOW
    assert by_path[str(packaged)].evidence["package_data_reason"] == "installed with a Python package (site-packages)"
    assert "in package data" in by_path[str(packaged)].message
    assert by_path[str(fixture)].severity is Severity.LOW
    assert "'tests' directory" in by_path[str(fixture)].evidence["package_data_reason"]


def test_a_key_across_a_chunk_boundary_and_lines_far_apart_keep_their_numbers(tmp_path: Path) -> None:
    filler = b"".join(b"SETTING_%06d=plain-value\n" % i for i in range(8000))  # well over one chunk
    assert len(filler) > 2 * secrets.CHUNK_BYTES
    key = pki.key_pem(pki.ec_key())
    # the key's BEGIN line sits just before the first chunk's end: its base64 is in the next chunk
    cut = filler.rfind(b"\n", 0, secrets.CHUNK_BYTES - 40) + 1
    data = filler[:cut] + b"TLS_KEY=" + key + filler[cut:] + b"DB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx\n"
    lines = data.split(b"\n")
    key_line = next(i for i, line in enumerate(lines, 1) if b"BEGIN" in line)
    assert [(n, k) for n, k, _ in secrets.detect(data.decode())] == [
        (key_line, "private-key"),
        (len(lines) - 1, "password"),
    ]


def test_peak_memory_on_a_10_mib_env_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """issue 18 item 9: the handler streams; its own peak is printed (target: under 100 MB)."""
    line = b"SERVICE_%07d_URL=https://svc.internal/api/v1/resource?limit=100&offset=0\n"
    body = b"".join(line % i for i in range(10 * 1024 * 1024 // len(line % 0)))
    data = body + b"DB_PASSWORD=Fake-Sample-Pw-9f3K2q7Zx\n"
    assert len(data) >= 10 * 1024 * 1024 - 128
    source = FileSource(tmp_path / "big.env", data)
    tracemalloc.start()
    try:
        parsed = secrets.SecretsHandler().parse(source, CollectContext())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    found = [o for o in parsed.observations if isinstance(o, Asset)]
    assert [(a.properties["kind"], a.properties["line"]) for a in found] == [("password", data.count(b"\n"))]
    with capsys.disabled():
        size = len(data) / 2**20
        print(f"\nsecrets handler peak memory on a {size:.1f} MiB .env: {peak / 2**20:.1f} MiB (target 100 MB)")
    assert peak < 100 * 10**6


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        # Stripe's newer live keys run far past the 24 characters of detect-secrets' pattern
        ("STRIPE=sk_live_51HqLyjWDarjtT1zdp7dc4eC39HqLyjWDarjtT1zdp7dcXYZ12345", "stripe-secret-key"),
        (
            "GH=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",
            "github-token",
        ),
        ("hook: https://hooks.slack.com/services/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", "slack-token"),
    ],
)
def test_token_formats_beyond_the_planted_corpus(line: str, kind: str) -> None:
    assert [(n, k) for n, k, _ in secrets.detect(line + "\n")] == [(1, kind)]


@pytest.mark.parametrize(
    "line",
    [  # botocore's examples-1.json (pricing, s3, storagegateway, kms): paging and idempotency tokens
        '"NextToken": "abcdefg123",',
        '"NextContinuationToken": "1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==",',
        '"ClientToken": "cfa1b4cc-1bd5-4ce4-a80b-d3e9ad3a5a0b",',
        '"GrantToken": "AQpAM2RhZGU1ZjExZjAzZGU1OWRlNzEx",',
        '"pageToken": "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA",',
    ],
)
def test_paging_and_idempotency_tokens_are_not_secrets(line: str) -> None:
    [candidate] = secrets.candidates(line.encode() + b"\n")
    assert candidate.excluded
    # the same value under a credential's name is still judged (by its value: kept or excluded with a reason)
    credential = line.split(":", 1)[1]
    assert len(list(secrets.candidates(f'"SessionToken":{credential}'.encode() + b"\n"))) == 1


# one made-up token per pattern of detect-secrets that keysweep runs behind hints (literal strings a
# match must hold, tested before the regex runs): each of GitLab's seven, Mailchimp's
_RANDOM = "Zq8LmX0vTbW2kR7pN4sY1dC6Qm7vX2pL9rT4kW8zR3s5Tq9XbLmZ2rV8kN1pW7yH3cJ5fD0gS6hA4jK"
_BEHIND_HINTS = [
    ("gitlab: glpat-" + _RANDOM[:20], "gitlab-token"),
    ("gitlab: GR1348941" + _RANDOM[:24], "gitlab-token"),
    ("gitlab: glcbt-" + _RANDOM[:30], "gitlab-token"),
    ("gitlab: glimt-" + _RANDOM[:25], "gitlab-token"),
    ("gitlab: glptt-" + _RANDOM[:40], "gitlab-token"),
    ("gitlab: glagent-" + _RANDOM[:60], "gitlab-token"),
    ("gitlab: gloas-" + _RANDOM[:64], "gitlab-token"),
    ("mailchimp: 0a1b2c3d4e5f60718293a4b5c6d7e8f9-us12", "mailchimp-api-key"),
    ("aws_access_key_id: AKIA4QZ7RJ2XK5M3WP8N", "aws-access-key-id"),
    ("github: ghs_" + _RANDOM[:36], "github-token"),
]


@pytest.mark.parametrize(("line", "kind"), _BEHIND_HINTS)
def test_a_token_behind_hints_is_found_and_its_hints_let_it_through(line: str, kind: str) -> None:
    assert [(n, k) for n, k, _ in secrets.detect(f"# settings\n{line}\n")] == [(2, kind)]
    formats = [f for f in known_formats() if f.kind == kind and f.pattern.search(line)]
    assert formats, "the example is a match of one of the kind's patterns"
    assert all(f.may_match(line, line.lower()) for f in formats)


def test_hints_only_skip_text_the_patterns_would_not_match(monkeypatch: pytest.MonkeyPatch) -> None:
    # the examples among text full of the hints' near misses ("global", "-usage", "Glacier", "ghost")
    noise = "global --usage Glacier ghost gl- glpat -us aws_region " * 200 + "\n"
    text = "".join(f"{noise}{line}\n" for line, _ in _BEHIND_HINTS) + noise
    hinted = [(c.line, c.kind, c.reason) for c in secrets.candidates(text.encode())]
    monkeypatch.setattr(KnownFormat, "may_match", lambda self, text, lowered: True)
    assert [(c.line, c.kind, c.reason) for c in secrets.candidates(text.encode())] == hinted
    assert len([c for c in hinted if c[1] != "password"]) == len(_BEHIND_HINTS)


@pytest.mark.parametrize(
    "text",
    [
        '"AWS_Secret_Access_Key": "k3Vq9ZrT1mXw7LpB2sNd8YfH0cJ6gUe4aR5tQo1W"\n',
        "aws_secret_access_key = 'K3VQ9ZRT1MXW7LPB2SND8YFH0CJ6GUE4AR5TQO1W'\n",
        # not ASCII (a curly quote in a comment, as botocore's documentation strings have): as it is
        '# “quoted”\nAwsToken: "k3Vq9ZrT1mXw7LpB2sNd8YfH0cJ6gUe4aR5tQo1W"\n',
        "aws: region us-east-1, no key here\n",
    ],
)
def test_a_pattern_ignoring_case_finds_the_same_through_its_lowered_form(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    [aws] = [f for f in known_formats() if f.kind == "aws-secret-access-key"]
    assert aws.lowered is not None, "detect-secrets' pattern is the one the lowered form was written for"
    padded = "botocore model line with aws and token words\n" * 50 + text
    fast = [(c.line, c.kind, c.reason) for c in secrets.candidates(padded.encode())]
    monkeypatch.setattr(KnownFormat, "finditer", lambda self, text, lowered=None: self.pattern.finditer(text))
    assert [(c.line, c.kind, c.reason) for c in secrets.candidates(padded.encode())] == fast
    assert [kind for _, kind, _ in fast if kind == "aws-secret-access-key"] == (
        [] if "no key" in text else ["aws-secret-access-key"]
    )


def test_hints_by_index_are_dropped_where_a_reordered_plugin_moved_another_pattern() -> None:
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector

    from scanner.collectors.configs import secret_patterns

    # the plugin's list as a newer detect-secrets might order it
    reordered = type("Reordered", (), {"denylist": tuple(reversed(GitLabTokenDetector.denylist))})
    formats = secret_patterns._from_plugin(reordered, "gitlab-token", "GitLab token", secret_patterns._GITLAB_PREFIXES)
    for fmt in formats:  # each pattern keeps hints its own text names, or none (always run)
        assert all(hint.rstrip("-") in fmt.pattern.pattern for hint in fmt.hints)
    assert sum(1 for fmt in formats if not fmt.hints) >= 5

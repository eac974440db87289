"""Formats whose shape alone says "secret": provider tokens, key ids, private key blocks.

The provider patterns are detect-secrets' own (its regex plugins' ``denylist``), so that keysweep
follows a well-kept list instead of re-typing it; keysweep adds word boundaries (a token inside a
longer base64 run is not that token) and the few formats detect-secrets lacks. Plugins whose
patterns match ordinary words or numbers (Artifactory, Twilio, Discord, Telegram, public IPs,
keyword and high-entropy plugins) are left out: they are what made whole-filesystem sweeps noisy.


The list is built on first use (``known_formats()``), not at import: detect-secrets pulls in
requests and urllib3 and the list compiles a few dozen regexes, ~0.3 s that a scan finding no
settings file (a certificate tree) never needs to pay. Every file handler is imported at start-up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class KnownFormat:
    kind: str  # the secret asset's `kind`
    description: str  # for the finding's reason
    source: str  # where the pattern comes from
    pattern: re.Pattern[str]
    # a further test on the value (e.g. a JWT's header must decode to JSON)
    valid: Callable[[str], bool] | None = None
    # the value may run over lines (a PEM block): matched on a chunk with some lines after it
    multiline: bool = False
    # the group that holds the secret (0: the whole match; 1 where a name or a URL surrounds it)
    group: int = 0
    # a free-form password (in a URL): judged like a literal assigned to a password name
    free_form: bool = False
    # literal strings one of which every match contains (case-insensitively when the pattern is):
    # text without any is skipped at the speed of a substring search, not of the regex engine
    hints: tuple[str, ...] = ()
    # for a pattern that ignores case: the same pattern for lower-cased ASCII text, case-sensitive,
    # whose matches start where the pattern's do (the engine then finds its literal start at substring
    # speed, where ignoring case it tries every position: detect-secrets' AWS secret key pattern on
    # botocore's 3 MB EC2 model, 2 ms against 14)
    lowered: re.Pattern[str] | None = None
    # hints that begin alike as one regex: the engine finds their common first character at substring
    # speed and tries them all there, where a test per hint scanned the text once each (ten for
    # Mailchimp's "-us0".."-us9": 16 ms on a 3 MB JSON file, against 1.5 ms). Hints that begin
    # differently make the engine try every position (Slack's: 10 ms against 2.6 for two tests).
    _hinted: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        alike = len(self.hints) > 1 and len({hint[:1] for hint in self.hints}) == 1
        object.__setattr__(self, "_hinted", re.compile("|".join(map(re.escape, self.hints))) if alike else None)

    def may_match(self, text: str, lowered: str) -> bool:
        if not self.hints:
            return True
        # hints of a pattern that ignores case are written in lower case, and looked for in lowered text
        haystack = lowered if self.pattern.flags & re.IGNORECASE else text
        if self._hinted is not None:
            return self._hinted.search(haystack) is not None
        return any(hint in haystack for hint in self.hints)

    def finditer(self, text: str, lowered: str | None = None) -> Iterator[re.Match[str]]:
        """``pattern.finditer(text)``; ``lowered``, ``text.lower()`` when the caller has it."""
        if self.lowered is None or not text.isascii():
            yield from self.pattern.finditer(text)
            return
        for found in self.lowered.finditer(text.lower() if lowered is None else lowered):
            match = self.pattern.match(text, found.start())
            if match is not None:
                yield match

    def value(self, match: re.Match[str]) -> str:
        return match.group(self.group) or match.group(0)


def _bounded(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # a token starts and ends at a non-token character: not inside a longer base64 or hex run
    return re.compile(rf"(?<![A-Za-z0-9_\-])(?:{pattern})(?![A-Za-z0-9])", flags)


def _from_plugin(
    plugin: Any,
    kind: str,
    description: str,
    hints: tuple[str, ...] | Mapping[int, tuple[str, ...]],
    *,
    only: Iterable[int] | None = None,
    bounded: bool = True,
    group: int = 0,
    lowered: Mapping[str, str] | None = None,
) -> list[KnownFormat]:
    """The plugin's patterns, each with ``hints``, or with its own hints by its index in the plugin's
    list, used where the pattern's text names them (a pattern without any, one a newer detect-secrets
    added or moved, is always run: slower, never blind).
    ``lowered``: by a pattern's text, its form for lower-cased text (KnownFormat.lowered); a pattern
    a newer detect-secrets changed is not found there, and runs as it is."""
    out = []
    patterns: list[re.Pattern[str]] = list(plugin.denylist)
    for index, regex in enumerate(patterns):
        if only is not None and index not in only:
            continue
        compiled = _bounded(regex.pattern, regex.flags) if bounded else regex
        own = hints.get(index, ()) if isinstance(hints, Mapping) else hints
        if isinstance(hints, Mapping) and not all(hint.rstrip("-") in regex.pattern for hint in own):
            own = ()  # a list a newer detect-secrets reordered: these hints are another pattern's
        low = (lowered or {}).get(regex.pattern)
        fast = None if low is None else re.compile(low, regex.flags & ~re.IGNORECASE)
        source = f"detect-secrets {plugin.__name__}"
        out.append(KnownFormat(kind, description, source, compiled, group=group, hints=own, lowered=fast))
    return out


def _jwt_valid(token: str) -> bool:
    from detect_secrets.plugins.jwt import JwtTokenDetector

    # three parts with a signature, header and payload JSON: a token, not a fragment in prose
    return token.count(".") == 2 and not token.endswith(".") and bool(JwtTokenDetector.is_formally_valid(token))


@functools.cache
def private_key_format() -> KnownFormat:
    return KnownFormat(
        "private-key",
        "PEM private key block",
        "keysweep",
        # a key, not the marker string a parser compares against: base64 must follow the BEGIN line
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,200}?[A-Za-z0-9+/]{40}"),
        multiline=True,
        hints=("PRIVATE KEY",),
    )


# detect-secrets' AWS secret key pattern (AWSKeyDetector.denylist[1], case ignored), and the same for
# lower-cased text: its letters are in lower case already; its class of base64 characters without A-Z
_AWS_SECRET = r"""aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]"""
_AWS_SECRET_LOWERED = _AWS_SECRET.replace("a-zA-Z", "a-z")

# detect-secrets' GitLab patterns (its denylist, in order), each by the literal every match begins with
_GITLAB_PREFIXES: Mapping[int, tuple[str, ...]] = {
    0: ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-"),
    1: ("GR1348941",),
    2: ("glcbt-",),
    3: ("glimt-",),
    4: ("glptt-",),
    5: ("glagent-",),
    6: ("gloas-",),
}


@functools.cache
def known_formats() -> tuple[KnownFormat, ...]:
    """Every known format, in the order they are searched; built once, on first use."""
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector

    return (
        private_key_format(),
        *_from_plugin(
            AWSKeyDetector, "aws-access-key-id", "AWS access key id", ("A3T", "ABIA", "ACCA", "AKIA", "ASIA"), only=[0]
        ),
        # an AWS secret key is 40 base64 characters quoted after a name with "aws" and "key"/"token"
        *_from_plugin(
            AWSKeyDetector,
            "aws-secret-access-key",
            "AWS secret access key",
            ("aws",),
            only=[1],
            bounded=False,
            group=1,
            lowered={_AWS_SECRET: _AWS_SECRET_LOWERED},
        ),
        *_from_plugin(GitHubTokenDetector, "github-token", "GitHub token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
        # each of GitLab's patterns by its own prefix: "gl" alone is in most text ("global"), and seven
        # regexes over it were half of a sweep of /usr (botocore's API models, freedesktop's MIME list)
        *_from_plugin(GitLabTokenDetector, "gitlab-token", "GitLab token", _GITLAB_PREFIXES),
        *_from_plugin(
            SlackDetector, "slack-token", "Slack token or webhook", ("xox", "hooks.slack.com"), bounded=False
        ),
        # live keys are 24 characters or (newer) many more: the pattern's 24 are a prefix, not the whole
        *_from_plugin(StripeDetector, "stripe-secret-key", "Stripe live secret key", ("k_live_",), bounded=False),
        *_from_plugin(SendGridDetector, "sendgrid-api-key", "SendGrid API key", ("SG.",)),
        # the data-centre suffix with its digit: "-us" alone is in "-usage", "--user"
        *_from_plugin(MailchimpDetector, "mailchimp-api-key", "Mailchimp API key", tuple(f"-us{d}" for d in range(10))),
        *_from_plugin(OpenAIDetector, "openai-api-key", "OpenAI API key", ("T3BlbkFJ",)),
        *_from_plugin(PypiTokenDetector, "pypi-token", "PyPI upload token", ("pypi-",)),
        # detect-secrets' NpmDetector starts with ``//.+/`` (quadratic on a long line of slashes): bounded here
        KnownFormat(
            "npm-token",
            "npm auth token in .npmrc",
            "keysweep, after detect-secrets NpmDetector",
            re.compile(r"//[^\s]{1,256}/:_authToken=[ \t]*(npm_[A-Za-z0-9]{36}|[A-Fa-f0-9\-]{36})"),
            group=1,
            hints=("_authToken",),
        ),
        *_from_plugin(SquareOAuthDetector, "square-oauth-secret", "Square OAuth secret", ("sq0csp-",)),
        *_from_plugin(
            AzureStorageKeyDetector, "azure-storage-key", "Azure storage account key", ("AccountKey=",), bounded=False
        ),
        # detect-secrets' BasicAuthDetector (``://[^{}\s]+:([^{}\s]+)@``) backtracks quadratically on a long
        # run without spaces; the same shape with bounded parts keeps the scan linear
        KnownFormat(
            "url-credentials",
            "password in a URL",
            "keysweep, after detect-secrets BasicAuthDetector",
            re.compile(r"://[^\s{}/@:]{1,64}:([^\s{}/@]{1,128})@"),
            group=1,
            free_form=True,
            hints=("://",),
        ),
        KnownFormat(
            "github-token",
            "GitHub fine-grained personal access token",
            "keysweep",
            _bounded(r"github_pat_[A-Za-z0-9_]{82}"),
            hints=("github_pat_",),
        ),
        KnownFormat(
            "google-api-key", "Google API key", "keysweep", _bounded(r"AIza[0-9A-Za-z_\-]{35}"), hints=("AIza",)
        ),
        KnownFormat(
            "jwt",
            "signed JSON Web Token",
            "detect-secrets JwtTokenDetector",
            _bounded(r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
            valid=_jwt_valid,
            hints=("eyJ",),
        ),
    )

"""Trust locations are matched by one compiled pattern: exactly the answers of the pattern-by-pattern
fnmatch loop it replaced (first match wins), on real system paths and on each kind of pattern."""

from __future__ import annotations

import fnmatch
import os

from scanner.inventory import trust


def _loop(path: str) -> tuple[str, str] | None:
    for pattern, reason in trust.SYSTEM_LOCATIONS:
        if pattern.startswith("/etc/ssl/certs/["):
            if trust._HASHED.match(path):
                return "/etc/ssl/certs", reason
        elif pattern.endswith("/"):
            if path.startswith(pattern) or (pattern.startswith("*") and fnmatch.fnmatch(path, pattern + "*")):
                return pattern.rstrip("/"), reason
        elif fnmatch.fnmatch(path, pattern):
            return path, reason
    name = os.path.basename(path)
    for pattern in trust.BUNDLE_NAMES:
        if fnmatch.fnmatch(name.lower(), pattern):
            return path, f"named as a CA bundle ({name})"
    return None


CASES = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/0a1b2c3d.0",
    "/etc/ssl/certs/0a1b2c3d.12",
    "/etc/ssl/certs/0A1B2C3D.0",  # not a subject-hash name: lower-case hex only
    "/etc/ssl/certs/ssl-cert-snakeoil.pem",
    "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt",
    "/usr/share/ca-certificatesX/a.crt",
    "/opt/jdk/lib/security/cacerts",
    "/srv/app/venv/lib/python3.11/site-packages/certifi/cacert.pem",
    "/srv/app/botocore/cacert.pem",
    "/etc/testssl/Mozilla.pem",
    "/etc/testssl/sub/Mozilla.pem",
    "/srv/kafka/client.TrustStore.p12",
    "/srv/www/CA-Bundle.CRT",
    "/srv/www/site.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
]


def test_compiled_locations_answer_as_the_fnmatch_loop() -> None:
    paths = list(CASES)
    for top in ("/etc/ssl", "/usr/share/ca-certificates", "/etc/nginx"):
        for directory, _, names in os.walk(top):
            paths += [os.path.join(directory, n) for n in names]
    assert [trust.location_reason(p) for p in paths] == [_loop(p) for p in paths]
    # the cases reach each kind of pattern (/etc/testssl is a reference store now, not a location)
    assert sum(_loop(p) is not None for p in CASES) >= 10

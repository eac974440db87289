"""SARIF artifact URIs: the plain-path shortcut gives what the path objects give, for every path."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.reporting import sarif

ROOTS = ["/srv/checkout", "/srv/checkout/", "/", "/srv/x/..", "/srv//double", "/srv/./dot", "/srv/ü n i"]
PATHS = [
    "/srv/checkout/etc/ssl/server.pem",
    "/srv/checkout/ünï cødé/東京 #1?.pem",
    "/srv/checkout/caf\udce9-\udcff.pem",  # a non-UTF-8 file name (PEP 383)
    "/srv/checkout",
    "/srv/checkout/",
    "/srv/checkout//etc//a.pem",
    "/srv/checkout/./etc/a.pem",
    "/srv/checkout/etc/.",
    "/srv/checkout/etc/..",
    "/srv/checkout/.hidden/a.pem",
    "/srv/checkoutother/a.pem",
    "/srv/x/../a.pem",
    "/srv/double/a.pem",
    "/srv//double/a.pem",
    "/srv/dot/a.pem",
    "/srv/ü n i/a.pem",
    "/etc/ssl/certs/ca.pem",
    "relative/a.pem",
    "/",
]


@pytest.mark.parametrize("root", ROOTS)
def test_the_shortcut_gives_the_path_objects_uri(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = {path: sarif._Artifacts(Path(root)).file(path) for path in PATHS}
    monkeypatch.setattr(sarif, "_plain_path", lambda _path: False)
    slow = {path: sarif._Artifacts(Path(root)).file(path) for path in PATHS}
    assert fast == slow
    if root == "/srv/checkout":
        assert fast["/srv/checkout/etc/ssl/server.pem"] == {"uri": "etc/ssl/server.pem", "uriBaseId": sarif.SRCROOT}

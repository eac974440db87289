"""The file cache's compact form (codec.pack / unpack, CACHE_FORMAT 3) and its batched lookups.

A re-scan decodes every unchanged file's parse, and the parallel sweep's parent every worker's
answer, through this form: what comes back must be exactly what was parsed (awkward values too),
a damaged value must be refused (never half trusted), and many files must cost one query.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from scanner.collectors.base import CollectContext
from scanner.collectors.files import cache as file_cache
from scanner.collectors.files.collector import FileCollector
from scanner.collectors.files.handler import ParsedFile
from scanner.inventory import codec
from scanner.inventory.model import (
    Asset,
    AssetType,
    CollectionError,
    Location,
    Relation,
    RelationType,
    freeze,
)
from tests.support import pki

# a file name that is not UTF-8: a lone surrogate once decoded (PEP 383), as the walk gives it
ODD_PATH = os.fsdecode(b"/srv/ke\xffys/s\xc3\xa9rver.pem")


def _parse(path: Path) -> ParsedFile:
    parsed = FileCollector().parse_content(path, path.read_bytes(), CollectContext())
    assert parsed is not None and parsed.observations
    return parsed


def _awkward(path: str) -> ParsedFile:
    """Observations a third-party handler could give: every value the JSON form has to carry."""
    key = Asset(
        "key:spki-sha256:" + "ab" * 32,
        AssetType.KEY,
        freeze({"algorithm": "RSA", "key_size": 4096, "has_private_key": None, "exponent": 2**80 + 1}),
        (Location("file", path, "PEM block 2"),),
    )
    certificate = Asset(
        "cert:sha256:" + "cd" * 32,
        AssetType.CERTIFICATE,
        freeze(
            {
                "subject": "CN=Grüße \u2603,O=Ärger",
                "issuer": "CN=lone \udcff surrogate",
                "serial": -(2**70),
                "san": ["DNS:a.example", "DNS:\u00e9.example"],
                "extensions": [{"oid": "2.5.29.19", "critical": True}],
                "ratio": 0.5,
                "nothing": None,
            }
        ),
        (Location("file", path, "PEM block 1"), Location("trust-store", "/etc/ssl/certs", "", "zone-a")),
    )
    return ParsedFile(
        format="pem",
        observations=(
            Relation(certificate.id, key.id, RelationType.CERTIFIES),  # to an asset further on: by id
            certificate,
            Relation(certificate.id, f"file:{path}", RelationType.STORED_IN),
            key,
            Relation(key.id, f"file:{path}", RelationType.STORED_IN),
            Relation(certificate.id, "cert:sha256:" + "ef" * 32, RelationType.ISSUED_BY),  # outside the list
            CollectionError(path, "files", "PEM block 3: malformed \udcfe"),
        ),
        file_properties={"contains_plaintext_private_key": False, "n": 2**65},
        follow=(Path("/etc/ssl/a.pem"), Path(ODD_PATH)),
        follow_dirs=(Path("/etc/ssl/certs"),),
        emit_file_asset=True,
    )


def _same(back: ParsedFile | None, parsed: ParsedFile) -> None:
    assert back is not None
    assert back.observations == parsed.observations  # dataclass equality: ids, types, properties, locations
    for new, old in zip(back.observations, parsed.observations, strict=True):
        if isinstance(old, Asset):
            assert isinstance(new, Asset)
            # equal and of the same types: an integer past 64 bits is no float, True is no 1
            assert [(k, type(v)) for k, v in new.properties.items()] == [
                (k, type(v)) for k, v in old.properties.items()
            ]
    assert (back.format, back.follow, back.follow_dirs, back.emit_file_asset) == (
        parsed.format,
        parsed.follow,
        parsed.follow_dirs,
        parsed.emit_file_asset,
    )
    assert dict(back.file_properties) == dict(parsed.file_properties)


@pytest.mark.parametrize("path", ["/srv/tls/server.pem", ODD_PATH])
def test_awkward_values_come_back_as_they_were(path: str) -> None:
    parsed = _awkward(path)
    data = file_cache.encode(parsed, path)
    back = file_cache.decode(data, path)
    _same(back, parsed)
    assert back is not None and type(back.file_properties["n"]) is int
    # the file's own path is written once, not in every location and relation
    assert data.count(os.fsencode(path).replace(b"\xff", b"")[:6]) <= 2
    # without the path (the form other callers may use) every value is written out, and still the same
    _same(file_cache.decode(file_cache.encode(parsed), None), parsed)


def test_a_real_parse_comes_back_as_it_was(tmp_path: Path) -> None:
    key = pki.rsa_key(2048)
    ca_key = pki.ec_key()
    chain = pki.pem(pki.certificate(key, "leaf.test", issuer_key=ca_key, issuer_name="Test CA", san=["leaf.test"]))
    chain += pki.pem(pki.certificate(ca_key, "Test CA", ca=True))
    for name in ("chain.pem", os.fsdecode(b"ch\xffain.pem")):
        path = pki.write(tmp_path / name, chain + pki.key_pem(key))
        parsed = _parse(path)
        assert any(isinstance(o, Relation) for o in parsed.observations)
        _same(file_cache.decode(file_cache.encode(parsed, str(path)), str(path)), parsed)


@pytest.mark.parametrize(
    "packed",
    [
        [[3, "x"]],  # no such tag
        [[0, "cert:1", "certificate", {}, [["file", None, ""]]], [1, 5, None, "stored-in"]],  # index past the list
        [[1, "a", "b", "stored-in"], [1, 0, "b", "stored-in"]],  # an index naming a relation, not an asset
        [[0, "cert:1", "certificate", {}, [["file", None, ""]]], [1, True, None, "stored-in"]],  # true is no index
        [[0, "cert:1", "no-such-type", {}, []]],
        [[0, 7, "certificate", {}, []]],  # an id that is no string
        [[0, "cert:1", "certificate", [], []]],  # properties that are no object
        [[0, "cert:1", "certificate", {}, [["file", 3, ""]]]],
        [[0, "cert:1", "certificate", {}, [["file", "/a", "", "", "extra"]]]],
        [[0, "cert:1", "certificate", {}]],  # a field missing
        [[2, "/a", "files", None]],
        [[1, "a", "b", "no-such-relation"]],
        [{"asset": "cert:1"}],  # the dict form is not this form
        # the relation's ends read inline (null, an index) and the one-location form
        [[1, 0, None, "stored-in"], [0, "cert:1", "certificate", {}, [["file", None, ""]]]],  # an index ahead
        [[0, "cert:1", "certificate", {}, [["file", None, ""]]], [1, -1, None, "stored-in"]],  # a negative index
        [[0, "cert:1", "certificate", {}, [["file", None, ""]]], [1, 0, 1.0, "stored-in"]],  # a float is no index
        [[2, "/a", "files", "x"], [1, 0, None, "stored-in"]],  # an index naming an error
        [[0, "cert:1", "certificate", {}, [["file"]]]],  # one location, too short
        [[0, "cert:1", "certificate", {}, 5]],  # locations that are no list
    ],
)
def test_a_damaged_value_is_refused(packed: list[object]) -> None:
    with pytest.raises(codec.CodecError):
        codec.unpack(packed, "/a")


def test_equal_locations_are_one_object_and_ends_name_the_right_asset() -> None:
    path = "/srv/tls/chain.pem"
    packed = [
        [0, "cert:1", "certificate", {"n": 1}, [["file", None, "PEM block 1"]]],
        [0, "key:1", "key", {}, [["file", None, "PEM block 1"], ["file", "/srv/other.pem", ""]]],
        [1, 0, None, "stored-in"],
        [1, 0, 1, "certifies"],
        [1, "cert:0", 0, "issued-by"],
        [0, "cert:2", "certificate", {}, [["file", None, "PEM block 2", "zone"]]],
        [1, 5, 1, "trusts"],
    ]
    out = codec.unpack(packed, path)
    cert, key, stored, certifies, issued, second, trusts = out
    assert isinstance(cert, Asset) and isinstance(key, Asset) and isinstance(second, Asset)
    assert cert.locations == (Location("file", path, "PEM block 1"),)
    assert key.locations == (Location("file", path, "PEM block 1"), Location("file", "/srv/other.pem", ""))
    assert key.locations[0] is cert.locations[0]
    assert second.locations == (Location("file", path, "PEM block 2", "zone"),)
    assert stored == Relation("cert:1", f"file:{path}", RelationType.STORED_IN)
    assert certifies == Relation("cert:1", "key:1", RelationType.CERTIFIES)
    assert issued == Relation("cert:0", "cert:1", RelationType.ISSUED_BY)
    assert trusts == Relation("cert:2", "key:1", RelationType.TRUSTS)


def test_a_value_naming_the_file_needs_its_path() -> None:
    packed = codec.pack(_awkward("/srv/a.pem").observations, "/srv/a.pem")
    with pytest.raises(codec.CodecError):
        codec.unpack(packed, None)
    with pytest.raises(file_cache.CorruptCache):
        file_cache.decode(b'["pem", true, {}, [], [], [[2, "x"]]]', "/srv/a.pem")


def test_many_files_are_looked_up_in_one_query(tmp_path: Path) -> None:
    old = (time.time_ns() - 3600 * 10**9) // 10**9 * 10**9
    files = []
    for n in range(40):
        path = pki.write(tmp_path / "tree" / f"c{n:02}.pem", pki.pem(pki.certificate(pki.ec_key(), f"h{n}.test")))
        os.utime(path, ns=(old, old))
        files.append(path)
    cache = file_cache.FileCache(tmp_path / "cache", "v1")
    parsed = {str(p): _parse(p) for p in files}
    for path in files:
        cache.store(str(path), path.stat(), parsed[str(path)])
    cache._flush()
    statements: list[str] = []
    assert cache._db is not None
    cache._db.set_trace_callback(statements.append)
    asked = [(str(p), p.stat()) for p in files] + [(str(tmp_path / "unknown.pem"), files[0].stat())]
    found = cache.lookup_many(asked)
    assert len([s for s in statements if s.startswith("SELECT")]) == 1
    assert found[-1] is file_cache.MISS and cache.hits == 40 and cache.misses == 1
    for (path, _), hit in zip(asked, found[:-1], strict=False):
        assert isinstance(hit, ParsedFile)
        _same(hit, parsed[path])
    # a changed identity (here: another size) is a miss, not the old parse
    other = os.stat_result((*files[1].stat()[:6], 1, *files[1].stat()[7:]))
    assert cache.lookup(str(files[1]), other) is file_cache.MISS
    cache.finish([str(tmp_path / "tree")])


def test_one_damaged_entry_in_a_batch_discards_the_cache(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = (time.time_ns() - 3600 * 10**9) // 10**9 * 10**9
    files = []
    for n in range(3):
        path = pki.write(tmp_path / f"c{n}.pem", pki.pem(pki.certificate(pki.ec_key(), f"h{n}.test")))
        os.utime(path, ns=(old, old))
        files.append(path)
    cache = file_cache.FileCache(tmp_path / "cache", "v1")
    for path in files:
        cache.store(str(path), path.stat(), _parse(path))
    cache._flush()
    with sqlite3.connect(cache.path) as db:  # valid JSON, but not what the digest was made of
        db.execute("UPDATE files SET value = ? WHERE path = ?", (b"null", os.fsencode(files[1])))
    found = cache.lookup_many([(str(p), p.stat()) for p in files])
    assert isinstance(found[0], ParsedFile)
    assert found[1:] == [file_cache.MISS, file_cache.MISS]  # neither the damaged entry nor any after it
    assert "damaged entry" in caplog.text
    assert cache.lookup(str(files[0]), files[0].stat()) is file_cache.MISS  # the cache was emptied


def test_an_integer_past_64_bits_stays_an_integer() -> None:
    # no lone surrogate beside it: orjson would read this document, and read the integer as a float
    asset = Asset("key:x", AssetType.KEY, freeze({"exponent": 2**64 + 1, "small": 2**63}), ())
    parsed = ParsedFile(format="pem", observations=(asset,), file_properties={"n": -(2**64) - 1})
    back = file_cache.decode(file_cache.encode(parsed, "/a"), "/a")
    assert back is not None
    (decoded,) = back.observations
    assert isinstance(decoded, Asset) and decoded.properties["exponent"] == 2**64 + 1
    assert type(decoded.properties["exponent"]) is int and type(back.file_properties["n"]) is int


@pytest.mark.parametrize("prefix", [b"", b"j"])
def test_a_value_nested_too_deep_is_refused_not_a_crash(prefix: bytes) -> None:
    with pytest.raises(file_cache.CorruptCache):
        file_cache.decode(prefix + b"[" * 100_000 + b"]" * 100_000, "/a")

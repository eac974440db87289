"""Issue 12 item 2: a certificate met again (an intermediate in every chain file) and a key met again
are described once; each sighting still gets its own assets, equal to a fresh description."""

from __future__ import annotations

from scanner.inventory import crypto_assets
from scanner.inventory.model import Asset, Location
from tests.support import pki


def _fresh(cert: object, location: Location) -> list[Asset | object]:
    crypto_assets._DESCRIBED.clear()
    crypto_assets._describe_spki.cache_clear()
    observations, _ = crypto_assets.certificate_observations(cert, location)  # type: ignore[arg-type]
    return list(observations)


def test_a_certificate_met_again_is_the_same_as_described_afresh() -> None:
    key = pki.ec_key()
    cert = pki.certificate(key, "again.test", san=["again.test"])
    first_at, again_at = Location("file", "/srv/a.pem"), Location("file", "/srv/b.pem")
    first = _fresh(cert, first_at)
    again, failed = crypto_assets.certificate_observations(cert, again_at)  # from the memo
    assert failed == {}
    fresh = _fresh(cert, again_at)
    assert again == fresh
    # each sighting is its own: the first's assets still name only where they were seen
    assert [o.locations for o in first if isinstance(o, Asset)] == [(first_at,), (first_at,)]
    assert first[0].properties == again[0].properties and first[0].properties is not again[0].properties


def test_a_key_is_loaded_once_and_callers_get_their_own_description() -> None:
    crypto_assets._describe_spki.cache_clear()
    spki = (
        pki.ec_key()
        .public_key()
        .public_bytes(
            crypto_assets.serialization.Encoding.DER, crypto_assets.serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    one = crypto_assets.describe_spki(spki)
    one["algorithm"] = "changed by a caller"
    assert crypto_assets.describe_spki(spki)["algorithm"] == "EC"
    assert crypto_assets._describe_spki.cache_info().hits == 1


def test_a_full_memo_lets_its_oldest_entry_go_first_and_stays_bounded() -> None:
    memo: crypto_assets._Memo[str, int] = crypto_assets._Memo(3)
    for n in range(10):
        memo.remember(f"k{n}", n)
    assert list(memo.items()) == [("k7", 7), ("k8", 8), ("k9", 9)]
    memo.remember("k7", 70)  # remembered again: the value changes, the memo keeps its bound
    assert len(memo) == 3 and memo["k7"] == 70

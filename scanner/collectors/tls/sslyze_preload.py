"""The last module the sslyze workers' fork server imports: it readies what every worker would
otherwise redo (see sslyze_pool).

- sslyze's trust stores, parsed once here instead of in each worker (certificate_info validates
  every chain against them);
- ``gc.freeze()``: the objects imported so far move to a generation the collector never walks,
  so that a worker's garbage collections do not touch (and copy, page by page) the whole heap it
  shares with the fork server.
"""

from __future__ import annotations

import gc
import warnings

from sslyze.plugins.certificate_info.trust_stores.trust_store_repository import TrustStoresRepository

with warnings.catch_warnings():
    # a bundled root with a negative serial number: sslyze's, and not the user's problem
    warnings.simplefilter("ignore")
    TrustStoresRepository.get_default()
gc.freeze()

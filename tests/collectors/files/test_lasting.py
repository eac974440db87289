"""The cyclic collector around building the inventory (a parallel sweep's answers, a kept sweep
restored): off while it is built, what was built frozen before it is on again."""

from __future__ import annotations

import gc

from scanner.collectors.files.lasting import building_what_lasts


def test_off_while_building_and_what_was_built_frozen_after() -> None:
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    with building_what_lasts() as collecting:
        assert collecting and not gc.isenabled()
        built = [{"asset": n} for n in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(built)  # no pass walks them again
    assert gc.get_count()[0] < 100  # the young generation starts empty


def test_a_caller_with_the_collector_off_keeps_it_off_and_nothing_frozen() -> None:
    gc.disable()
    try:
        frozen_before = gc.get_freeze_count()
        with building_what_lasts() as collecting:
            assert not collecting
            _ = [{"asset": n} for n in range(1000)]
        assert not gc.isenabled() and gc.get_freeze_count() == frozen_before
    finally:
        gc.enable()

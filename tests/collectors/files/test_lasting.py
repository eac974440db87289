"""The cyclic collector around building the inventory (a parallel sweep's answers, a kept sweep
restored): off while it is built, what was built frozen before it is on again."""

from __future__ import annotations

import gc
import weakref

from scanner.collectors.files.lasting import building_what_lasts


def test_off_while_building_and_what_was_built_in_the_oldest_generation_after() -> None:
    assert gc.isenabled()
    with building_what_lasts() as collecting:
        assert collecting and not gc.isenabled()
        built = [["asset", n] for n in range(1000)]  # lists: a dict of plain values is not tracked at all
    assert gc.isenabled()
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(built) in oldest and id(built[-1]) in oldest  # no young pass walks them again
    assert gc.get_freeze_count() == 0  # nor are they frozen: a full collection still finds cycles
    assert gc.get_count()[0] < 100  # the young generation starts empty


def test_a_caller_with_the_collector_off_keeps_it_off_and_its_generations_as_they_are() -> None:
    gc.disable()
    try:
        with building_what_lasts() as collecting:
            assert not collecting
            built = [["asset", n] for n in range(1000)]
        assert not gc.isenabled()
        assert id(built) not in {id(o) for o in gc.get_objects(generation=2)}
    finally:
        gc.enable()


def test_cycles_made_while_building_are_still_collected_after() -> None:
    class Node:
        pass

    with building_what_lasts():
        node = Node()
        node.me = node  # type: ignore[attr-defined]
        survivor = weakref.ref(node)
        del node
    assert survivor() is not None  # nothing collected while building
    gc.collect()
    assert survivor() is None

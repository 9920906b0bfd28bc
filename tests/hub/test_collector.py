"""The hub's pacing of Python's garbage collector (monitor/hub/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from monitor.hub.collector import CollectorPacing


@pytest.fixture
def pacing() -> Iterator[CollectorPacing]:
    pacing = CollectorPacing(thaw_every=600.0)
    pacing.start(now=1000.0)
    yield pacing
    pacing.stop()


def test_what_survives_a_full_collection_is_frozen(pacing: CollectorPacing) -> None:
    """After a full pass, the survivors leave the collector's sight, so the next pass is short."""
    kept = [[i] for i in range(1000)]  # long-lived objects the collector tracks
    gc.collect()
    assert pacing.freezes >= 1
    assert gc.get_freeze_count() >= len(kept)
    assert len(gc.get_objects(generation=2)) < gc.get_freeze_count()


def test_frozen_objects_are_handed_back_once_thaw_every_has_passed(pacing: CollectorPacing) -> None:
    """Cycles among frozen objects are reclaimed by the full pass after a thaw, not held for ever."""
    gc.collect()
    assert gc.get_freeze_count() > 0
    pacing.tick(now=1000.0 + 599.0)
    assert gc.get_freeze_count() > 0 and pacing.thaws == 0
    pacing.tick(now=1000.0 + 600.0)
    assert gc.get_freeze_count() == 0 and pacing.thaws == 1


def test_cyclic_garbage_frozen_by_a_pass_is_reclaimed_after_the_thaw(pacing: CollectorPacing) -> None:
    """A cycle that became garbage while frozen is freed by the first full pass after a thaw."""

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    gc.collect()  # survives (still referenced): frozen
    del a, b  # now garbage, but frozen: no pass sees it
    assert not any(type(o) is Node for o in gc.get_objects())  # frozen objects are not listed
    pacing.tick(now=1000.0 + 600.0)
    assert sum(type(o) is Node for o in gc.get_objects()) == 2  # back in sight
    gc.collect()
    assert sum(type(o) is Node for o in gc.get_objects()) == 0


def test_stop_leaves_the_collector_as_it_was() -> None:
    """Stopping the hub unfreezes everything and removes its callback."""
    pacing = CollectorPacing()
    pacing.start(now=0.0)
    gc.collect()
    pacing.stop()
    assert gc.get_freeze_count() == 0
    assert pacing._after_collection not in gc.callbacks
    gc.collect()
    assert gc.get_freeze_count() == 0

"""The endpoint's GC policy: frozen after a burst of links, reclaimed by a sweep after churn."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from teeth_endpoint.gcpolicy import GcPolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic GC can free it


@pytest.fixture
def clean_gc() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the collector is process-wide: leave it as we found it


def test_a_burst_of_links_freezes_and_churn_sweeps(clean_gc: None) -> None:
    policy = GcPolicy(freeze_every=3, sweep_after=2)
    node = Node()
    ref = weakref.ref(node)
    policy.link_opened()
    policy.link_opened()
    assert gc.get_freeze_count() == 0
    policy.link_opened()
    assert policy.freezes == 1 and gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert ref() is not None  # frozen: full passes no longer walk it
    policy.link_closed()
    assert ref() is not None
    policy.link_closed()
    assert policy.sweeps == 1 and ref() is None


def test_policy_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        GcPolicy(freeze_every=0)


def test_sweeps_grow_rarer_with_the_number_of_open_links(clean_gc: None) -> None:
    policy = GcPolicy(freeze_every=1000, sweep_after=2)
    for _ in range(40):
        policy.link_opened()
    for _ in range(7):  # 7 closed, 33 open: fewer than a quarter of those still open
        policy.link_closed()
    assert policy.sweeps == 0
    policy.link_closed()  # 8 closed, 32 open: a quarter
    assert policy.sweeps == 1

"""DropOldest: the bounded queue's overflow policy."""

from __future__ import annotations

import pytest

from amiproto_transports._shared import DropOldest, HoldBack


def test_drop_oldest_counts() -> None:
    queue: DropOldest[int] = DropOldest(3)
    queue.extend([1, 2])
    queue.extend([3, 4, 5])
    assert queue.take() == [3, 4, 5]
    assert queue.dropped == 2
    assert not queue
    with pytest.raises(ValueError):
        DropOldest(0)


def test_hold_back_queues_what_fits_and_moves_the_held_forward_in_order() -> None:
    queue: HoldBack[int] = HoldBack(3)
    queue.offer([1, 2])
    queue.offer([3, 4, 5, 6, 7])
    assert list(queue.items) == [1, 2, 3] and queue.held == [4, 5, 6, 7]
    queue.offer([8])  # behind the held ones, even though a take may make room first
    assert queue.take() == [1, 2, 3]
    assert list(queue.items) == [4, 5, 6] and queue.held == [7, 8]
    assert queue.take() == [4, 5, 6]
    assert queue.take() == [7, 8]
    assert not queue and not queue.held and queue.dropped == 0


def test_hold_back_releases_the_held_dropping_the_oldest() -> None:
    queue: HoldBack[int] = HoldBack(3)
    queue.offer([1, 2, 3, 4, 5])
    queue.release_held()
    assert queue.take() == [3, 4, 5]
    assert queue.dropped == 2 and not queue.held

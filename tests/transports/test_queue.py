"""DropOldest: the bounded queue's overflow policy."""

from __future__ import annotations

import pytest

from amiproto_transports._shared import DropOldest


def test_drop_oldest_counts() -> None:
    queue: DropOldest[int] = DropOldest(3)
    queue.extend([1, 2])
    queue.extend([3, 4, 5])
    assert queue.take() == [3, 4, 5]
    assert queue.dropped == 2
    assert not queue
    with pytest.raises(ValueError):
        DropOldest(0)

"""The bounded queue between a client's reader and its slow consumers."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

__all__ = ["DropOldest"]

T = TypeVar("T")


class DropOldest(Generic[T]):
    """A bounded FIFO whose overflow policy is: drop the oldest items and count them.

    A slow consumer then loses the stalest events instead of stalling the reader
    (which would delay every waiting ``send_action``) or growing without bound.
    Not locked: the sync client guards it with a Condition.
    """

    __slots__ = ("closed", "dropped", "items", "maxsize")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("queue size must be at least 1")
        self.maxsize = maxsize
        self.items: deque[T] = deque(maxlen=maxsize)
        self.dropped = 0
        self.closed = False

    def extend(self, new: list[T]) -> None:
        """Append ``new``, dropping (and counting) the oldest items that no longer fit."""
        items = self.items
        before = len(items)
        items.extend(new)
        lost = before + len(new) - len(items)
        if lost:
            self.dropped += lost

    def take(self) -> list[T]:
        """Every queued item, oldest first; the queue is empty afterwards."""
        taken = list(self.items)
        self.items.clear()
        return taken

    def __len__(self) -> int:
        return len(self.items)

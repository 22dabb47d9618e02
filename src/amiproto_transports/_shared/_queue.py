"""The bounded queue between a client's reader and its slow consumers."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

__all__ = ["DropOldest", "HoldBack"]

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


class HoldBack(DropOldest[T]):
    """A ``DropOldest`` whose producer can hold back what does not fit, instead of dropping.

    ``offer`` queues what fits and keeps the rest in ``held``, in order, behind the
    queue; every ``take`` moves held items forward into the room it makes. The
    producer reads no more while anything is held (back-pressure), so ``held`` is
    bounded by what one read produced; ``release_held`` is its last resort when it
    must read on, and drops the oldest as ``extend`` does. Not locked either.
    """

    __slots__ = ("held",)

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.held: list[T] = []

    def offer(self, new: list[T]) -> None:
        """Queue what of ``new`` fits behind anything held; hold the rest."""
        if self.held:
            self.held += new
            return
        room = self.maxsize - len(self.items)
        if len(new) <= room:
            self.items.extend(new)
        else:
            self.items.extend(new[:room])
            self.held = new[room:]

    def take(self) -> list[T]:
        """Every queued item, oldest first; the held ones move into the room it made."""
        taken = super().take()
        held = self.held
        if held:
            self.items.extend(held[: self.maxsize])
            del held[: self.maxsize]
        return taken

    def release_held(self) -> None:
        """Queue every held item, dropping (and counting) the oldest that do not fit."""
        held, self.held = self.held, []
        self.extend(held)

"""What the list handlers share: when a list may remove things, and the record of what events removed."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from .._messages import ActionCompleted

__all__ = ["Removals", "is_whole"]

K = TypeVar("K", bound=Hashable)


def is_whole(completed: ActionCompleted) -> bool:
    """True when ``completed`` is a list that arrived whole, so what it lacks is gone.

    An error answer (no permission, module not loaded) is no list and proves
    nothing; a list cut short, or given up at ``max_list_events``
    (``too_many_events``), is not ``complete``.
    """
    return completed.is_list and completed.complete


class Removals(Generic[K]):
    """The keys events removed, each with the ``seq`` of its removal, oldest first.

    A snapshot's list may still hold an object an event removed after the
    snapshot was handed out; this record keeps it from coming back. Only
    removals newer than a pending snapshot matter, so the record forgets older
    ones at each completion (``forget_until``), and never holds more than
    ``limit`` (the oldest go first) on a stream that never completes a snapshot.
    """

    __slots__ = ("_limit", "_seqs")

    def __init__(self, limit: int = 4096) -> None:
        self._seqs: dict[K, int] = {}
        self._limit = limit

    def add(self, key: K, seq: int) -> None:
        seqs = self._seqs
        # Re-inserted at the end, so that the dict stays ordered by seq.
        seqs.pop(key, None)
        seqs[key] = seq
        if len(seqs) > self._limit:
            del seqs[next(iter(seqs))]

    def discard(self, key: K) -> None:
        """Forget ``key``: an event brought it back."""
        self._seqs.pop(key, None)

    def removed_after(self, key: K, since: int | None) -> bool:
        """True when an event removed ``key`` after ``since`` (never when ``since`` is None)."""
        if since is None:
            return False
        seq = self._seqs.get(key)
        return seq is not None and seq > since

    def forget_until(self, since: int | None) -> None:
        """Drop the removals at or before ``since``: no pending snapshot can need them."""
        if since is None:
            return
        seqs = self._seqs
        while seqs:
            oldest = next(iter(seqs))
            if seqs[oldest] > since:
                return
            del seqs[oldest]

    def __len__(self) -> int:
        return len(self._seqs)

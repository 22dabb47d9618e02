"""Handing each item ``PBX.apply`` gets to the handler of its class.

Every item a connection yields goes through here, most of them (VarSet,
DialBegin, responses...) to no handler at all, so the cost of this one step
weighs on the whole model: with the C speedups, ``_speedups.type_dispatcher``
does it without a Python frame of its own. ``TypeDispatcher`` is its twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import _accel
from ._changes import Change
from ._tracking import EventHandler

__all__ = ["Dispatch", "TypeDispatcher", "dispatcher"]

Fallback = Callable[[Any, "float | None"], Sequence[Change]]
"""``fallback(item, now)``: what to do with an item whose class is not in the table."""


class Dispatch:
    """What a dispatcher offers (the C one and ``TypeDispatcher`` alike)."""

    seq: int
    """How many items went to a handler; each handler was given the count with its item."""

    def __call__(self, item: Any, now: float | None = None) -> Sequence[Change]:
        raise NotImplementedError


class TypeDispatcher(Dispatch):
    """``dispatch(item, now)``: the handler of ``type(item)`` in ``by_class`` (a dict
    the caller may fill as it goes) gets ``(item, now, seq, changes)``, with ``seq``
    counted up first and ``changes`` a new list, which is returned; a class whose
    handler is None returns (); a class not in the dict goes to ``fallback``."""

    __slots__ = ("_by_class", "_fallback", "seq")

    def __init__(self, by_class: dict[type, EventHandler | None], fallback: Fallback) -> None:
        self._by_class = by_class
        self._fallback = fallback
        self.seq = 0

    def __call__(self, item: Any, now: float | None = None) -> Sequence[Change]:
        handler = self._by_class.get(type(item), _MISSING)
        if handler is None:
            return ()
        if handler is _MISSING:
            return self._fallback(item, now)
        self.seq = seq = self.seq + 1
        changes: list[Change] = []
        handler(item, now, seq, changes)
        return changes


_MISSING: Any = object()

# The C twin of TypeDispatcher (see amiproto._accel); None: pure Python.
_C_TYPE_DISPATCHER: Callable[[dict[type, Any], Fallback], Dispatch] | None = _accel.c_function(
    __name__, "_C_TYPE_DISPATCHER"
)


def dispatcher(by_class: dict[type, EventHandler | None], fallback: Fallback) -> Dispatch:
    """A ``TypeDispatcher``, or its C twin."""
    c_dispatcher = _C_TYPE_DISPATCHER
    return TypeDispatcher(by_class, fallback) if c_dispatcher is None else c_dispatcher(by_class, fallback)

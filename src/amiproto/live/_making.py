"""Making the model's objects and change reports without running their ``__init__``.

A busy server makes the model build thousands of change reports a second, each
a frozen slotted dataclass whose ``__init__`` runs Python (and a Channel's,
eighteen fields of it) only to store its arguments. With the C speedups, a
maker (``_speedups.instance_maker``) allocates the instance and fills its slots
directly, at a third of the cost; the instance is the one the class would
make. Without them, a maker is the class itself. A maker takes every field, in
the class's order, by position.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from typing import Any

from .. import _accel

__all__ = ["Makers", "maker"]

# The C twin of calling the class (see amiproto._accel); None: pure Python.
_C_INSTANCE_MAKER: Callable[[type, tuple[str, ...]], Callable[..., Any]] | None = _accel.c_function(
    __name__, "_C_INSTANCE_MAKER"
)


def maker(cls: type) -> Callable[..., Any]:
    """What makes a ``cls`` from all its fields, by position: the C maker, or ``cls``."""
    c_maker = _C_INSTANCE_MAKER
    if c_maker is None:
        return cls
    # The C maker only stores the arguments: right for a slotted dataclass whose
    # generated (or equivalent) __init__ does nothing more.
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    if not fields or "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass without __post_init__")
    if not all(field.init for field in fields):
        raise TypeError(f"{cls.__name__} has fields that __init__ does not take")
    return c_maker(cls, tuple(field.name for field in fields))


class Makers:
    """One maker per class, as attributes named by the keywords given; a subclass
    declares their types. Rebuilt when the speedups are switched on or off."""

    def __init__(self, **classes: type) -> None:
        self._classes = classes
        self._build()
        _EVERY.add(self)

    def _build(self) -> None:
        for name, cls in self._classes.items():
            setattr(self, name, maker(cls))


_EVERY: weakref.WeakSet[Makers] = weakref.WeakSet()


def _speedups_switched() -> None:
    """Build every maker again, in C or as the class, as the switch chose (see amiproto._accel)."""
    for makers in list(_EVERY):
        makers._build()

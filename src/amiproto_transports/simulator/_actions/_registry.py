"""The table of actions: each handler registers itself, its privilege and its summary where it is written.

A handler is a function ``(session, action) -> None`` that answers through the
session's ``reply``, ``error``, ``send_list`` or ``answer``. ``privilege`` is the
write classes Asterisk 22 requires, as its ListCommands answer shows them
without the trailing ``all`` (``None`` for ``<none>``); ``summary`` is the text
that answer gives. Registering the same name twice is a bug, caught at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._config import parse_classes

if TYPE_CHECKING:
    from .._session import Session

__all__ = ["ACTIONS", "ActionSpec", "Handler", "handler"]

Handler = Callable[["Session", ReceivedAction], None]


@dataclass(frozen=True)
class ActionSpec:
    """One action the simulator answers."""

    name: str
    privilege: str | None
    summary: str
    run: Handler
    needed: frozenset[str] | None
    """The classes of ``privilege``; a user needs write access to one of them."""


ACTIONS: dict[str, ActionSpec] = {}
"""Lower-cased action name -> its spec; filled as the handler modules are imported."""


def handler(name: str, *, privilege: str | None, summary: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of action ``name``."""

    def register(function: Handler) -> Handler:
        key = name.lower()
        if key in ACTIONS:
            raise RuntimeError(f"two handlers for the {name} action")
        needed = None if privilege is None else parse_classes(privilege)
        ACTIONS[key] = ActionSpec(name, privilege, summary, function, needed)
        return function

    return register

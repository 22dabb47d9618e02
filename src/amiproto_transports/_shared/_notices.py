"""Events the client makes itself (never sent by Asterisk), delivered like any other."""

from __future__ import annotations

from typing import ClassVar

import amiproto
from amiproto import Event

__all__ = ["Disconnected", "Reconnected"]


class _Notice(Event):
    """A synthetic event; subclasses name it."""

    __slots__ = ()

    event_name: ClassVar[str | None] = None

    @classmethod
    def make(cls, **fields: str) -> _Notice:
        """One notice with these headers after its ``Event`` line."""
        assert cls.event_name is not None
        pairs = [("Event", cls.event_name), *fields.items()]
        return cls(amiproto.format_message(pairs), name=cls.event_name)


class Disconnected(_Notice):
    """The connection was lost and the client is reconnecting. Header ``Reason``."""

    __slots__ = ()
    event_name = "Disconnected"


class Reconnected(_Notice):
    """The client reconnected, logged in again and re-applied its event mask and filters.

    Headers ``Attempts`` (connection attempts it took since the loss, failed re-logins
    included) and ``Reapplied`` (actions re-sent).
    Anything the program derived from events (channel lists...) should be rebuilt now.
    """

    __slots__ = ()
    event_name = "Reconnected"

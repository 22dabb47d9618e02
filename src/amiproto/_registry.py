"""Which class the core builds for an event of a given name.

Empty until ``amiproto.events`` (the generated catalogue) registers its
classes; any name not registered comes out as a plain ``Event``.
"""

from __future__ import annotations

from ._messages import Event

__all__ = ["EVENT_CLASSES", "event_class"]

EVENT_CLASSES: dict[str, type[Event]] = {}


def event_class(name: str) -> type[Event]:
    return EVENT_CLASSES.get(name, Event)

"""Which class the core builds for an event of a given name.

``EVENT_CLASSES`` holds the typed classes the core has asked for so far; on
a miss, ``event_class`` asks the catalogue (``_catalog``, loaded on the first
miss only, so that ``import amiproto`` stays cheap), which builds the class if
the name is catalogued, or hands out the one it built when the program read
``amiproto.events.X``. Any other name comes out as a plain ``Event`` and is not
stored, so a server sending ever new names cannot grow this table: it holds at
most one entry per catalogued name (or alias). The catalogue does not import
this module: the registry asks, the catalogue answers.
"""

from __future__ import annotations

from ._messages import Event

__all__ = ["EVENT_CLASSES", "event_class"]

EVENT_CLASSES: dict[str, type[Event]] = {}


def event_class(name: str) -> type[Event]:
    """The class for events called ``name``: its typed class if catalogued, else ``Event``."""
    cls = EVENT_CLASSES.get(name)
    if cls is None:
        from ._catalog import catalogued_event_class  # noqa: PLC0415 - loaded on the first miss only

        typed = catalogued_event_class(name)
        if typed is None:
            return Event
        EVENT_CLASSES[name] = cls = typed
    return cls

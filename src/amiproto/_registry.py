"""Which class the core builds for an event of a given name.

``EVENT_CLASSES`` holds the typed classes built so far; on a miss,
``event_class`` asks the catalogue (``_catalog``, loaded on the first miss
only, so that ``import amiproto`` stays cheap), which builds the class if the
name is catalogued. Any other name comes out as a plain ``Event`` and is not
stored, so a server sending ever new names cannot grow this table: it holds at
most one entry per catalogued name.
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

        cls = catalogued_event_class(name) or Event
    return cls

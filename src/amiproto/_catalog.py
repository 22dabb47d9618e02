"""The typed event catalogue, built class by class from the generated tables.

Creating all 221 event classes and 36 enumerations took most of ``import
amiproto``'s time, and the CLI starts on every call; a program sees a few
dozen event names. So a class is built the first time its name is needed (an
event of that name arrives, or the program reads ``amiproto.events.X``) from
``_event_specs``, and kept: one class per catalogued name, whichever way it was
reached, so ``isinstance(event, events.X)`` holds. The cache is bounded by the
catalogue; names outside it are never stored. The lock makes each class be
built once even when a reader thread and the program ask at the same moment.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from . import _event_specs as specs
from ._typed import Field, TypedEvent, WireEnum, choice, flag, integer, text

__all__ = ["catalogued_event_class", "events_attribute", "events_names"]

_MODULE = "amiproto.events"
_BY_NAME = "EVENT_CLASSES_BY_NAME"

# Reentrant: building an event class builds its enumerations under the same lock.
_lock = threading.RLock()
_classes: dict[str, type[TypedEvent]] = {}  # by documented event name; at most len(specs.EVENTS)
_enums: dict[str, type[WireEnum]] = {}  # by class name; at most len(specs.ENUMS)


def catalogued_event_class(name: str) -> type[TypedEvent] | None:
    """The class for events called ``name`` (built now if need be), or None if not catalogued."""
    documented_name = specs.ALIASES.get(name, name)
    if documented_name not in specs.EVENTS:
        return None
    return _event(documented_name)  # an alias shares its documented name's class


def _event(name: str) -> type[TypedEvent]:
    cls = _classes.get(name)
    if cls is None:
        with _lock:
            cls = _classes.get(name)
            if cls is None:
                cls = _classes[name] = _build_event(name, specs.EVENTS[name])
    return cls


def _build_event(name: str, spec: str) -> type[TypedEvent]:
    class_name, doc, documented, field_specs = json.loads(spec)
    namespace: dict[str, Any] = {
        "__module__": _MODULE,
        "__qualname__": class_name,
        "__doc__": doc,
        "__slots__": (),
        "event_name": name,
    }
    if not documented:
        namespace["documented"] = False
    for attribute, header, kind, field_doc in field_specs:
        namespace[attribute] = _field(header, kind, field_doc)
    cls: type[TypedEvent] = type(class_name, (TypedEvent,), namespace)
    return cls


def _field(header: str, kind: str, doc: str) -> Field[Any]:
    if kind.startswith("enum:"):
        return choice(header, _enum(kind.removeprefix("enum:")), doc)
    if kind == "int":
        return integer(header, doc)
    if kind == "bool":
        return flag(header, doc)
    return text(header, doc)


def _enum(class_name: str) -> type[WireEnum]:
    found = _enums.get(class_name)
    if found is None:
        with _lock:
            found = _enums.get(class_name)
            if found is None:
                found = _enums[class_name] = _build_enum(class_name)
    return found


def _build_enum(class_name: str) -> type[WireEnum]:
    # The functional API makes the same class as ``class X(WireEnum)`` in events.pyi.
    built: type[WireEnum] = WireEnum(  # type: ignore[call-overload]  # mypy wants a literal name
        class_name, specs.ENUMS[class_name], module=_MODULE, qualname=class_name
    )
    built.__doc__ = f"Documented values of {class_name}."
    return built


def events_attribute(attribute: str) -> object:
    """``amiproto.events.<attribute>``: an event class, an enumeration, or the table of all."""
    if attribute in specs.ENUMS:
        return _enum(attribute)
    event_name = specs.CLASSES.get(attribute)
    if event_name is not None:
        return _event(event_name)
    if attribute == _BY_NAME:
        table: dict[str, type[TypedEvent]] = {name: _event(name) for name in specs.EVENTS}
        table.update((alias, _event(name)) for alias, name in specs.ALIASES.items())
        return table
    if attribute == "__all__":
        return events_names()
    raise AttributeError(f"module {_MODULE!r} has no attribute {attribute!r}")


def events_names() -> list[str]:
    """Every public name of ``amiproto.events``, sorted."""
    return sorted([*specs.CLASSES, *specs.ENUMS, _BY_NAME])

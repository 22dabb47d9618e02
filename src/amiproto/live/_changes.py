"""What ``PBX.apply`` reports: one typed change per object added, changed or removed.

A ``...Changed`` holds the live object and ``fields``: for each field that
moved, its name and its ``(old, new)`` values. Nothing is reported for an event
that changed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from typing import Any, TypeVar

from ._objects import Bridge, Call, Channel, ExtensionState, Queue, QueueCaller, QueueMember

__all__ = [
    "BridgeAdded",
    "BridgeChanged",
    "BridgeRemoved",
    "CallAdded",
    "CallChanged",
    "CallRemoved",
    "Change",
    "ChannelAdded",
    "ChannelChanged",
    "ChannelRemoved",
    "DeviceStateChanged",
    "ExtensionStateChanged",
    "FieldChanges",
    "QueueAdded",
    "QueueCallerAdded",
    "QueueCallerChanged",
    "QueueCallerRemoved",
    "QueueChanged",
    "QueueMemberAdded",
    "QueueMemberChanged",
    "QueueMemberRemoved",
    "QueueRemoved",
]

FieldChanges = Mapping[str, tuple[object, object]]
"""Field name -> (old value, new value)."""

C = TypeVar("C", bound=type)


def _quick_init(cls: C) -> C:
    """Give a frozen, slotted dataclass an ``__init__`` that sets each slot through
    its own descriptor, with the same signature.

    The generated one calls ``object.__setattr__(self, name, value)`` for each field
    (frozen refuses plain assignment), which looks the name up again: nearly twice
    the cost, on the thousands of changes a busy server makes a second. Everything
    else stays the dataclass's: equality, repr, hash, ``FrozenInstanceError``.
    """
    parameters = []
    body = []
    namespace: dict[str, object] = {}
    for field in fields(cls):
        name = field.name
        namespace[f"_set_{name}"] = getattr(cls, name).__set__
        if field.default is MISSING:
            parameters.append(name)
        else:
            namespace[f"_default_{name}"] = field.default
            parameters.append(f"{name}=_default_{name}")
        body.append(f"    _set_{name}(self, {name})\n")
    # Built from source as dataclasses builds its own: parameters named as the fields.
    exec(f"def __init__(self, {', '.join(parameters)}):\n{''.join(body)}", namespace)
    init: Any = namespace["__init__"]
    generated: Any = cls.__dict__["__init__"]
    init.__qualname__ = generated.__qualname__
    init.__annotations__ = generated.__annotations__
    init.__doc__ = generated.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 - through setattr: mypy refuses to assign __init__
    return cls


@_quick_init
@dataclass(frozen=True, slots=True)
class ChannelAdded:
    channel: Channel


@_quick_init
@dataclass(frozen=True, slots=True)
class ChannelChanged:
    channel: Channel
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class ChannelRemoved:
    channel: Channel


@_quick_init
@dataclass(frozen=True, slots=True)
class BridgeAdded:
    bridge: Bridge


@_quick_init
@dataclass(frozen=True, slots=True)
class BridgeChanged:
    bridge: Bridge
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class BridgeRemoved:
    bridge: Bridge


@_quick_init
@dataclass(frozen=True, slots=True)
class CallAdded:
    call: Call


@_quick_init
@dataclass(frozen=True, slots=True)
class CallChanged:
    call: Call
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class CallRemoved:
    """The call's last channel hung up (or a snapshot found none of its channels)."""

    call: Call


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueAdded:
    queue: Queue


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueChanged:
    queue: Queue
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueRemoved:
    queue: Queue


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueMemberAdded:
    queue: Queue
    member: QueueMember


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueMemberChanged:
    queue: Queue
    member: QueueMember
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueMemberRemoved:
    queue: Queue
    member: QueueMember


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueCallerAdded:
    queue: Queue
    caller: QueueCaller


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueCallerChanged:
    queue: Queue
    caller: QueueCaller
    fields: FieldChanges


@_quick_init
@dataclass(frozen=True, slots=True)
class QueueCallerRemoved:
    queue: Queue
    caller: QueueCaller


@_quick_init
@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    """``old`` is None for a device first seen, ``new`` None for one a snapshot no longer lists."""

    device: str
    old: str | None
    new: str | None


@_quick_init
@dataclass(frozen=True, slots=True)
class ExtensionStateChanged:
    """``old`` is None for a hint first seen; ``removed`` when a snapshot no longer lists it."""

    state: ExtensionState
    old: ExtensionState | None
    removed: bool = False


Change = (
    ChannelAdded
    | ChannelChanged
    | ChannelRemoved
    | BridgeAdded
    | BridgeChanged
    | BridgeRemoved
    | CallAdded
    | CallChanged
    | CallRemoved
    | QueueAdded
    | QueueChanged
    | QueueRemoved
    | QueueMemberAdded
    | QueueMemberChanged
    | QueueMemberRemoved
    | QueueCallerAdded
    | QueueCallerChanged
    | QueueCallerRemoved
    | DeviceStateChanged
    | ExtensionStateChanged
)
"""Every change ``PBX.apply`` can report."""

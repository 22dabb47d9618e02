"""What ``PBX.apply`` reports: one typed change per object added, changed or removed.

A ``...Changed`` holds the live object and ``fields``: for each field that
moved, its name and its ``(old, new)`` values. Nothing is reported for an event
that changed nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class ChannelAdded:
    channel: Channel


@dataclass(frozen=True, slots=True)
class ChannelChanged:
    channel: Channel
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class ChannelRemoved:
    channel: Channel


@dataclass(frozen=True, slots=True)
class BridgeAdded:
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class BridgeChanged:
    bridge: Bridge
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class BridgeRemoved:
    bridge: Bridge


@dataclass(frozen=True, slots=True)
class CallAdded:
    call: Call


@dataclass(frozen=True, slots=True)
class CallChanged:
    call: Call
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class CallRemoved:
    """The call's last channel hung up (or a snapshot found none of its channels)."""

    call: Call


@dataclass(frozen=True, slots=True)
class QueueAdded:
    queue: Queue


@dataclass(frozen=True, slots=True)
class QueueChanged:
    queue: Queue
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class QueueRemoved:
    queue: Queue


@dataclass(frozen=True, slots=True)
class QueueMemberAdded:
    queue: Queue
    member: QueueMember


@dataclass(frozen=True, slots=True)
class QueueMemberChanged:
    queue: Queue
    member: QueueMember
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class QueueMemberRemoved:
    queue: Queue
    member: QueueMember


@dataclass(frozen=True, slots=True)
class QueueCallerAdded:
    queue: Queue
    caller: QueueCaller


@dataclass(frozen=True, slots=True)
class QueueCallerChanged:
    queue: Queue
    caller: QueueCaller
    fields: FieldChanges


@dataclass(frozen=True, slots=True)
class QueueCallerRemoved:
    queue: Queue
    caller: QueueCaller


@dataclass(frozen=True, slots=True)
class DeviceStateChanged:
    """``old`` is None for a device first seen, ``new`` None for one a snapshot no longer lists."""

    device: str
    old: str | None
    new: str | None


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

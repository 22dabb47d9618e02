"""A live model of the PBX: channels, calls, bridges, queues and states, kept current from events.

Sans-IO like the core: ``PBX.apply(item, now)`` takes what ``next_event()`` yields
and returns typed changes. The clients keep one current with ``connect(..., live=True)``.
"""

from ._changes import (
    BridgeAdded,
    BridgeChanged,
    BridgeRemoved,
    CallAdded,
    CallChanged,
    CallRemoved,
    Change,
    ChannelAdded,
    ChannelChanged,
    ChannelRemoved,
    DeviceStateChanged,
    ExtensionStateChanged,
    FieldChanges,
    QueueAdded,
    QueueCallerAdded,
    QueueCallerChanged,
    QueueCallerRemoved,
    QueueChanged,
    QueueMemberAdded,
    QueueMemberChanged,
    QueueMemberRemoved,
    QueueRemoved,
)
from ._objects import Bridge, Call, Channel, ExtensionState, Queue, QueueCaller, QueueMember
from ._pbx import PBX

__all__ = [
    "PBX",
    "Bridge",
    "BridgeAdded",
    "BridgeChanged",
    "BridgeRemoved",
    "Call",
    "CallAdded",
    "CallChanged",
    "CallRemoved",
    "Change",
    "Channel",
    "ChannelAdded",
    "ChannelChanged",
    "ChannelRemoved",
    "DeviceStateChanged",
    "ExtensionState",
    "ExtensionStateChanged",
    "FieldChanges",
    "Queue",
    "QueueAdded",
    "QueueCaller",
    "QueueCallerAdded",
    "QueueCallerChanged",
    "QueueCallerRemoved",
    "QueueChanged",
    "QueueMember",
    "QueueMemberAdded",
    "QueueMemberChanged",
    "QueueMemberRemoved",
    "QueueRemoved",
]

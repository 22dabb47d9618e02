"""What the live model holds: channels, bridges, calls, queues and states.

The objects are mutable and updated in place by ``PBX.apply``: a program that
keeps one sees it change. A change report (see ``_changes``) carries the object
and, for a change, the old and new value of each field that moved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Bridge",
    "Call",
    "Channel",
    "ExtensionState",
    "Queue",
    "QueueCaller",
    "QueueMember",
]


@dataclass(slots=True, eq=False)
class Channel:
    """One channel, by ``uniqueid``; the fields are named as ``events.CoreShowChannel``'s."""

    uniqueid: str
    channel: str = ""
    channel_state: int | None = None
    channel_state_desc: str | None = None
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_line_num: str | None = None
    connected_line_name: str | None = None
    context: str | None = None
    exten: str | None = None
    priority: str | None = None
    linkedid: str | None = None
    application: str | None = None
    application_data: str | None = None
    bridge_id: str | None = None
    """The bridge the channel is in; None outside a bridge."""
    account_code: str | None = None
    language: str | None = None
    created: float | None = None
    """The ``now`` given to ``PBX.apply`` when the model first saw the channel."""


@dataclass(slots=True, eq=False)
class Bridge:
    """One bridge, by ``bridge_id`` (Asterisk's BridgeUniqueid)."""

    bridge_id: str
    bridge_type: str | None = None
    technology: str | None = None
    creator: str | None = None
    name: str | None = None
    channels: set[str] = field(default_factory=set)
    """The uniqueids of the channels in the bridge."""
    created: float | None = None


@dataclass(slots=True, eq=False)
class Call:
    """The channels that share one Linkedid: a call as people mean it."""

    linkedid: str
    channels: set[str] = field(default_factory=set)
    """The uniqueids of the call's channels still up."""
    started: float | None = None
    answered: bool = False
    answered_at: float | None = None
    ended: float | None = None
    """Set when the last channel hung up (the call is then in ``PBX.finished_calls``)."""


@dataclass(slots=True, eq=False)
class QueueMember:
    """One member of a queue, by ``interface`` (the member's Interface/Location)."""

    interface: str
    name: str | None = None
    state_interface: str | None = None
    membership: str | None = None
    penalty: int | None = None
    calls_taken: int | None = None
    last_call: int | None = None
    in_call: bool | None = None
    status: int | None = None
    """Asterisk's device state number (AST_DEVICE_*), as QueueMemberStatus sends it."""
    paused: bool = False
    paused_reason: str | None = None
    ring_in_use: bool | None = None
    wrapup_time: int | None = None


@dataclass(slots=True, eq=False)
class QueueCaller:
    """One caller waiting in a queue, by ``uniqueid``."""

    uniqueid: str
    channel: str | None = None
    position: int | None = None
    caller_id_num: str | None = None
    caller_id_name: str | None = None
    connected_line_num: str | None = None
    connected_line_name: str | None = None
    wait_start: float | None = None
    """The ``now`` of the join, or for a caller found by a snapshot, ``now`` minus its Wait."""


@dataclass(slots=True, eq=False)
class Queue:
    """One queue, by ``name``, with its members and waiting callers."""

    name: str
    strategy: str | None = None
    max: int | None = None
    hold_time: int | None = None
    talk_time: int | None = None
    completed: int | None = None
    abandoned: int | None = None
    service_level: int | None = None
    service_level_perf: str | None = None
    weight: int | None = None
    members: dict[str, QueueMember] = field(default_factory=dict)
    callers: dict[str, QueueCaller] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class ExtensionState:
    """A dialplan hint's state, by ``(exten, context)``."""

    exten: str
    context: str
    hint: str | None = None
    status: int | None = None
    status_text: str | None = None

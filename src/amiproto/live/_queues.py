"""Queues, their members and waiting callers, from queue events and QueueStatus.

What each event does (Asterisk 22's app_queue, checked against the recordings):

- ``QueueMemberAdded/Status/Pause/Penalty/Ringinuse`` carry the member's whole
  record: the member is created or updated from it. ``QueueMemberRemoved``
  removes it.
- ``QueueCallerJoin`` adds a caller at its ``Position``; the callers at that
  position or behind move back one. ``QueueCallerLeave`` removes it; those
  behind move up one. Asterisk renumbers its queue the same way, so the
  positions stay the server's even when the model missed callers that joined
  before it connected. A caller leaves only by ``QueueCallerLeave``: Asterisk
  sends one for every caller that joined, after ``QueueCallerAbandon`` for one
  that hung up, and before ``AgentConnect`` for one that was answered.
- ``QueueCallerAbandon`` counts in the queue's ``abandoned``.
- ``AgentCalled``, ``AgentRingNoAnswer`` and ``AgentDump`` change nothing but
  create the queue and the member when the model has not seen them: a ringing
  member shows in its ``status`` (``QueueMemberStatus``).
- ``AgentConnect`` sets the member ``in_call``.
- ``AgentComplete`` ends the member's call: ``in_call`` goes false and
  ``calls_taken`` and the queue's ``completed`` count one more, as app_queue's
  ``update_queue()`` does. Asterisk counts a call only when it is the member's
  current one (its latest connect, to the second): a member with
  ``ringinuse`` taking overlapping calls gets fewer counted than completed
  (16 of 40 in ``load_120calls``). The model counts the completion of the
  member's latest ``AgentConnect`` (or of any call when it saw none), which is
  exact for a member with one call at a time; for overlapping calls the
  server's next member event or ``QueueStatus`` brings the true count.
  ``last_call`` (the server's clock) and the queue's average ``hold_time`` and
  ``talk_time`` come only from member events and ``QueueStatus``.

An event naming a queue, member or caller the model has not seen (after a
reconnect) creates the queue and the member; a caller is created only by its
join or a snapshot, since no other event tells its position.

``QueueStatus`` (the snapshot) lists ``QueueParams``, ``QueueMember`` and
``QueueEntry`` items, names no ordinary event has, so the model reads them only
from the completion: their values win (a list arrives in one piece, between the
events before it and after it), and a whole list removes what it lacks, in the
scope of its ``Queue``/``Member`` filters, unless an event touched it after
the snapshot was handed out; what an event removed after that is not added back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final

from .._actions import Action
from .._messages import ActionCompleted, Event
from ..actions import QueueStatus
from ._changes import (
    Change,
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
from ._fields import HeaderReader, header_reader
from ._objects import Queue, QueueCaller, QueueMember
from ._snapshots import Removals, is_whole
from ._tracking import EventHandler, ListHandler

__all__ = ["QueueTracker"]

Moved = dict[str, tuple[object, object]]


class _Skip:
    """A header value that does not convert: the field keeps what it had."""


_SKIP: Final = _Skip()


def _integer(raw: str) -> object:
    try:
        return int(raw)
    except ValueError:
        return _SKIP


def _flag(raw: str) -> object:
    # Asterisk writes these with %d; the other spellings are for servers that do not.
    if raw == "1":
        return True
    if raw == "0":
        return False
    lowered = raw.strip().lower()
    if lowered in ("yes", "true", "on"):
        return True
    if lowered in ("no", "false", "off"):
        return False
    return _SKIP


def _number(raw: str | None) -> int | None:
    """The integer in ``raw``, or None for a missing or malformed header."""
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _text(raw: str) -> object:
    return raw


def _reason(raw: str) -> object:
    # An unpaused member has an empty PausedReason: no reason.
    return raw or None


Fields = tuple[tuple[str, str, Callable[[str], object]], ...]
"""(attribute, header, conversion) for each field an item sets."""

# The member's record, as QueueMember* events write it (Interface/MemberName) ...
_MEMBER_EVENT: Fields = (
    ("name", "MemberName", _text),
    ("state_interface", "StateInterface", _text),
    ("membership", "Membership", _text),
    ("penalty", "Penalty", _integer),
    ("calls_taken", "CallsTaken", _integer),
    ("last_call", "LastCall", _integer),
    ("in_call", "InCall", _flag),
    ("status", "Status", _integer),
    ("paused", "Paused", _flag),
    ("paused_reason", "PausedReason", _reason),
    ("ring_in_use", "Ringinuse", _flag),
    ("wrapup_time", "Wrapuptime", _integer),
)
# ... and as QueueStatus lists it (Location/Name, no Ringinuse).
_MEMBER_ITEM: Fields = (
    ("name", "Name", _text),
    *(field for field in _MEMBER_EVENT if field[0] not in ("name", "ring_in_use")),
)
_CALLER: Fields = (
    ("channel", "Channel", _text),
    ("position", "Position", _integer),
    ("caller_id_num", "CallerIDNum", _text),
    ("caller_id_name", "CallerIDName", _text),
    ("connected_line_num", "ConnectedLineNum", _text),
    ("connected_line_name", "ConnectedLineName", _text),
)
_QUEUE: Fields = (
    ("strategy", "Strategy", _text),
    ("max", "Max", _integer),
    ("hold_time", "Holdtime", _integer),
    ("talk_time", "TalkTime", _integer),
    ("completed", "Completed", _integer),
    ("abandoned", "Abandoned", _integer),
    ("service_level", "ServiceLevel", _integer),
    ("service_level_perf", "ServicelevelPerf", _text),
    ("weight", "Weight", _integer),
)


def _reader(keys: tuple[str, ...], fields: Fields = (), *more: str) -> HeaderReader:
    """A reader of ``keys``, then the headers of ``fields``, then ``more``."""
    return header_reader((*keys, *(header for _, header, _ in fields), *more))


# What each event and list item is read for: the keys that name the object, then its fields.
_read_member_event = _reader(("Queue", "Interface"), _MEMBER_EVENT)
_read_member_item = _reader(("Queue", "Location"), _MEMBER_ITEM)
_read_caller_event = _reader(("Queue", "Uniqueid"), _CALLER)
_read_caller_item = _reader(("Queue", "Uniqueid"), _CALLER, "Wait")
_read_queue_item = _reader(("Queue",), _QUEUE)
_read_member_key = _reader(("Queue", "Interface"))
_read_agent = _reader(("Queue", "Interface", "MemberName", "Uniqueid"))
_read_leave = _reader(("Queue", "Uniqueid", "Position"))


def _apply(target: object, values: Sequence[str | None], fields: Fields) -> Moved:
    """Set each field whose value (in ``values``, in the order of ``fields``) is
    present and converts; return those that moved."""
    moved: Moved = {}
    for (attribute, _, convert), raw in zip(fields, values, strict=True):
        if raw is None:
            continue
        new = convert(raw)
        if new is _SKIP:
            continue
        old = getattr(target, attribute)
        if old != new:
            setattr(target, attribute, new)
            moved[attribute] = (old, new)
    return moved


class _Unknown:
    """The model has not seen the member's current call connect."""


_UNKNOWN: Final = _Unknown()

# A seq above every real one: with it, no event counts as after the snapshot.
_NEVER: Final = float("inf")

MemberKey = tuple[str, str]
"""(queue name, member interface)"""
CallerKey = tuple[str, str]
"""(queue name, caller uniqueid)"""


class QueueTracker:
    def __init__(self) -> None:
        self.queues: dict[str, Queue] = {}
        # The seq of the last event that named each queue, member and caller.
        self._queue_seqs: dict[str, int] = {}
        self._member_seqs: dict[MemberKey, int] = {}
        self._caller_seqs: dict[CallerKey, int] = {}
        self._removed_members: Removals[MemberKey] = Removals()
        self._removed_callers: Removals[CallerKey] = Removals()
        # The caller of each member's latest AgentConnect; None once that call completed.
        self._connected: dict[MemberKey, str | None] = {}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        member = self._on_member
        agent = self._on_agent
        return {
            "QueueCallerJoin": self._on_join,
            "QueueCallerLeave": self._on_leave,
            "QueueCallerAbandon": self._on_abandon,
            "QueueMemberAdded": member,
            "QueueMemberStatus": member,
            "QueueMemberPause": member,
            "QueueMemberPenalty": member,
            "QueueMemberRinginuse": member,
            "QueueMemberRemoved": self._on_member_removed,
            "AgentCalled": agent,
            "AgentRingNoAnswer": agent,
            "AgentDump": agent,
            "AgentConnect": self._on_connect,
            "AgentComplete": self._on_complete,
        }

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {"queuestatus": self._on_queue_status}

    def snapshot_actions(self) -> list[Action]:
        return [QueueStatus()]

    # -- shared steps --

    def _queue(self, name: str, seq: int, changes: list[Change]) -> Queue:
        """The queue ``name``, created (and reported) when first named."""
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = Queue(name)
            changes.append(QueueAdded(queue))
        self._queue_seqs[name] = seq
        return queue

    def _agent_member(
        self, values: tuple[str | None, ...], seq: int, changes: list[Change]
    ) -> tuple[Queue, QueueMember] | None:
        """The queue and member an Agent* event names (``_read_agent``), created when unseen."""
        name, interface, member_name, _ = values
        if not name or not interface:
            return None
        queue = self._queue(name, seq, changes)
        key = (name, interface)
        self._member_seqs[key] = seq
        member = queue.members.get(interface)
        if member is None:
            member = queue.members[interface] = QueueMember(interface, member_name)
            self._removed_members.discard(key)
            changes.append(QueueMemberAdded(queue, member))
        return queue, member

    @staticmethod
    def _shift(queue: Queue, start: int, delta: int, changes: list[Change]) -> None:
        """Move the callers at ``start`` or behind by ``delta`` places."""
        for caller in queue.callers.values():
            position = caller.position
            if position is not None and position >= start:
                caller.position = position + delta
                changes.append(QueueCallerChanged(queue, caller, {"position": (position, position + delta)}))

    def _forget_member(self, key: MemberKey) -> None:
        self._member_seqs.pop(key, None)
        self._connected.pop(key, None)

    # -- members --

    def _on_member(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        values = _read_member_event(event)
        name, interface = values[:2]
        if not name or not interface:
            return
        queue = self._queue(name, seq, changes)
        key = (name, interface)
        self._member_seqs[key] = seq
        member = queue.members.get(interface)
        if member is None:
            member = QueueMember(interface)
            _apply(member, values[2:], _MEMBER_EVENT)
            queue.members[interface] = member
            self._removed_members.discard(key)
            changes.append(QueueMemberAdded(queue, member))
            return
        moved = _apply(member, values[2:], _MEMBER_EVENT)
        if moved:
            changes.append(QueueMemberChanged(queue, member, moved))

    def _on_member_removed(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        name, interface = _read_member_key(event)
        if not name or not interface:
            return
        queue = self._queue(name, seq, changes)
        key = (name, interface)
        self._forget_member(key)
        self._removed_members.add(key, seq)
        member = queue.members.pop(interface, None)
        if member is not None:
            changes.append(QueueMemberRemoved(queue, member))

    # -- callers --

    def _on_join(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        values = _read_caller_event(event)
        name, uniqueid = values[:2]
        if not name or not uniqueid:
            return
        queue = self._queue(name, seq, changes)
        key = (name, uniqueid)
        if uniqueid in queue.callers:
            # Joined again without a leave the model saw: the old place is gone first.
            self._remove_caller(queue, uniqueid, None, changes)
        caller = QueueCaller(uniqueid, wait_start=now)
        _apply(caller, values[2:], _CALLER)
        if caller.position is not None:
            self._shift(queue, caller.position, 1, changes)
        queue.callers[uniqueid] = caller
        self._caller_seqs[key] = seq
        self._removed_callers.discard(key)
        changes.append(QueueCallerAdded(queue, caller))

    def _on_leave(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        name, uniqueid, position = _read_leave(event)
        if not name or not uniqueid:
            return
        queue = self._queue(name, seq, changes)
        key = (name, uniqueid)
        self._caller_seqs.pop(key, None)
        self._removed_callers.add(key, seq)
        self._remove_caller(queue, uniqueid, _number(position), changes)

    def _remove_caller(
        self, queue: Queue, uniqueid: str, position: int | None, changes: list[Change]
    ) -> None:
        """Remove a caller (known or not) that was at ``position``; those behind move up."""
        caller = queue.callers.pop(uniqueid, None)
        if caller is not None:
            changes.append(QueueCallerRemoved(queue, caller))
            if position is None:
                position = caller.position
        if position is not None:
            self._shift(queue, position + 1, -1, changes)

    def _on_abandon(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        name = event.headers.get("Queue")
        if not name:
            return
        queue = self._queue(name, seq, changes)
        abandoned = queue.abandoned
        if abandoned is not None:
            queue.abandoned = abandoned + 1
            changes.append(QueueChanged(queue, {"abandoned": (abandoned, abandoned + 1)}))

    # -- agents --

    def _on_agent(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        self._agent_member(_read_agent(event), seq, changes)

    def _on_connect(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        values = _read_agent(event)
        found = self._agent_member(values, seq, changes)
        if found is None:
            return
        queue, member = found
        self._connected[(queue.name, member.interface)] = values[3]
        if member.in_call is not True:
            old = member.in_call
            member.in_call = True
            changes.append(QueueMemberChanged(queue, member, {"in_call": (old, True)}))

    def _on_complete(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        values = _read_agent(event)
        found = self._agent_member(values, seq, changes)
        if found is None:
            return
        queue, member = found
        key = (queue.name, member.interface)
        current = self._connected.get(key, _UNKNOWN)
        if current is not _UNKNOWN and current != values[3]:
            return  # an overlapped call: the member is still in its latest one
        self._connected[key] = None
        moved: Moved = {}
        if member.in_call is not False:
            moved["in_call"] = (member.in_call, False)
            member.in_call = False
        calls = member.calls_taken
        if calls is not None:
            member.calls_taken = calls + 1
            moved["calls_taken"] = (calls, calls + 1)
        if moved:
            changes.append(QueueMemberChanged(queue, member, moved))
        completed = queue.completed
        if completed is not None:
            queue.completed = completed + 1
            changes.append(QueueChanged(queue, {"completed": (completed, completed + 1)}))

    # -- the snapshot --

    def _on_queue_status(
        self, completed: ActionCompleted, since: int | None, now: float | None, changes: list[Change]
    ) -> None:
        listed_members: dict[str, set[str]] = {}
        listed_callers: dict[str, set[str]] = {}
        for item in completed.events:
            kind = item.name
            if kind == "QueueMember":
                self._listed_member(_read_member_item(item), since, listed_members, changes)
            elif kind == "QueueEntry":
                self._listed_caller(_read_caller_item(item), since, now, listed_callers, changes)
            elif kind == "QueueParams":
                self._listed_queue(_read_queue_item(item), listed_members, listed_callers, changes)
        if is_whole(completed):
            self._remove_unlisted(completed.action, since, listed_members, listed_callers, changes)
        self._removed_members.forget_until(since)
        self._removed_callers.forget_until(since)

    def _listed_queue(
        self,
        values: tuple[str | None, ...],
        listed_members: dict[str, set[str]],
        listed_callers: dict[str, set[str]],
        changes: list[Change],
    ) -> None:
        name = values[0]
        if not name:
            return
        listed_members.setdefault(name, set())
        listed_callers.setdefault(name, set())
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = Queue(name)
            _apply(queue, values[1:], _QUEUE)
            changes.append(QueueAdded(queue))
            return
        moved = _apply(queue, values[1:], _QUEUE)
        if moved:
            changes.append(QueueChanged(queue, moved))

    def _listed_member(
        self,
        values: tuple[str | None, ...],
        since: int | None,
        listed: dict[str, set[str]],
        changes: list[Change],
    ) -> None:
        name, interface = values[:2]
        if not name or not interface:
            return
        listed.setdefault(name, set()).add(interface)
        key = (name, interface)
        if self._removed_members.removed_after(key, since):
            return
        queue = self.queues.get(name)
        if queue is None:
            # QueueParams comes first; a server that left it out still has the queue.
            queue = self.queues[name] = Queue(name)
            changes.append(QueueAdded(queue))
        member = queue.members.get(interface)
        if member is None:
            member = QueueMember(interface)
            _apply(member, values[2:], _MEMBER_ITEM)
            queue.members[interface] = member
            changes.append(QueueMemberAdded(queue, member))
        else:
            moved = _apply(member, values[2:], _MEMBER_ITEM)
            if moved:
                changes.append(QueueMemberChanged(queue, member, moved))
        if member.in_call is False:
            # Idle now: a completion whose connect the model did not see is not this member's call.
            self._connected[key] = None

    def _listed_caller(
        self,
        values: tuple[str | None, ...],
        since: int | None,
        now: float | None,
        listed: dict[str, set[str]],
        changes: list[Change],
    ) -> None:
        name, uniqueid = values[:2]
        if not name or not uniqueid:
            return
        listed.setdefault(name, set()).add(uniqueid)
        if self._removed_callers.removed_after((name, uniqueid), since):
            return
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = Queue(name)
            changes.append(QueueAdded(queue))
        caller = queue.callers.get(uniqueid)
        if caller is None:
            caller = QueueCaller(uniqueid)
            _apply(caller, values[2:-1], _CALLER)
            wait = _number(values[-1])
            if now is not None and wait is not None:
                caller.wait_start = now - wait
            queue.callers[uniqueid] = caller
            changes.append(QueueCallerAdded(queue, caller))
            return
        moved = _apply(caller, values[2:-1], _CALLER)
        if moved:
            changes.append(QueueCallerChanged(queue, caller, moved))

    def _remove_unlisted(
        self,
        action: Action,
        since: int | None,
        listed_members: dict[str, set[str]],
        listed_callers: dict[str, set[str]],
        changes: list[Change],
    ) -> None:
        """Remove what a whole list lacks, within its filters, unless an event touched it after ``since``."""
        only_queue = (action.get("Queue") or "").lower()
        only_member = action.get("Member") or ""
        # Touched by an event after the snapshot was handed out: it stays. A list
        # the PBX did not hand out (since None) is the truth.
        last = _NEVER if since is None else since
        for name, queue in list(self.queues.items()):
            if only_queue and name.lower() != only_queue:
                continue
            members = listed_members.get(name)
            if members is None:
                # QueueStatus lists every queue: one it lacks is gone.
                if self._queue_seqs.get(name, 0) <= last:
                    self._remove_queue(queue, changes)
                continue
            for interface, member in list(queue.members.items()):
                if interface in members or (only_member and only_member not in (interface, member.name)):
                    continue
                key = (name, interface)
                if self._member_seqs.get(key, 0) <= last:
                    del queue.members[interface]
                    self._forget_member(key)
                    changes.append(QueueMemberRemoved(queue, member))
            callers = listed_callers.get(name, set())
            for uniqueid, caller in list(queue.callers.items()):
                key = (name, uniqueid)
                if uniqueid not in callers and self._caller_seqs.get(key, 0) <= last:
                    del queue.callers[uniqueid]
                    self._caller_seqs.pop(key, None)
                    changes.append(QueueCallerRemoved(queue, caller))

    def _remove_queue(self, queue: Queue, changes: list[Change]) -> None:
        name = queue.name
        del self.queues[name]
        self._queue_seqs.pop(name, None)
        for interface in queue.members:
            self._forget_member((name, interface))
        for uniqueid in queue.callers:
            self._caller_seqs.pop((name, uniqueid), None)
        changes.append(QueueRemoved(queue))

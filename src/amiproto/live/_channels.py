"""Channels, bridges and calls, from channel and bridge events and CoreShowChannels/BridgeList.

Every channel event of Asterisk 12 and later carries the channel's whole
snapshot (Channel, ChannelState, ... Linkedid). This tracker follows the events
that announce a change (Newchannel, Newstate, NewCallerid, NewConnectedLine,
NewAccountCode, Newexten, Rename, Hangup and the bridge events) and takes every
field of their snapshot that moved, so a field changed without an event of its
own (Language; a Linkedid that joining a bridge moved) is caught at the
channel's next such event. Following every other channel event too (VarSet,
DialBegin, ...) would cost about a quarter more for no gain on real traffic.
Two fields are not in the snapshot: ``application`` comes from Newexten and
OriginateResponse, ``bridge_id`` from BridgeEnter/BridgeLeave (a bridge merge
moves each channel with its own BridgeLeave and BridgeEnter).

A call is the set of channels that share a Linkedid. It starts with its first
channel and ends, leaving ``calls``, when its last channel hangs up. It is
*answered* as soon as one of its channels is Up (state 6): answered by a
person or by the dialplan (Answer, an IVR, voicemail) alike, as Asterisk
itself counts a channel answered. What a list reveals happened while the model
was not looking has no time: a call found answered keeps ``answered_at`` None,
a channel found by a list was created ``now`` minus its Duration, and a call
whose channels a list no longer shows ends ``now``.

Reconciling with a list (see ``_tracking``): a listed object that an event
touched after ``since`` keeps, for each group of fields (the snapshot, the
application, the bridge), the values that event gave, since the event may be
newer than the list. A hung-up channel or destroyed bridge is never added back:
uniqueids are not reused, so a list that shows one was built before its end.
The model remembers the latest ``_GONE_LIMIT`` of them for that, and forgets
the rest, so memory stays flat on an endless stream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _accel, actions
from .._actions import Action
from .._messages import ActionCompleted, Event
from .._typed import to_int
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
)
from ._fields import Assigner, AssignerFactory, header_list_reader, header_reader, python_field_assigner
from ._making import Makers
from ._objects import Bridge, Call, Channel
from ._tracking import EventHandler, ListHandler

__all__ = ["ChannelTracker"]

# The snapshot every channel event carries, in the order Asterisk writes it (so
# that one slice of the values reads it: see _fields), and the fields it fills.
_SNAPSHOT_HEADERS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
_SNAPSHOT_FIELDS = (
    "channel",
    "channel_state",
    "channel_state_desc",
    "caller_id_num",
    "caller_id_name",
    "connected_line_num",
    "connected_line_name",
    "language",
    "account_code",
    "context",
    "exten",
    "priority",
    "uniqueid",
    "linkedid",
)
_SNAPSHOT_SIZE = len(_SNAPSHOT_HEADERS)
_UNIQUEID = _SNAPSHOT_FIELDS.index("uniqueid")
Snapshot = Sequence["str | None"]
"""A channel's snapshot as an event carries it, one value (None: absent) per header
above (and maybe more after them): a list, or a view of the message's values."""

_BRIDGE_HEADERS = ("BridgeUniqueid", "BridgeType", "BridgeTechnology", "BridgeCreator", "BridgeName")
_BRIDGE_FIELDS = ("bridge_type", "technology", "creator", "name")

_read_snapshot = header_list_reader(_SNAPSHOT_HEADERS)
# Newexten's snapshot, then its own headers; Extension (a copy of Exten) keeps them side by side.
_read_newexten = header_list_reader((*_SNAPSHOT_HEADERS, "Extension", "Application", "AppData"))
_APPLICATION = _SNAPSHOT_SIZE + 1
_read_bridge = header_list_reader(_BRIDGE_HEADERS)
_read_listed_channel = header_reader(("Application", "ApplicationData", "BridgeId", "Duration"))
_read_originated = header_reader(("Uniqueid", "Response", "Application", "Data"))
_read_rename = header_reader(("Uniqueid", "Channel", "Newname"))

_UP = 6
"""AST_STATE_UP: the channel is answered."""

_GONE_LIMIT = 4096
"""How many hung-up channels (and destroyed bridges) the model remembers, so that
a late event or a list built before their end does not bring them back."""

_ORIGINATED_LIMIT = 1024
"""How many OriginateResponse applications wait for their channel at most."""

Fields = dict[str, tuple[Any, Any]]


@dataclass(slots=True, eq=False)
class _Track:
    """What the tracker keeps beside a channel: the snapshot it last took the
    fields from (so an event that changes nothing costs one comparison), and the
    ``seq`` of the last event that set each group of fields (0: none did)."""

    channel: Channel
    snapshot: Snapshot | None
    snapshot_seq: int
    app_seq: int
    bridge_seq: int

    def touched_after(self, since: int) -> bool:
        return self.snapshot_seq > since or self.app_seq > since or self.bridge_seq > since


class _Make(Makers):
    """The tracker's makers (see ``_making``): each takes every field, by position."""

    channel: Callable[..., Channel]
    track: Callable[[Channel, Snapshot, int, int, int], _Track]
    bridge: Callable[[str, None, None, None, None, set[str], float | None], Bridge]
    call: Callable[[str, set[str], float | None, bool, None, None], Call]
    channel_added: Callable[[Channel], ChannelAdded]
    channel_changed: Callable[[Channel, Fields], ChannelChanged]
    channel_removed: Callable[[Channel], ChannelRemoved]
    bridge_added: Callable[[Bridge], BridgeAdded]
    bridge_changed: Callable[[Bridge, Fields], BridgeChanged]
    bridge_removed: Callable[[Bridge], BridgeRemoved]
    call_added: Callable[[Call], CallAdded]
    call_changed: Callable[[Call, Fields], CallChanged]
    call_removed: Callable[[Call], CallRemoved]


_make = _Make(
    channel=Channel,
    track=_Track,
    bridge=Bridge,
    call=Call,
    channel_added=ChannelAdded,
    channel_changed=ChannelChanged,
    channel_removed=ChannelRemoved,
    bridge_added=BridgeAdded,
    bridge_changed=BridgeChanged,
    bridge_removed=BridgeRemoved,
    call_added=CallAdded,
    call_changed=CallChanged,
    call_removed=CallRemoved,
)


class ChannelTracker:
    def __init__(self, *, history: int = 0) -> None:
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.calls: dict[str, Call] = {}
        self.finished_calls: deque[Call] = deque(maxlen=history)
        self._tracks: dict[str, _Track] = {}
        self._bridge_seqs: dict[str, int] = {}
        # Ordered sets (dicts, oldest first) of what hung up or was destroyed.
        self._gone_channels: dict[str, None] = {}
        self._gone_bridges: dict[str, None] = {}
        # OriginateResponse applications whose channel is not Up in the model yet.
        self._originated: dict[str, tuple[str, str]] = {}

    # -- the Tracker interface --

    def event_handlers(self) -> Mapping[str, EventHandler]:
        snapshot = self._on_snapshot
        return {
            "Newchannel": self._on_newchannel,
            "Newstate": snapshot,
            "NewCallerid": snapshot,
            "NewConnectedLine": snapshot,
            "NewAccountCode": snapshot,
            "Newexten": self._on_newexten,
            # The catalogue's spelling of Newexten: the core makes one class of both,
            # which PBX then routes by class alone, without reading the name.
            "NewExten": self._on_newexten,
            "Rename": self._on_rename,
            "Hangup": self._on_hangup,
            "OriginateResponse": self._on_originate_response,
            "BridgeCreate": self._on_bridge_create,
            "BridgeEnter": self._on_bridge_enter,
            "BridgeLeave": self._on_bridge_leave,
            "BridgeDestroy": self._on_bridge_destroy,
        }

    def list_handlers(self) -> Mapping[str, ListHandler]:
        return {"bridgelist": self._reconcile_bridges, "coreshowchannels": self._reconcile_channels}

    def snapshot_actions(self) -> list[Action]:
        # Bridges first, so that the channels' BridgeId finds them.
        return [actions.BridgeList(), actions.CoreShowChannels()]

    # -- channel events --

    def _on_snapshot(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        snapshot = _read_snapshot(event)
        track = self._tracks.get(snapshot[_UNIQUEID])  # type: ignore[arg-type]  # None finds none
        if track is None:
            self._apply_snapshot(snapshot, now, seq, changes)  # adds the channel, or not
            return
        # _take_snapshot and _report written out: the way of most events.
        track.snapshot_seq = seq
        previous = track.snapshot
        if snapshot == previous:
            return
        track.snapshot = snapshot
        fields: Fields = {}
        _assign(track.channel, snapshot, previous, fields)
        if fields:
            changes.append(_make.channel_changed(track.channel, fields))
            if "linkedid" in fields or "channel_state" in fields:
                self._follow_call(track, fields, now, changes)

    def _apply_snapshot(self, snapshot: Snapshot, now: float | None, seq: int, changes: list[Change]) -> None:
        fields: Fields = {}
        track = self._take_snapshot(snapshot, now, seq, changes, fields)
        if fields:
            assert track is not None
            self._report(track, fields, now, changes)

    def _on_newchannel(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        snapshot = _read_snapshot(event)
        uniqueid = snapshot[_UNIQUEID]
        if not uniqueid or uniqueid in self._tracks:
            self._apply_snapshot(snapshot, now, seq, changes)
            return
        if uniqueid in self._gone_channels:
            return
        # A new channel runs no application and is in no bridge: both are known.
        track = self._add_channel(snapshot, changes, seq, now, now, "", "")
        track.app_seq = track.bridge_seq = seq

    def _on_newexten(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        # _take_snapshot, _assign_application and _report written out, as in
        # _on_snapshot: the commonest event (a call runs through its dialplan).
        values = _read_newexten(event)
        snapshot = values  # the snapshot, then values that no snapshot reader reads
        uniqueid = snapshot[_UNIQUEID]
        track = self._tracks.get(uniqueid) if uniqueid else None
        fields: Fields = {}
        if track is None:
            track = self._take_snapshot(snapshot, now, seq, changes, fields)
            if track is None:
                return
        else:
            track.snapshot_seq = seq
            previous = track.snapshot
            if snapshot != previous:
                track.snapshot = snapshot
                _assign(track.channel, snapshot, previous, fields)
        track.app_seq = seq
        channel = track.channel
        application = values[_APPLICATION]
        if application is not None and application != channel.application:
            fields["application"] = (channel.application, application)
            channel.application = application
        data = values[_APPLICATION + 1]
        if data is not None and data != channel.application_data:
            fields["application_data"] = (channel.application_data, data)
            channel.application_data = data
        if fields:
            changes.append(_make.channel_changed(channel, fields))
            if "linkedid" in fields or "channel_state" in fields:
                self._follow_call(track, fields, now, changes)

    def _on_originate_response(
        self, event: Event, now: float | None, seq: int, changes: list[Change]
    ) -> None:
        # An originated channel runs its application without a Newexten (no
        # context/extension/priority changes); only the OriginateResponse names it.
        # It is sent once the channel answered, and may overtake the channel's own
        # earlier events (even its Newchannel), so it waits for the channel to be Up.
        uniqueid, response, application, data = _read_originated(event)
        if not uniqueid or application is None or (response or "").lower() != "success":
            return
        track = self._tracks.get(uniqueid)
        if track is not None and track.channel.channel_state == _UP:
            self._run_originated(track, application, data or "", seq, changes)
        elif uniqueid not in self._gone_channels:
            if len(self._originated) >= _ORIGINATED_LIMIT:
                del self._originated[next(iter(self._originated))]
            self._originated[uniqueid] = (application, data or "")

    def _run_originated(
        self, track: _Track, application: str, data: str, seq: int, changes: list[Change]
    ) -> None:
        track.app_seq = seq
        fields: Fields = {}
        _assign_application(track.channel, application, data, fields)
        if fields:
            changes.append(_make.channel_changed(track.channel, fields))

    def _on_rename(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        uniqueid, old_name, new_name = _read_rename(event)
        if new_name is None:
            return
        track = self._tracks.get(uniqueid) if uniqueid is not None else self._track_named(old_name)
        if track is None:
            return  # its next event brings the whole snapshot, new name included
        track.snapshot_seq = seq
        track.snapshot = None
        channel = track.channel
        if channel.channel != new_name:
            changes.append(_make.channel_changed(channel, {"channel": (channel.channel, new_name)}))
            channel.channel = new_name

    def _track_named(self, name: str | None) -> _Track | None:
        for track in self._tracks.values():
            if track.channel.channel == name:
                return track
        return None

    def _on_hangup(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        # Only the uniqueid: the channel goes, whatever else its snapshot says.
        uniqueid = _read_snapshot(event)[_UNIQUEID]
        if not uniqueid:
            return
        _remember(self._gone_channels, uniqueid)
        self._originated.pop(uniqueid, None)
        track = self._tracks.get(uniqueid)
        if track is not None:
            self._remove_channel(track, now, changes, True)

    # -- bridge events --

    def _on_bridge_create(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        values = _read_bridge(event)
        bridge = self._take_bridge(values, now, seq, changes)
        if bridge is not None:
            fields = _assign_bridge(bridge, values)
            if fields:
                changes.append(_make.bridge_changed(bridge, fields))

    def _on_bridge_enter(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        self._on_bridge_move(event, now, seq, changes, True)

    def _on_bridge_leave(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        self._on_bridge_move(event, now, seq, changes, False)

    def _on_bridge_move(
        self, event: Event, now: float | None, seq: int, changes: list[Change], enter: bool
    ) -> None:
        values = _read_bridge(event)
        bridge = self._take_bridge(values, now, seq, changes)
        moved: dict[str, Fields] = {}
        if bridge is not None:
            bridge_fields = _assign_bridge(bridge, values)
            if bridge_fields:
                moved[bridge.bridge_id] = bridge_fields
        fields: Fields = {}
        track = self._take_snapshot(_read_snapshot(event), now, seq, changes, fields)
        if track is not None:
            track.bridge_seq = seq
            channel = track.channel
            if bridge is not None:
                if enter:
                    self._move_to_bridge(channel, bridge.bridge_id, fields, moved)
                elif channel.bridge_id == bridge.bridge_id:
                    self._move_to_bridge(channel, None, fields, moved)
            if fields:
                self._report(track, fields, now, changes)
        self._report_bridges(moved, changes)

    def _on_bridge_destroy(self, event: Event, now: float | None, seq: int, changes: list[Change]) -> None:
        bridge_id = _read_bridge(event)[0]
        if not bridge_id:
            return
        _remember(self._gone_bridges, bridge_id)
        bridge = self.bridges.get(bridge_id)
        if bridge is not None:
            self._remove_bridge(bridge, seq, changes)

    # -- the model's moves --

    def _take_snapshot(
        self,
        snapshot: Snapshot,
        now: float | None,
        seq: int,
        changes: list[Change],
        fields: Fields,
    ) -> _Track | None:
        """Apply a channel's snapshot: its track, with the fields that moved put in
        ``fields`` (reported by the caller, who may add more), or None when the
        channel cannot be followed. A channel not seen before is added and
        reported at once, with no fields."""
        uniqueid = snapshot[_UNIQUEID]
        if not uniqueid:
            return None
        track = self._tracks.get(uniqueid)
        if track is None:
            if uniqueid in self._gone_channels:
                return None
            return self._add_channel(snapshot, changes, seq, now, now)
        track.snapshot_seq = seq
        previous = track.snapshot
        if snapshot != previous:
            track.snapshot = snapshot
            _assign(track.channel, snapshot, previous, fields)
        return track

    def _add_channel(  # noqa: PLR0917 - by position: a call with keywords costs more in 3.11
        self,
        snapshot: Snapshot,
        changes: list[Change],
        seq: int,
        created: float | None,
        answered_at: float | None,
        application: str | None = None,
        data: str | None = None,
    ) -> _Track:
        channel = _new_channel(snapshot, created, application, data)
        uniqueid = channel.uniqueid
        track = _make.track(channel, snapshot, seq, 0, 0)
        self._tracks[uniqueid] = track
        self.channels[uniqueid] = channel
        changes.append(_make.channel_added(channel))
        self._join_call(channel, channel.linkedid, answered_at, changes)
        if channel.channel_state == _UP and self._originated:
            self._on_up(track, seq, changes)
        return track

    def _report(self, track: _Track, fields: Fields, now: float | None, changes: list[Change]) -> None:
        """Report a change of a channel, then what follows from it for its call."""
        changes.append(_make.channel_changed(track.channel, fields))
        if "linkedid" in fields or "channel_state" in fields:
            self._follow_call(track, fields, now, changes)

    def _follow_call(self, track: _Track, fields: Fields, now: float | None, changes: list[Change]) -> None:
        """What a channel's new Linkedid or state changes in its calls."""
        channel = track.channel
        moved = fields.get("linkedid")
        if moved is not None:
            self._leave_call(channel.uniqueid, moved[0], now, changes, False)
            self._join_call(channel, moved[1], now, changes)
        state = fields.get("channel_state")
        if state is not None and state[1] == _UP:
            self._answer(channel.linkedid, now, changes)
            if self._originated:
                self._on_up(track, track.snapshot_seq, changes)

    def _on_up(self, track: _Track, seq: int, changes: list[Change]) -> None:
        originated = self._originated.pop(track.channel.uniqueid, None)
        if originated is not None:
            self._run_originated(track, originated[0], originated[1], seq, changes)

    def _remove_channel(
        self, track: _Track, now: float | None, changes: list[Change], finished: bool
    ) -> None:
        channel = track.channel
        uniqueid = channel.uniqueid
        del self._tracks[uniqueid]
        del self.channels[uniqueid]
        changes.append(_make.channel_removed(channel))
        bridge = self.bridges.get(channel.bridge_id) if channel.bridge_id is not None else None
        if bridge is not None and uniqueid in bridge.channels:
            before = frozenset(bridge.channels)
            bridge.channels.discard(uniqueid)
            changes.append(_make.bridge_changed(bridge, {"channels": (before, frozenset(bridge.channels))}))
        self._leave_call(uniqueid, channel.linkedid, now, changes, finished)

    def _move_to_bridge(
        self, channel: Channel, bridge_id: str | None, fields: Fields, moved: dict[str, Fields]
    ) -> None:
        """Put a channel in ``bridge_id`` (None: in no bridge), noting its field in
        ``fields`` and each bridge whose channels changed in ``moved``: it leaves
        the bridge it was in, then joins the new one (the same one: both)."""
        uniqueid = channel.uniqueid
        old_id = channel.bridge_id
        if old_id != bridge_id:
            fields["bridge_id"] = (old_id, bridge_id)
            channel.bridge_id = bridge_id
        bridges = self.bridges
        if old_id is not None:
            bridge = bridges.get(old_id)
            if bridge is not None and uniqueid in bridge.channels:
                before = frozenset(bridge.channels)
                bridge.channels.discard(uniqueid)
                moved.setdefault(old_id, {})["channels"] = (before, frozenset(bridge.channels))
        if bridge_id is not None:
            bridge = bridges.get(bridge_id)
            if bridge is not None and uniqueid not in bridge.channels:
                before = frozenset(bridge.channels)
                bridge.channels.add(uniqueid)
                moved.setdefault(bridge_id, {})["channels"] = (before, frozenset(bridge.channels))

    def _report_bridges(self, moved: dict[str, Fields], changes: list[Change]) -> None:
        for bridge_id, fields in moved.items():
            bridge = self.bridges.get(bridge_id)
            if bridge is not None:
                changes.append(_make.bridge_changed(bridge, fields))

    def _take_bridge(
        self, values: Sequence[str | None], now: float | None, seq: int, changes: list[Change]
    ) -> Bridge | None:
        """The bridge an event names, added (with its fields) if the model lacks it;
        None when it cannot be followed. The caller assigns the fields of one found."""
        bridge_id = values[0]
        if not bridge_id or bridge_id in self._gone_bridges:
            return None
        self._bridge_seqs[bridge_id] = seq
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            bridge = self._add_bridge(bridge_id, now, changes)
            _assign_bridge(bridge, values)
        return bridge

    def _add_bridge(self, bridge_id: str, now: float | None, changes: list[Change]) -> Bridge:
        bridge = _make.bridge(bridge_id, None, None, None, None, set(), now)
        self.bridges[bridge_id] = bridge
        self._bridge_seqs.setdefault(bridge_id, 0)
        changes.append(_make.bridge_added(bridge))
        return bridge

    def _remove_bridge(self, bridge: Bridge, seq: int, changes: list[Change]) -> None:
        del self.bridges[bridge.bridge_id]
        self._bridge_seqs.pop(bridge.bridge_id, None)
        changes.append(_make.bridge_removed(bridge))
        for uniqueid in sorted(bridge.channels):
            track = self._tracks.get(uniqueid)
            if track is not None and track.channel.bridge_id == bridge.bridge_id:
                track.bridge_seq = max(track.bridge_seq, seq)
                track.channel.bridge_id = None
                changes.append(_make.channel_changed(track.channel, {"bridge_id": (bridge.bridge_id, None)}))

    # -- calls --

    def _join_call(
        self, channel: Channel, linkedid: str | None, answered_at: float | None, changes: list[Change]
    ) -> None:
        if linkedid is None:
            return
        call = self.calls.get(linkedid)
        if call is None:
            call = _make.call(linkedid, {channel.uniqueid}, channel.created, False, None, None)
            self.calls[linkedid] = call
            changes.append(_make.call_added(call))
        else:
            fields: Fields = {}
            before = frozenset(call.channels)
            call.channels.add(channel.uniqueid)
            fields["channels"] = (before, frozenset(call.channels))
            created = channel.created
            if created is not None and (call.started is None or created < call.started):
                fields["started"] = (call.started, created)
                call.started = created
            changes.append(_make.call_changed(call, fields))
        if channel.channel_state == _UP:
            self._answer(linkedid, answered_at, changes)

    def _leave_call(
        self, uniqueid: str, linkedid: str | None, now: float | None, changes: list[Change], finished: bool
    ) -> None:
        call = self.calls.get(linkedid) if linkedid is not None else None
        if call is None or uniqueid not in call.channels:
            return
        before = frozenset(call.channels)
        call.channels.discard(uniqueid)
        if call.channels:
            changes.append(_make.call_changed(call, {"channels": (before, frozenset(call.channels))}))
            return
        del self.calls[call.linkedid]
        if finished:
            call.ended = now
            self.finished_calls.append(call)
        changes.append(_make.call_removed(call))

    def _answer(self, linkedid: str | None, at: float | None, changes: list[Change]) -> None:
        call = self.calls.get(linkedid) if linkedid is not None else None
        if call is None or call.answered:
            return
        call.answered = True
        fields: Fields = {"answered": (False, True)}
        if at is not None:
            fields["answered_at"] = (None, at)
            call.answered_at = at
        changes.append(_make.call_changed(call, fields))

    # -- reconciling with the lists --

    def _reconcile_channels(
        self, completed: ActionCompleted, since: int | None, now: float | None, changes: list[Change]
    ) -> None:
        listed: set[str] = set()
        for item in completed.events:
            if item.name != "CoreShowChannel":
                continue
            snapshot = _read_snapshot(item)
            uniqueid = snapshot[_UNIQUEID]
            if not uniqueid:
                continue
            listed.add(uniqueid)
            if uniqueid in self._gone_channels:
                continue
            application, data, bridge_id, duration = _read_listed_channel(item)
            moved: dict[str, Fields] = {}
            track = self._tracks.get(uniqueid)
            if track is None:
                # Its creation is long past: count it from the list's Duration.
                created = None if now is None else now - (_seconds(duration) or 0)
                # answered_at None: found Up by a list, when it was answered is unknown.
                track = self._add_channel(snapshot, changes, 0, created, None, application, data)
                self._move_to_bridge(track.channel, self._listed_bridge(bridge_id, now, changes), {}, moved)
            else:
                fields: Fields = {}
                if since is None or track.snapshot_seq <= since:
                    track.snapshot = snapshot
                    _assign(track.channel, snapshot, None, fields)
                if since is None or track.app_seq <= since:
                    _assign_application(track.channel, application, data, fields)
                if since is None or track.bridge_seq <= since:
                    target = self._listed_bridge(bridge_id, now, changes)
                    self._move_to_bridge(track.channel, target, fields, moved)
                if fields:
                    self._report(track, fields, None, changes)  # None: when it happened is unknown
            self._report_bridges(moved, changes)
        if not _whole(completed):
            return
        for uniqueid, track in list(self._tracks.items()):
            if uniqueid in listed or (since is not None and track.touched_after(since)):
                continue
            # Gone while the model was not looking: not remembered as gone, since
            # with ``since`` None the list may be older than the events that follow.
            self._remove_channel(track, now, changes, True)

    def _listed_bridge(self, bridge_id: str | None, now: float | None, changes: list[Change]) -> str | None:
        """The bridge a list item names, added if the model lacks it; None for none."""
        if not bridge_id or bridge_id in self._gone_bridges:
            return None
        if bridge_id not in self.bridges:
            self._add_bridge(bridge_id, now, changes)
        return bridge_id

    def _reconcile_bridges(
        self, completed: ActionCompleted, since: int | None, now: float | None, changes: list[Change]
    ) -> None:
        listed: set[str] = set()
        for item in completed.events:
            if item.name != "BridgeListItem":
                continue
            values = _read_bridge(item)
            bridge_id = values[0]
            if not bridge_id:
                continue
            listed.add(bridge_id)
            if bridge_id in self._gone_bridges:
                continue
            bridge = self.bridges.get(bridge_id)
            if bridge is None:
                bridge = self._add_bridge(bridge_id, now, changes)
                _assign_bridge(bridge, values)
            elif since is None or self._bridge_seqs.get(bridge_id, 0) <= since:
                fields = _assign_bridge(bridge, values)
                if fields:
                    changes.append(_make.bridge_changed(bridge, fields))
        if not _whole(completed):
            return
        for bridge_id, bridge in list(self.bridges.items()):
            if bridge_id in listed or (since is not None and self._bridge_seqs.get(bridge_id, 0) > since):
                continue
            self._remove_bridge(bridge, 0, changes)


def _new_channel(
    snapshot: Snapshot, created: float | None, application: str | None, data: str | None
) -> Channel:
    (name, state, state_desc, cid_num, cid_name, line_num, line_name, language, account_code) = snapshot[:9]
    (context, exten, priority, uniqueid, linkedid) = snapshot[9:_SNAPSHOT_SIZE]
    assert uniqueid is not None
    return _make.channel(
        uniqueid,
        name or "",
        None if state is None else to_int(state),
        state_desc,
        cid_num,
        cid_name,
        line_num,
        line_name,
        context,
        exten,
        priority,
        linkedid,
        application,
        data,
        None,  # bridge_id
        account_code,
        language,
        created,
    )


# The uniqueid is left out: it is the track's key, so it never moves.
_ASSIGNED = tuple(None if name == "uniqueid" else name for name in _SNAPSHOT_FIELDS)
_CONVERTERS = tuple(to_int if name == "channel_state" else None for name in _SNAPSHOT_FIELDS)

# The C twin of python_field_assigner (see amiproto._accel); None: pure Python.
_C_FIELD_ASSIGNER: AssignerFactory | None = _accel.c_function(__name__, "_C_FIELD_ASSIGNER")

_assign: Assigner = (_C_FIELD_ASSIGNER or python_field_assigner)(_ASSIGNED, _CONVERTERS)
"""``_assign(channel, snapshot, previous, fields)``: set the channel's snapshot
fields from ``snapshot``, noting in ``fields`` those that moved. Only the values
that differ from ``previous`` (the snapshot the channel's fields last came from;
None: every value) are looked at, and an absent one (None) keeps what is known."""


_BRIDGE_ASSIGNED = (None, *_BRIDGE_FIELDS)  # the first is the bridge's key
_BRIDGE_CONVERTERS = (None,) * len(_BRIDGE_ASSIGNED)
_assign_bridge_fields: Assigner = (_C_FIELD_ASSIGNER or python_field_assigner)(
    _BRIDGE_ASSIGNED, _BRIDGE_CONVERTERS
)


def _speedups_switched() -> None:
    """Build the assigners again, in C or in Python as the switch chose (see amiproto._accel)."""
    global _assign, _assign_bridge_fields  # noqa: PLW0603 - rebuilt only by the switch
    assigner = _C_FIELD_ASSIGNER or python_field_assigner
    _assign = assigner(_ASSIGNED, _CONVERTERS)
    _assign_bridge_fields = assigner(_BRIDGE_ASSIGNED, _BRIDGE_CONVERTERS)


def _assign_application(channel: Channel, application: str | None, data: str | None, fields: Fields) -> None:
    if application is not None and application != channel.application:
        fields["application"] = (channel.application, application)
        channel.application = application
    if data is not None and data != channel.application_data:
        fields["application_data"] = (channel.application_data, data)
        channel.application_data = data


def _assign_bridge(bridge: Bridge, values: Sequence[str | None]) -> Fields:
    """Set a bridge's fields from the values of ``_BRIDGE_HEADERS``; what moved."""
    fields: Fields = {}
    _assign_bridge_fields(bridge, values, None, fields)
    return fields


def _whole(completed: ActionCompleted) -> bool:
    """True for a list that came whole: only then may what it lacks be removed.
    An error answer (no permission, say) lists nothing and is not whole either."""
    return completed.success and not completed.too_many_events


def _remember(gone: dict[str, None], key: str) -> None:
    """Add ``key`` to a bounded ordered set, forgetting the oldest past the limit."""
    gone[key] = None
    if len(gone) > _GONE_LIMIT:
        del gone[next(iter(gone))]


def _seconds(duration: str | None) -> int | None:
    """``HH:MM:SS`` (CoreShowChannel's Duration) in seconds; None if it is not that."""
    if not duration:
        return None
    total = 0
    for part in duration.split(":"):
        value = to_int(part.strip())
        if value is None:
            return None
        total = total * 60 + value
    return total

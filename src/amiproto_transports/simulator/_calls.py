"""Fake channels and the event sequences of calls through Local channels.

Each call is a pair of Local channels (``;1`` faces the originator, ``;2`` runs
the dialplan), driven by generators that yield how many seconds to wait before
their next step. ``Pbx.advance(now)`` resumes whatever is due, so the whole
thing runs on the time it is given and never reads a clock.

The dialplan is the one of ``shared/recordings/asterisk-config/extensions.conf``,
and the event shapes (names, header order, privileges) follow the recordings.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from urllib.parse import quote

from ._events import OutEvent, make_event

__all__ = [
    "BASIC_BRIDGE",
    "DIALPLAN",
    "MAX_CHANNELS",
    "MAX_VARIABLES",
    "PARKING_LOT",
    "QUEUE_MEMBER",
    "BridgeKind",
    "Conference",
    "STATE_DESC",
    "Call",
    "Channel",
    "Pbx",
    "bridge_headers",
    "channel_headers",
]

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

DIALPLAN: dict[str, dict[str, list[tuple[str, str]]]] = {
    "default": {
        "dial": [("Dial", "Local/echo@default,10"), ("Hangup", "")],
        "echo": [
            ("Answer", ""),
            ("Set", "FOO=bar baz: qux"),
            ("Set", "CALLERID(name)=\u0132sbrand M\u00fcller"),
            ("UserEvent", "TestEvent,Key1: value1,Key2: with: colons"),
            ("Wait", "2"),
            ("Hangup", ""),
        ],
        "queue": [("Answer", ""), ("Queue", "support,,,,5"), ("Hangup", "")],
        "wait": [("Answer", ""), ("Wait", "30"), ("Hangup", "")],
    }
}
"""context -> extension -> [(application, data)], priorities counted from 1."""

QUEUE_MEMBER = "Local/wait@default"

CALL = "call,all"
DIALPLAN_CLASS = "dialplan,all"

Script = Generator[float, None, None]


@dataclass(eq=False)
class Channel:
    """A live fake channel, as Status and CoreShowChannels report it."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created: float
    state: int = 0
    priority: int = 1
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"
    application: str = ""
    app_data: str = ""
    bridge_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    call: Call | None = None
    run: int = 0
    """Bumped whenever the channel is sent elsewhere; a script that sees it change stops."""
    mixmonitor: str | None = None
    """The file a MixMonitor on this channel records to."""
    async_agi: bool = False
    timeouts: int = 0
    """Bumped by each AbsoluteTimeout, so only the latest one hangs up."""
    timeout_script: Script | None = None
    """The pending AbsoluteTimeout, taken off the timers when replaced or hung up."""


def channel_headers(chan: Channel, prefix: str = "") -> list[tuple[str, str]]:
    """The standard channel snapshot headers, optionally prefixed (``Dest``, ``LocalOne`` ...)."""
    return [
        (prefix + "Channel", chan.name),
        (prefix + "ChannelState", str(chan.state)),
        (prefix + "ChannelStateDesc", STATE_DESC.get(chan.state, "Unknown")),
        (prefix + "CallerIDNum", chan.cid_num),
        (prefix + "CallerIDName", chan.cid_name),
        (prefix + "ConnectedLineNum", chan.conn_num),
        (prefix + "ConnectedLineName", chan.conn_name),
        (prefix + "Language", "en"),
        (prefix + "AccountCode", ""),
        (prefix + "Context", chan.context),
        (prefix + "Exten", chan.exten),
        (prefix + "Priority", str(chan.priority)),
        (prefix + "Uniqueid", chan.uniqueid),
        (prefix + "Linkedid", chan.linkedid),
    ]


@dataclass(frozen=True)
class BridgeKind:
    """What the ``Bridge*`` headers say about a bridge besides its id and size."""

    type: str
    technology: str
    creator: str
    name: str
    resume: bool
    """Members go back to the dialplan when they leave (a Bridge action's after-go-on)."""


BASIC_BRIDGE = BridgeKind("basic", "simple_bridge", "<unknown>", "<unknown>", resume=False)
PARKING_LOT = ("default", 701, 720, 45)
"""res_parking's default lot: name, first and last space, timeout in seconds."""
_LONGEST_DELAY = 365 * 86400.0  # seconds a script may wait, however long it asks

MAX_CHANNELS = 10_000
"""Channels the simulator holds at once, for all clients together; an Originate that
finds this many fails as one whose channel Asterisk cannot allocate (its ``maxcalls``): a
synchronous one answers "Originate failed", an asynchronous one reports an
OriginateResponse of Failure. A call's own children (a Dial, a queue's members) are made
whatever the count, so the total stays within this plus one call's fan-out."""

MAX_VARIABLES = 10_000
"""Variables Setvar may create among the globals, and in each channel; past it a new one is
refused with "Failed to set variable" (manager.c's answer when setting fails) and an
existing one can still change. AbsoluteTimeout needs no such number: as Asterisk's one
``whentohangup`` per channel, a channel holds one pending timeout, which a new one replaces
and the channel's hangup drops."""


def _wait_seconds(data: str) -> float:
    """Wait's argument in seconds; what is no number waits not at all (app_wait warns and
    goes on), and ``_step`` bounds the rest."""
    try:
        return float(data or 0)
    except ValueError:
        return 0.0


@dataclass(eq=False)
class Conference:
    """A ConfBridge conference: its bridge and who is in it."""

    name: str
    bridge_id: str
    members: list[Channel] = field(default_factory=list)
    joined: dict[str, float] = field(default_factory=dict)
    muted: set[str] = field(default_factory=set)
    locked: bool = False
    recording: bool = False
    video_source: str = ""
    announcer: str = ""
    """The announcer channel ConfBridge keeps in the bridge (``CBAnn/name-N;2``)."""


@dataclass(eq=False)
class Call:
    """A Local channel pair and what the originator asked it to do."""

    one: Channel
    two: Channel
    device: str
    dial_string: str
    parent: Call | None = None
    application: str | None = None
    data: str = ""
    exten_target: tuple[str, str, int] | None = None  # context, exten, priority for ;1
    action_id: str | None = None
    report: bool = False  # send an OriginateResponse event
    on_result: Callable[[bool], None] | None = None
    on_answer: Callable[[Call], None] | None = None
    children: list[Call] = field(default_factory=list)
    answered: bool = False
    ended: bool = False
    result_sent: bool = False
    queue: str = ""  # for a call to a queue member: the queue it rings for
    connected_at: float = 0.0  # when that member answered


class Pbx:
    """The simulator's telephony state: channels, bridges, globals, and timed call scripts."""

    def __init__(self, emit: Callable[[OutEvent], None], wall: Callable[[float], float]) -> None:
        self._emit = emit
        self._wall = wall
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, list[Channel]] = {}
        self.bridge_kinds: dict[str, BridgeKind] = {}
        """Bridges that are not a plain two-party call bridge; missing means ``BASIC_BRIDGE``."""
        self.suspended_technologies: set[str] = set()
        self.parked: dict[int, tuple[Channel, float]] = {}
        """Parking space -> the parked channel and when it was parked."""
        self.parking_bridge: str | None = None
        self.conferences: dict[str, Conference] = {}
        self._agi_commands = itertools.count(442728729)
        self._announcers = itertools.count(0x84)
        self.globals: dict[str, str] = {}
        self.processed_calls = 0
        """Asterisk's running total: one per channel that started running the dialplan."""
        self._timers: list[tuple[float, int, Script]] = []
        self._seq = itertools.count()
        self._unique = itertools.count(1)
        self._local = itertools.count(1)
        self.now = 0.0
        self.on_queue_call_done: Callable[[str, str], None] | None = None
        """Told (queue, member interface) when a call a queue member answered ends."""

    @property
    def active_calls(self) -> int:
        """Channels running the dialplan now: each live ``;2``, and a ``;1`` sent to an extension."""
        calls = {id(chan.call): chan.call for chan in self.channels.values() if chan.call is not None}
        return sum(1 + (call.exten_target is not None and call.answered) for call in calls.values())

    # -- scheduling ---------------------------------------------------------

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def advance(self, now: float) -> None:
        """Run every script step due at ``now``."""
        self.now = max(self.now, now)
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, script = heapq.heappop(timers)
            self._step(script)

    def schedule(self, script: Script) -> None:
        """Run ``script`` up to its first wait now, and on as time advances."""
        self._step(script)

    def _start(self, script: Script) -> None:
        self._step(script)

    def _step(self, script: Script) -> None:
        try:
            delay = next(script)
        except StopIteration:
            return
        # A delay from a client's words (Wait's "nan", "inf") must not become the
        # server's next deadline: the select it is given to would fail.
        if not delay > 0.0:  # negative, zero or nan
            delay = 0.0
        elif delay > _LONGEST_DELAY:  # inf, or as good as
            delay = _LONGEST_DELAY
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), script))

    # -- events ---------------------------------------------------------------

    def _ev(self, name: str, privilege: str | None, pairs: list[tuple[str, str]]) -> None:
        self._emit(make_event(name, privilege, pairs))

    def _newexten(self, chan: Channel, app: str, data: str) -> None:
        chan.application, chan.app_data = app, data
        pairs = [*channel_headers(chan), ("Extension", chan.exten), ("Application", app), ("AppData", data)]
        self._ev("Newexten", DIALPLAN_CLASS, pairs)

    def _varset(self, chan: Channel | None, name: str, value: str) -> None:
        head = [("Channel", "none"), ("Uniqueid", "none")] if chan is None else channel_headers(chan)
        self._ev("VarSet", DIALPLAN_CLASS, [*head, ("Variable", name), ("Value", value)])

    def _device_state(self, call: Call, state: str) -> None:
        for _ in range(2):
            self._ev("DeviceStateChange", CALL, [("Device", call.device), ("State", state)])

    # -- variables ------------------------------------------------------------

    def setvar(self, channel: str | None, name: str, value: str) -> bool | None:
        """Set a global (no channel) or channel variable; False when the channel is unknown,
        None when the variable would be one over ``MAX_VARIABLES``."""
        chan = None
        if channel:
            chan = self.find(channel)
            if chan is None:
                return False
        variables = self.globals if chan is None else chan.variables
        if name not in variables and len(variables) >= MAX_VARIABLES:
            return None
        variables[name] = value
        self._varset(chan, name, value)
        return True

    def getvar(self, channel: str | None, name: str) -> str | None:
        """The value ('' when unset), or None when the channel is unknown."""
        if channel:
            chan = self.find(channel)
            if chan is None:
                return None
            return chan.variables.get(name, "")
        return self.globals.get(name, "")

    # -- calls ----------------------------------------------------------------

    def find(self, name: str) -> Channel | None:
        """A channel by name or, as ``ast_channel_get_by_name`` also does, by uniqueid."""
        chan = self.channels.get(name)
        if chan is not None:
            return chan
        return next((chan for chan in self.channels.values() if chan.uniqueid == name), None)

    def _new_pair(
        self, target: str, parent: Call | None, ids: tuple[str | None, str | None] = (None, None)
    ) -> Call:
        exten, _, context = target.partition("@")
        context = context or "default"
        wall = self._wall(self.now)
        number = next(self._local)
        base = f"Local/{exten}@{context}-{number:08x}"
        first = ids[0] or f"{int(wall)}.{next(self._unique)}"
        second = ids[1] or f"{int(wall)}.{next(self._unique)}"
        linkedid = parent.one.linkedid if parent is not None else first
        one = Channel(base + ";1", first, linkedid, context, exten, self.now, state=0)
        two = Channel(base + ";2", second, linkedid, context, exten, self.now, state=4)
        call = Call(one, two, f"Local/{exten}@{context}", f"{exten}@{context}", parent=parent)
        one.call = two.call = call
        self.channels[one.name] = one
        self.channels[two.name] = two
        if DIALPLAN.get(context, {}).get(exten) is not None:
            self.processed_calls += 1  # ;2 starts running the dialplan
        return call

    def originate(
        self,
        channel: str,
        *,
        application: str | None = None,
        data: str = "",
        exten_target: tuple[str, str, int] | None = None,
        caller_id: tuple[str, str] | None = None,
        variables: list[tuple[str, str]] | None = None,
        action_id: str | None = None,
        report: bool = False,
        on_result: Callable[[bool], None] | None = None,
        ids: tuple[str | None, str | None] = (None, None),
    ) -> Call | None:
        """Start a call through ``Local/exten@context``; its events follow as time advances.

        ``ids`` are the uniqueids asked for the ``;1`` and ``;2`` channels (ChannelId, OtherChannelId).
        None when ``MAX_CHANNELS`` are up: the failure is reported as for a channel
        Asterisk could not allocate.
        """
        if len(self.channels) >= MAX_CHANNELS:
            self._refuse_originate(
                channel,
                application=application,
                data=data,
                exten_target=exten_target,
                action_id=action_id,
                report=report,
                on_result=on_result,
            )
            return None
        call = self._new_pair(channel.partition("/")[2], None, ids)
        call.application, call.data, call.exten_target = application, data, exten_target
        call.action_id, call.report, call.on_result = action_id, report, on_result
        self._start(self._call_script(call, caller_id, variables or []))
        return call

    def _call_script(
        self, call: Call, caller_id: tuple[str, str] | None, variables: list[tuple[str, str]]
    ) -> Script:
        one, two = call.one, call.two
        self._ev("Newchannel", CALL, channel_headers(one))
        self._ev("Newchannel", CALL, channel_headers(two))
        if call.parent is None:
            self._newexten(one, "AppDial2", "(Outgoing Line)")
        for name, value in variables:
            for chan in (one, two):
                chan.variables[name] = value
                self._varset(chan, name, value)
        if caller_id is not None:
            one.cid_name, one.cid_num = caller_id
            one.conn_name, one.conn_num = caller_id
            self._ev("NewCallerid", CALL, [*channel_headers(one), ("CID-CallingPres", _PRES)])
        steps = DIALPLAN.get(two.context, {}).get(two.exten)
        if steps is None:
            self.hangup_call(call)
            return
        pairs = channel_headers(one, "LocalOne") + channel_headers(two, "LocalTwo")
        pairs += [("Context", two.context), ("Exten", two.exten), ("LocalOptimization", "Yes")]
        self._ev("LocalBridge", CALL, pairs)
        if call.queue:
            self._agent_event("AgentCalled", call, [])
        self._ev("DialBegin", CALL, [*self._caller(call), *channel_headers(one, "Dest"), _dial(call)])
        yield 0.01
        yield from self._dialplan(call, two, steps)

    def _caller(self, call: Call) -> list[tuple[str, str]]:
        return channel_headers(call.parent.two) if call.parent is not None else []

    def _dialplan(self, call: Call, chan: Channel, steps: list[tuple[str, str]], first: int = 1) -> Script:
        token = chan.run
        for priority, (app, data) in enumerate(steps, first):
            if call.ended or chan.run != token:
                return
            chan.priority = priority
            self._newexten(chan, app, data)
            if app == "Answer":
                if chan is call.two:
                    self._answer(call)
            elif app == "Set":
                name, _, value = data.partition("=")
                if name == "CALLERID(name)":
                    chan.cid_name = value
                    self._ev("NewCallerid", CALL, [*channel_headers(chan), ("CID-CallingPres", _PRES)])
                else:
                    chan.variables[name] = value
                    self._varset(chan, name, value)
            elif app == "UserEvent":
                name, *fields = data.split(",")
                pairs = [("UserEvent", name), *channel_headers(chan)]
                for item in fields:
                    key, _, value = item.partition(":")
                    pairs.append((key.strip(), value.strip()))
                self._ev("UserEvent", "user,all", pairs)
            elif app == "Wait":
                yield float(data or 0)
            elif app in ("Dial", "Queue"):
                yield from self._dial(call, chan, app, data)
            elif app == "Hangup":
                break
        if chan.run == token:
            self.hangup_call(call)

    def _dial(self, call: Call, chan: Channel, app: str, data: str) -> Script:
        target = QUEUE_MEMBER if app == "Queue" else data.split(",", maxsplit=1)[0]
        queue = data.split(",", maxsplit=1)[0] if app == "Queue" else ""
        if queue:
            self._queue_event("QueueCallerJoin", chan, [("Position", "1"), ("Count", "1")])
        child = self._new_pair(target.partition("/")[2], call)
        child.queue = queue
        child.one.cid_num = call.two.exten
        child.one.application = "AppQueue" if app == "Queue" else "AppDial"
        child.one.app_data = "(Outgoing Line)"
        call.children.append(child)
        child.on_answer = self._bridge_child
        self._start(self._call_script(child, None, []))
        while not child.ended and not call.ended:
            yield 0.05

    def _queue_event(self, name: str, chan: Channel, extra: list[tuple[str, str]]) -> None:
        self._ev(name, "agent,all", [*channel_headers(chan), ("Queue", "support"), *extra])

    def _agent_event(self, name: str, child: Call, extra: list[tuple[str, str]]) -> None:
        """AgentCalled/AgentConnect/AgentComplete: the waiting caller, then the member's channel."""
        if child.parent is None:
            return
        pairs = [
            *channel_headers(child.parent.two),
            *channel_headers(child.one, "Dest"),
            ("Queue", child.queue),
        ]
        pairs += [("Interface", QUEUE_MEMBER), ("MemberName", QUEUE_MEMBER), *extra]
        self._ev(name, "agent,all", pairs)

    def _bridge_child(self, child: Call) -> None:
        parent = child.parent
        if parent is None or parent.ended:
            return
        if not parent.answered:
            self._answer(parent)
        bridge_id = str(uuid.uuid4())
        members: list[Channel] = []
        self.bridges[bridge_id] = members
        self._ev("BridgeCreate", CALL, bridge_headers(bridge_id, 0))
        for chan in (child.one, parent.two):
            members.append(chan)
            chan.bridge_id = bridge_id
            self._ev("BridgeEnter", CALL, [*bridge_headers(bridge_id, len(members)), *channel_headers(chan)])

    def _answer(self, call: Call) -> None:
        if call.answered or call.ended:
            return
        call.answered = True
        for chan in (call.two, call.one):
            chan.state = 6
            self._ev("Newstate", CALL, channel_headers(chan))
        pairs = [*self._caller(call), *channel_headers(call.one, "Dest"), ("DialStatus", "ANSWER")]
        self._ev("DialEnd", CALL, pairs)
        self._result(call, True)
        self._device_state(call, "INUSE")
        if call.queue and call.parent is not None:
            # The member answered: the caller leaves the queue for the member's bridge.
            self._queue_event("QueueCallerLeave", call.parent.two, [("Position", "1"), ("Count", "0")])
            call.connected_at = self.now
            self._agent_event("AgentConnect", call, [("HoldTime", "0"), ("RingTime", "0")])
        if call.on_answer is not None:
            call.on_answer(call)
        if call.parent is None:
            self._start(self._originator_script(call))

    def _originator_script(self, call: Call) -> Script:
        # What ;1 does once answered: run the application, or the dialplan it was sent to.
        one = call.one
        if call.exten_target is not None:
            context, exten, priority = call.exten_target
            steps = DIALPLAN.get(context, {}).get(exten, [])
            self.processed_calls += 1
            one.context, one.exten = context, exten
            yield from self._dialplan(call, one, steps[priority - 1 :], priority)
            return
        one.application, one.app_data = call.application or "", call.data
        application = (call.application or "").lower()
        token = one.run
        if application == "wait":
            yield _wait_seconds(call.data)
            if one.run == token:
                self.hangup_call(call)
        elif application == "confbridge":
            self.conference_join(one, call.data.split(",")[0])
        elif application == "agi" and call.data.startswith("agi:async"):
            self._async_agi_start(one)

    def _refuse_originate(
        self,
        channel: str,
        *,
        application: str | None,
        data: str,
        exten_target: tuple[str, str, int] | None,
        action_id: str | None,
        report: bool,
        on_result: Callable[[bool], None] | None,
    ) -> None:
        """An Originate whose channel could not be made, reported as Asterisk's originate
        thread does when its channel request fails: no channel, Reason 0."""
        if report:
            pairs = [] if action_id is None else [("ActionID", action_id)]
            pairs += [("Response", "Failure"), ("Channel", channel)]
            if exten_target is not None:
                pairs += [("Context", exten_target[0]), ("Exten", exten_target[1])]
            else:
                pairs += [("Application", application or ""), ("Data", data)]
            pairs += [
                ("Reason", "0"),
                ("Uniqueid", "<null>"),
                ("CallerIDNum", "<unknown>"),
                ("CallerIDName", "<unknown>"),
            ]
            self._ev("OriginateResponse", CALL, pairs)
        if on_result is not None:
            on_result(False)

    def _result(self, call: Call, success: bool) -> None:
        if call.result_sent or call.parent is not None:
            return
        call.result_sent = True
        if call.report:
            pairs = [] if call.action_id is None else [("ActionID", call.action_id)]
            pairs += [("Response", "Success" if success else "Failure"), ("Channel", call.one.name)]
            if call.exten_target is not None:
                pairs += [("Context", call.exten_target[0]), ("Exten", call.exten_target[1])]
            else:
                pairs += [("Application", call.application or ""), ("Data", call.data)]
            pairs += [
                ("Reason", "4" if success else "0"),
                ("Uniqueid", call.one.uniqueid),
                ("CallerIDNum", call.one.cid_num),
                ("CallerIDName", call.one.cid_name),
            ]
            self._ev("OriginateResponse", CALL, pairs)
        if call.on_result is not None:
            call.on_result(success)

    def hangup_call(self, call: Call, cause: int = 0) -> None:
        """Tear a call down (children first) with the recorded event sequence; idempotent."""
        if call.ended:
            return
        call.ended = True
        for child in call.children:
            self.hangup_call(child)
        if call.queue and call.answered and call.parent is not None:
            talk = str(int(self.now - call.connected_at))
            reason = "caller" if call.parent.ended else "agent"
            self._agent_event(
                "AgentComplete", call, [("HoldTime", "0"), ("TalkTime", talk), ("Reason", reason)]
            )
            if self.on_queue_call_done is not None:
                self.on_queue_call_done(call.queue, QUEUE_MEMBER)
        for chan in (call.one, call.two):
            if chan.bridge_id:
                self._leave_on_hangup(chan)
        one, two = call.one, call.two
        if call.answered:
            self._ev("HangupRequest", CALL, [*channel_headers(two), ("Cause", str(cause))])
            self._ev("Hangup", CALL, [*channel_headers(one), *_cause(cause)])
            self._ev("SoftHangupRequest", CALL, [*channel_headers(two), ("Cause", "16")])
            self._ev("Hangup", CALL, [*channel_headers(two), *_cause(cause)])
            self._device_state(call, "NOT_INUSE")
        else:
            self._ev("Hangup", CALL, [*channel_headers(two), *_cause(cause)])
            self._ev("Hangup", CALL, [*channel_headers(one), *_cause(cause)])
            known = two.exten in DIALPLAN.get(two.context, {})
            self._device_state(call, "NOT_INUSE" if known else "INVALID")
            self._result(call, False)
        self.channels.pop(one.name, None)
        self.channels.pop(two.name, None)
        self._cancel_timeout(one)
        self._cancel_timeout(two)

    def _destroy_bridge(self, bridge_id: str) -> None:
        members = self.bridges.pop(bridge_id, None)
        if members is None:
            return
        while members:
            chan = members.pop()
            chan.bridge_id = ""
            pairs = [*bridge_headers(bridge_id, len(members)), *channel_headers(chan)]
            self._ev("BridgeLeave", CALL, pairs)
        self._ev("BridgeDestroy", CALL, bridge_headers(bridge_id, 0))

    def hangup(self, name: str, cause: int = 0) -> bool:
        """Hang up the call a channel (named, or by uniqueid) belongs to; False when no such channel."""
        chan = self.find(name)
        if chan is None or chan.call is None:
            return False
        root = chan.call
        self.hangup_call(root, cause)
        return True

    # -- redirects, bridges, transfers ---------------------------------------

    def goto(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        """Send a channel to a dialplan location (Redirect): what it ran stops, the new steps run now."""
        call = chan.call
        if call is None or call.ended:
            return
        if chan.bridge_id:
            self._leave_on_hangup(chan)
        chan.run += 1
        chan.context, chan.exten, chan.priority = context, exten, priority
        steps = DIALPLAN.get(context, {}).get(exten)
        if steps is None:
            self.hangup_call(call)
            return
        self._start(self._dialplan(call, chan, steps[priority - 1 :], priority))

    def bridge_channels(self, first: Channel, second: Channel) -> str:
        """Put two channels in a new basic bridge (the Bridge action); returns its id."""
        for chan in (first, second):
            if chan.bridge_id:
                self._leave_on_hangup(chan)
            chan.run += 1  # a bridged channel stops running its application
            chan.application = chan.app_data = "(null)"  # what Status shows for it, as recorded
        bridge_id = str(uuid.uuid4())
        kind = BridgeKind("basic", "simple_bridge", "<unknown>", "<unknown>", resume=True)
        members: list[Channel] = []
        self.bridges[bridge_id] = members
        self.bridge_kinds[bridge_id] = kind
        self._ev("BridgeCreate", CALL, bridge_headers(bridge_id, 0, kind))
        for chan in (first, second):
            members.append(chan)
            chan.bridge_id = bridge_id
            self._ev(
                "BridgeEnter", CALL, [*bridge_headers(bridge_id, len(members), kind), *channel_headers(chan)]
            )
        for chan, peer in ((first, second), (second, first)):
            self._set(chan, "BRIDGEPEER", peer.name)
        return bridge_id

    def bridge_headers_of(self, bridge_id: str) -> list[tuple[str, str]]:
        kind = self.bridge_kinds.get(bridge_id, BASIC_BRIDGE)
        return bridge_headers(bridge_id, len(self.bridges.get(bridge_id, ())), kind)

    def dissolve(self, bridge_id: str, first: Channel | None = None) -> None:
        """End a bridge: all leave (``first`` first) and go back to the dialplan if the kind says so."""
        members = self.bridges.get(bridge_id)
        if members is None:
            return
        if first is not None and first in members:
            members.remove(first)
            members.insert(0, first)
        kind = self.bridge_kinds.get(bridge_id, BASIC_BRIDGE)
        leaving = list(members)
        for chan in leaving:
            self._set(chan, "BRIDGEPEER", "")
        # Destroyed, each member leaves and carries on at once; kicked, the bridge ends first.
        at_once = kind.resume and first is None
        while members:
            chan = members.pop(0)
            chan.bridge_id = ""
            self._ev(
                "BridgeLeave", CALL, [*bridge_headers(bridge_id, len(members), kind), *channel_headers(chan)]
            )
            if at_once and members:
                leaving.remove(chan)
                self._resume(chan)
        del self.bridges[bridge_id]
        self.bridge_kinds.pop(bridge_id, None)
        self._ev("BridgeDestroy", CALL, bridge_headers(bridge_id, 0, kind))
        if kind.resume:
            for chan in leaving:
                self._resume(chan)
        else:
            # A Dial's bridge: Dial returns, so the callee's leg ends and the caller carries on.
            for chan in leaving:
                if chan.call is not None and chan.call.parent is not None:
                    self.hangup_call(chan.call, 16)

    def _resume(self, chan: Channel) -> None:
        """After a bridge, carry on in the dialplan where the channel was (Asterisk's after-go-on)."""
        self.goto(chan, chan.context, chan.exten, chan.priority)

    def blind_transfer(self, transferer: Channel, context: str, exten: str) -> None:
        """Send the transferer's peer to ``exten@context``; the transferer goes back to its dialplan."""
        bridge_id = transferer.bridge_id
        kind = self.bridge_kinds.get(bridge_id, BASIC_BRIDGE)
        peers = [chan for chan in self.bridges[bridge_id] if chan is not transferer]
        self._ev("Unhold", CALL, channel_headers(transferer))
        for peer in peers:
            self._set(transferer, "BLINDTRANSFER", peer.name)
            self._set(peer, "BLINDTRANSFER", transferer.name)
        count = len(self.bridges[bridge_id])
        pairs = [("Result", "Success"), *channel_headers(transferer, "Transferer")]
        if peers:
            pairs += channel_headers(peers[0], "Transferee")
        pairs += [*bridge_headers(bridge_id, count, kind), ("IsExternal", "Yes"), ("Context", context)]
        pairs += [("Extension", exten)]
        for chan in [transferer, *peers]:
            self._set(chan, "BRIDGEPEER", "")
        members = self.bridges.pop(bridge_id)
        self.bridge_kinds.pop(bridge_id, None)
        self._ev("BlindTransfer", CALL, pairs)
        for left in range(len(members) - 1, -1, -1):
            chan = members.pop(0)
            chan.bridge_id = ""
            self._ev("BridgeLeave", CALL, [*bridge_headers(bridge_id, left, kind), *channel_headers(chan)])
        self._ev("BridgeDestroy", CALL, bridge_headers(bridge_id, 0, kind))
        for peer in peers:
            self.goto(peer, context, exten, 1)
        self._resume(transferer)

    def _set(self, chan: Channel, name: str, value: str) -> None:
        chan.variables[name] = value
        self._varset(chan, name, value)

    def _leave_on_hangup(self, chan: Channel) -> None:
        bridge_id = chan.bridge_id
        kind = self.bridge_kinds.get(bridge_id)
        if kind is None:
            self._destroy_bridge(bridge_id)
        elif kind.type == "parking":
            self.unpark(chan)
        elif kind.creator == "ConfBridge":
            self.conference_leave(chan)
        else:
            self.dissolve(bridge_id, chan)

    # -- channel features: timeouts, DTMF, flash, MixMonitor, async AGI --------

    def set_timeout(self, chan: Channel, seconds: int) -> None:
        """Hang the channel's call up ``seconds`` from now (AbsoluteTimeout); 0 cancels."""
        chan.timeouts += 1
        self._cancel_timeout(chan)
        if seconds > 0:
            chan.timeout_script = self._timeout_script(chan, seconds, chan.timeouts)
            self._start(chan.timeout_script)

    def _cancel_timeout(self, chan: Channel) -> None:
        """Take the channel's pending AbsoluteTimeout off the timers: one per channel, as
        Asterisk keeps, or a client repeating the action grew the timers for a year."""
        script, chan.timeout_script = chan.timeout_script, None
        if script is None:
            return
        timers = self._timers
        for index, (_, _, waiting) in enumerate(timers):
            if waiting is script:
                timers[index] = timers[-1]
                timers.pop()
                heapq.heapify(timers)
                break
        script.close()

    def _timeout_script(self, chan: Channel, seconds: int, token: int) -> Script:
        # A client's number of any size: float() of a 400-digit one raised OverflowError.
        yield float(min(seconds, _LONGEST_DELAY))
        if chan.timeouts == token:
            chan.timeout_script = None  # running: the hangup below must not close it
        if chan.timeouts == token and chan.call is not None and self.channels.get(chan.name) is chan:
            self._ev("SoftHangupRequest", CALL, [*channel_headers(chan), ("Cause", "16")])
            self.hangup_call(chan.call, 16)

    def peer_of(self, chan: Channel) -> Channel:
        """The other half of a Local pair: what a frame queued on ``chan`` reaches."""
        call = chan.call
        if call is None:
            return chan
        return call.two if chan is call.one else call.one

    def channel_event(self, name: str, privilege: str, chan: Channel, extra: list[tuple[str, str]]) -> None:
        self._ev(name, privilege, [*channel_headers(chan), *extra])

    def mixmonitor_start(self, chan: Channel, path: str) -> None:
        chan.mixmonitor = path
        self._set(chan, "MIXMONITOR_FILENAME", path)
        self._ev("MixMonitorStart", CALL, channel_headers(chan))

    def mixmonitor_stop(self, chan: Channel) -> bool:
        if chan.mixmonitor is None:
            return False
        chan.mixmonitor = None
        self._ev("MixMonitorStop", CALL, channel_headers(chan))
        return True

    def _async_agi_start(self, chan: Channel) -> None:
        chan.async_agi = True
        env = (
            f"agi_request: async\nagi_channel: {chan.name}\nagi_language: en\nagi_type: Local\n"
            f"agi_uniqueid: {chan.uniqueid}\nagi_context: {chan.context}\nagi_extension: {chan.exten}\n"
            f"agi_priority: {chan.priority}\n\n"
        )
        self._ev("AsyncAGIStart", "agi,all", [*channel_headers(chan), ("Env", quote(env, safe=""))])

    def agi_command(self, chan: Channel, command: str, command_id: str) -> None:
        """Run one async AGI command with the events res_agi sends; every command succeeds."""
        internal = str(next(self._agi_commands))
        head = [*channel_headers(chan), ("CommandId", internal), ("Command", command)]
        self._ev("AGIExecStart", "agi,all", head)
        self._ev("AGIExecEnd", "agi,all", [*head, ("ResultCode", "200"), ("Result", "Success")])
        result = [
            ("Result", quote("200 result=1\n", safe="")),
            *([("CommandId", command_id)] if command_id else []),
        ]
        self._ev("AsyncAGIExec", "agi,all", [*channel_headers(chan), *result])

    # -- parking --------------------------------------------------------------

    def parking_lot_bridge(self) -> str:
        """The default lot's holding bridge: made (BridgeCreate) on the first Park, then kept,
        as res_parking keeps it for the lot's life."""
        if self.parking_bridge is None:
            self.parking_bridge = str(uuid.uuid4())
            self.bridges[self.parking_bridge] = []
            self.bridge_kinds[self.parking_bridge] = BridgeKind(
                "parking", "holding_bridge", "Parking", PARKING_LOT[0], resume=False
            )
            self._ev("BridgeCreate", CALL, self.bridge_headers_of(self.parking_bridge))
        return self.parking_bridge

    def park(self, chan: Channel) -> int | None:
        """Park a channel in the default lot; the space, or None when the lot is full."""
        lot, first, last, _ = PARKING_LOT
        space = next((number for number in range(first, last + 1) if number not in self.parked), None)
        if space is None:
            return None
        if chan.bridge_id:
            self._leave_on_hangup(chan)
        chan.run += 1
        bridge = self.parking_lot_bridge()
        self.parked[space] = (chan, self.now)
        self._ev("ParkedCall", CALL, self.parked_headers(space))
        self._ev("DeviceStateChange", CALL, [("Device", f"park:{space}@{lot}"), ("State", "INUSE")])
        self.bridges[bridge].append(chan)
        chan.bridge_id = bridge
        self._ev("BridgeEnter", CALL, [*self.bridge_headers_of(bridge), *channel_headers(chan)])
        return space

    def parked_headers(self, space: int) -> list[tuple[str, str]]:
        chan, since = self.parked[space]
        lot, _, _, timeout = PARKING_LOT
        waited = int(self.now - since)
        device = chan.call.device if chan.call is not None else chan.name
        return [
            *channel_headers(chan, "Parkee"),
            ("ParkerDialString", device),
            ("Parkinglot", lot),
            ("ParkingSpace", str(space)),
            ("ParkingTimeout", str(max(timeout - waited, 0))),
            ("ParkingDuration", str(waited)),
        ]

    def unpark(self, chan: Channel) -> None:
        """A parked channel goes away (hung up): it leaves the lot's bridge, which stays."""
        lot = PARKING_LOT[0]
        for space, (parked, _) in list(self.parked.items()):
            if parked is chan:
                self._ev("ParkedCallGiveUp", CALL, self.parked_headers(space))
                del self.parked[space]
                self._ev(
                    "DeviceStateChange", CALL, [("Device", f"park:{space}@{lot}"), ("State", "NOT_INUSE")]
                )
        members = self.bridges.get(chan.bridge_id, [])
        if chan in members:
            members.remove(chan)
            self._ev("BridgeLeave", CALL, [*self.bridge_headers_of(chan.bridge_id), *channel_headers(chan)])
        chan.bridge_id = ""

    # -- ConfBridge -----------------------------------------------------------

    def conference_headers(self, conference: Conference, *, source: bool = True) -> list[tuple[str, str]]:
        kind = self.bridge_kinds[conference.bridge_id]
        # The announcer channel ConfBridge keeps in the bridge counts as a member.
        count = len(conference.members) + 1 + conference.recording
        video = ("single", conference.video_source if source else "") if conference.video_source else None
        return [("Conference", conference.name), *bridge_headers(conference.bridge_id, count, kind, video)]

    def conference_join(self, chan: Channel, name: str) -> None:
        conference = self.conferences.get(name)
        if conference is None:
            bridge_id = str(uuid.uuid4())
            kind = BridgeKind("base", "softmix", "ConfBridge", name, resume=False)
            self.bridges[bridge_id] = []
            self.bridge_kinds[bridge_id] = kind
            announcer = f"CBAnn/{name}-{next(self._announcers):08x};2"
            conference = self.conferences[name] = Conference(name, bridge_id, announcer=announcer)
            self._ev("BridgeCreate", CALL, bridge_headers(bridge_id, 0, kind))
            self._ev("ConfbridgeStart", CALL, self.conference_headers(conference))
            self._ev("DeviceStateChange", CALL, [("Device", f"confbridge:{name}"), ("State", "INUSE")])
        conference.members.append(chan)
        conference.joined[chan.name] = self.now
        self.bridges[conference.bridge_id].append(chan)
        chan.bridge_id = conference.bridge_id
        headers = self.conference_headers(conference)
        self._ev("BridgeEnter", CALL, [*headers[1:], *channel_headers(chan)])
        self._set(chan, "BRIDGEPEER", self._announcer(conference))
        self._ev("ConfbridgeJoin", CALL, [*headers, *channel_headers(chan), ("Admin", "No"), ("Muted", "No")])

    def _announcer(self, conference: Conference) -> str:
        peers = [conference.announcer]
        if conference.recording:
            peers.append(f"CBRec/{conference.name}-00000002")
        return ",".join(peers)

    def conference_leave(self, chan: Channel, *, kicked: bool = False) -> None:
        conference = next((conf for conf in self.conferences.values() if chan in conf.members), None)
        if conference is None:
            return
        if kicked:
            self._set(chan, "CONFBRIDGE_RESULT", "KICKED")
        self._set(chan, "BRIDGEPEER", "")
        self._ev(
            "ConfbridgeLeave",
            CALL,
            [*self.conference_headers(conference), *channel_headers(chan), ("Admin", "No")],
        )
        conference.members.remove(chan)
        conference.muted.discard(chan.name)
        conference.joined.pop(chan.name, None)
        members = self.bridges[conference.bridge_id]
        members.remove(chan)
        chan.bridge_id = ""
        kind = self.bridge_kinds[conference.bridge_id]
        video = ("single", conference.video_source) if conference.video_source else None
        if not conference.members:
            self._ev("ConfbridgeEnd", CALL, self.conference_headers(conference, source=False))
        self._ev(
            "BridgeLeave",
            CALL,
            [*bridge_headers(conference.bridge_id, 1, kind, video), *channel_headers(chan)],
        )
        if not conference.members:
            self._end_conference(conference)

    def _end_conference(self, conference: Conference) -> None:
        bridge_id = conference.bridge_id
        kind = self.bridge_kinds.pop(bridge_id)
        del self.bridges[bridge_id]
        del self.conferences[conference.name]
        self._ev(
            "DeviceStateChange", CALL, [("Device", f"confbridge:{conference.name}"), ("State", "NOT_INUSE")]
        )
        video = ("single", "") if conference.video_source else None
        if conference.video_source:
            pairs = [
                *bridge_headers(bridge_id, 0, kind, video),
                ("BridgePreviousVideoSource", conference.video_source),
            ]
            self._ev("BridgeVideoSourceUpdate", CALL, pairs)
        self._ev("BridgeDestroy", CALL, bridge_headers(bridge_id, 0, kind, video))

    def conference_video_source(self, conference: Conference, chan: Channel) -> None:
        previous, conference.video_source = conference.video_source, chan.uniqueid
        headers = self.conference_headers(conference)[1:]
        self._ev("BridgeVideoSourceUpdate", CALL, [*headers, ("BridgePreviousVideoSource", previous)])

    def conference_record(self, conference: Conference, start: bool) -> None:
        if start:
            conference.recording = True
            for chan in conference.members:
                self._set(chan, "BRIDGEPEER", self._announcer(conference))
            self._ev("ConfbridgeRecord", CALL, self.conference_headers(conference))
        else:
            self._ev("ConfbridgeStopRecord", CALL, self.conference_headers(conference))
            conference.recording = False
            for chan in conference.members:
                self._set(chan, "BRIDGEPEER", self._announcer(conference))

    def conference_event(self, name: str, conference: Conference, chan: Channel) -> None:
        self._ev(name, CALL, [*self.conference_headers(conference), *channel_headers(chan), ("Admin", "No")])

    def conference_kick(self, conference: Conference, chan: Channel) -> None:
        """Kick a member: it leaves the conference and, ConfBridge having returned, its call ends."""
        self.conference_leave(chan, kicked=True)
        chan.run += 1
        if chan.call is not None:
            self.hangup_call(chan.call, 16)

    # -- load mode ------------------------------------------------------------

    def start_load(self, calls_per_second: float) -> None:
        """Originate ``Local/echo@default`` calls at a steady rate, forever."""
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self._start(self._load_script(calls_per_second))

    def _load_script(self, rate: float) -> Script:
        start = self.now
        done = 0
        while True:
            # Catch up in one step when the runner woke late, so the rate holds.
            due = int((self.now - start) * rate) + 1
            for _ in range(min(due - done, 1000)):
                self.originate("Local/echo@default", application="Wait", data="1")
            done = max(done, due)
            yield max(1.0 / rate, 0.002)


_PRES = "0 (Presentation Allowed, Not Screened)"


def _dial(call: Call) -> tuple[str, str]:
    return ("DialString", call.dial_string if call.parent is None else f"Local/{call.dial_string}")


def _cause(cause: int) -> list[tuple[str, str]]:
    return [("Cause", str(cause)), ("Cause-txt", "Normal Clearing" if cause == 16 else "Unknown")]


def bridge_headers(
    bridge_id: str, count: int, kind: BridgeKind = BASIC_BRIDGE, video: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    """The bridge snapshot headers; ``video`` is (mode, source) once a video source was chosen."""
    pairs = [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", kind.type),
        ("BridgeTechnology", kind.technology),
        ("BridgeCreator", kind.creator),
        ("BridgeName", kind.name),
        ("BridgeNumChannels", str(count)),
    ]
    if video is None:
        return [*pairs, ("BridgeVideoSourceMode", "none")]
    mode, source = video
    return [*pairs, ("BridgeVideoSourceMode", mode), *([("BridgeVideoSource", source)] if source else [])]

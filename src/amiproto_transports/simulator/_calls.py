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

from ._events import OutEvent, make_event

__all__ = [
    "DIALPLAN",
    "QUEUE_MEMBER",
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
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._seq), script))

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

    def setvar(self, channel: str | None, name: str, value: str) -> bool:
        """Set a global (no channel) or channel variable; False when the channel is unknown."""
        if channel:
            chan = self.channels.get(channel)
            if chan is None:
                return False
            chan.variables[name] = value
            self._varset(chan, name, value)
        else:
            self.globals[name] = value
            self._varset(None, name, value)
        return True

    def getvar(self, channel: str | None, name: str) -> str | None:
        """The value ('' when unset), or None when the channel is unknown."""
        if channel:
            chan = self.channels.get(channel)
            if chan is None:
                return None
            return chan.variables.get(name, "")
        return self.globals.get(name, "")

    # -- calls ----------------------------------------------------------------

    def _new_pair(self, target: str, parent: Call | None) -> Call:
        exten, _, context = target.partition("@")
        context = context or "default"
        wall = self._wall(self.now)
        number = next(self._local)
        base = f"Local/{exten}@{context}-{number:08x}"
        first = f"{int(wall)}.{next(self._unique)}"
        second = f"{int(wall)}.{next(self._unique)}"
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
    ) -> Call:
        """Start a call through ``Local/exten@context``; its events follow as time advances."""
        call = self._new_pair(channel.partition("/")[2], None)
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

    def _dialplan(self, call: Call, chan: Channel, steps: list[tuple[str, str]]) -> Script:
        for priority, (app, data) in enumerate(steps, 1):
            if call.ended:
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
            yield from self._dialplan(call, one, steps[priority - 1 :])
            return
        one.application, one.app_data = call.application or "", call.data
        if (call.application or "").lower() == "wait":
            yield float(call.data or 0)
            self.hangup_call(call)

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
                self._destroy_bridge(chan.bridge_id)
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
        """Hang up the call a channel belongs to; False when no such channel."""
        chan = self.channels.get(name)
        if chan is None or chan.call is None:
            return False
        root = chan.call
        self.hangup_call(root, cause)
        return True

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


def bridge_headers(bridge_id: str, count: int) -> list[tuple[str, str]]:
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", "<unknown>"),
        ("BridgeName", "<unknown>"),
        ("BridgeNumChannels", str(count)),
        ("BridgeVideoSourceMode", "none"),
    ]

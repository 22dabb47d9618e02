"""Call, bridge, parking, transfer, MixMonitor, AGI and ConfBridge actions, as recorded in ``all_actions``.

The recorded actions are replayed, in order, through one sans-IO session, a few
milliseconds of simulated time apart. Each answer must have the recorded status and
message, and the events that follow it must be, by name and in order, those the real
server sent about the calls the action named (events of other calls, whose timing
differs, and device states are left out on both sides).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._session import Session
from amiproto_transports.simulator._world import World

from ..conftest import RECORDINGS, needs_shared

CHECKED = """
    Originate Redirect Atxfer BlindTransfer CancelAtxfer Bridge BridgeInfo BridgeKick BridgeDestroy BridgeList
    BridgeTechnologyList BridgeTechnologySuspend BridgeTechnologyUnsuspend Park ParkedCalls Parkinglots
    MixMonitor StopMixMonitor MixMonitorMute PlayDTMF PlayMF AbsoluteTimeout SendText SendFlash MuteAudio
    LocalOptimizeAway AGI AOCMessage ControlPlayback ConfbridgeList ConfbridgeListRooms ConfbridgeKick
    ConfbridgeLock ConfbridgeUnlock ConfbridgeMute ConfbridgeUnmute ConfbridgeSetSingleVideoSrc
    ConfbridgeStartRecord ConfbridgeStopRecord Getvar Setvar Status
"""
ACTIONS = {name.lower() for name in CHECKED.split()}
"""The actions this file checks (the others in the recording are replayed for their side effects)."""

EVENTS_UNCHECKED = {"originate", "status", "bridgelist"}
"""Originate's set-up, and lists whose items depend on which calls are still up, are checked elsewhere."""

CONCURRENT = {"blindtransfer"}
"""Actions after which the real server's channel threads interleave their events: compared as multisets."""


@dataclass
class Answer:
    action: str
    headers: dict[str, str]
    status: str = ""
    message: str | None = None
    events: list[dict[str, str]] = field(default_factory=list)
    response: dict[str, str] = field(default_factory=dict)


def parse(raw: bytes) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        pairs.setdefault(name.strip(), value.strip())
    return pairs


def recorded() -> list[tuple[bytes, list[dict[str, str]]]]:
    """Each action the client sent, with the messages that came back until the next one."""
    steps: list[tuple[bytes, list[dict[str, str]]]] = []
    pending = {"rx": b"", "tx": b""}
    with (RECORDINGS / "all_actions.jsonl").open() as lines:
        for line in lines:
            chunk = json.loads(line)
            side = chunk["dir"]
            pending[side] += bytes.fromhex(chunk["hex"])
            while b"\r\n\r\n" in pending[side]:
                message, _, pending[side] = pending[side].partition(b"\r\n\r\n")
                if side == "tx":
                    steps.append((message + b"\r\n\r\n", []))
                elif steps and message.strip():
                    steps[-1][1].append(parse(message))
    return steps


def answers(messages: list[dict[str, str]], action: str, sent: dict[str, str]) -> Answer:
    answer = Answer(action, sent)
    for pairs in messages:
        if "Response" in pairs and pairs.get("ActionID") == sent.get("ActionID") and not answer.status:
            answer.status, answer.message = pairs["Response"], pairs.get("Message")
            answer.response = pairs
        elif "Event" in pairs and answer.status:
            answer.events.append(pairs)
    return answer


def calls_named(sent: dict[str, str]) -> set[str]:
    """The calls an action is about: ``aa-c3`` for a channel named ``aa-c3.1``."""
    names = {sent.get(header, "") for header in ("Channel", "Channel1", "Channel2")}
    calls = {name.rpartition(".")[0] for name in names if name.startswith("aa-")}
    action = sent.get("Action", "").lower()
    if action.startswith("confbridge"):
        calls.add("aa-cb")
    if action in ("bridgeinfo", "bridgedestroy"):
        calls |= {"aa-c3", "aa-c4"}  # the recording's client bridged these two, then named the bridge
    return calls


def about(event: dict[str, str], calls: set[str]) -> bool:
    """Whether an event is one the action caused (list items, with an ActionID, are not)."""
    if event["Event"] == "DeviceStateChange" or "ActionID" in event:
        return False
    if event["Event"] == "Newexten" and event.get("Uniqueid", "").endswith(".2"):
        return False  # an originated call's own dialplan, on its timing
    ids = [value for key, value in event.items() if key.endswith("Uniqueid") and key != "BridgeUniqueid"]
    return not ids or any(uid.rpartition(".")[0] in calls for uid in ids)


def event_names(answer: Answer, fresh: str = "") -> list[str]:
    """Names of the events about the action's calls; ``fresh`` names the action if the server is ours.

    The recorded server had parked a call before, so its lot's bridge already existed:
    a fresh one creates it on the first Park.
    """
    calls = calls_named(answer.headers)
    names = [event["Event"] for event in answer.events if about(event, calls)]
    if fresh == "park" and names[:1] == ["BridgeCreate"]:
        names = names[1:]
    return names


def replay() -> list[tuple[Answer, Answer]]:
    """(recorded, ours) for every action of the recording after the login."""
    users = users_from_mapping({"admin": ("wordpass", "all", "all")})
    world = World(users, start=100.0, wall_offset=1.7e9)
    now = 100.0
    session = Session(world, now)
    session.receive_data(b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n", now)
    world.advance(now)
    session.data_to_send(now)
    pairs: list[tuple[Answer, Answer]] = []
    ours_for: dict[bytes, bytes] = {}  # the recorded server's names for what the client copied -> ours
    for raw, messages in recorded()[2:]:
        sent, raw_ours = parse(raw), raw
        action = sent.get("Action", "").lower()
        if action in ("logoff", "waitevent"):
            continue
        for recorded_name, our_name in ours_for.items():
            raw_ours = raw_ours.replace(recorded_name, our_name)
        session.receive_data(raw_ours, now)
        out = b""
        for _ in range(3):  # let the action's own timed steps run (an Originate answers after 10 ms)
            world.advance(now)
            out += session.data_to_send(now)
            now += 0.02
        ours = [parse(message) for message in out.split(b"\r\n\r\n") if message.strip()]
        real, mine = answers(messages, action, sent), answers(ours, action, sent)
        pairs.append((real, mine))
        if action == "status":
            # The client took a bridge id and a channel name from this reply for later actions.
            for header in ("BridgeID", "Channel"):
                theirs, ours_value = real.events[0].get(header), mine.events[0].get(header)
                if theirs and ours_value:
                    ours_for[theirs.encode()] = ours_value.encode()
    return pairs


def same_events(real: Answer, ours: Answer) -> bool:
    theirs, mine = event_names(real), event_names(ours, real.action)
    if real.action in CONCURRENT:
        return sorted(theirs) == sorted(mine)
    return theirs == mine


@pytest.fixture(scope="module")
def replayed() -> list[tuple[Answer, Answer]]:
    return replay()


def checked(replayed: list[tuple[Answer, Answer]]) -> list[tuple[Answer, Answer]]:
    return [(real, ours) for real, ours in replayed if real.action in ACTIONS]


@needs_shared(RECORDINGS)
def test_every_checked_action_gets_the_recorded_status_and_message(
    replayed: list[tuple[Answer, Answer]],
) -> None:
    wrong = [
        (real.headers.get("ActionID"), real.action, (real.status, real.message), (ours.status, ours.message))
        for real, ours in checked(replayed)
        if (real.status, real.message) != (ours.status, ours.message)
    ]
    for item in wrong:
        print(item)
    assert not wrong


@needs_shared(RECORDINGS)
def test_the_events_each_action_causes_are_the_recorded_ones(replayed: list[tuple[Answer, Answer]]) -> None:
    wrong = [
        (real.headers.get("ActionID"), real.action, event_names(real), event_names(ours))
        for real, ours in checked(replayed)
        if real.action not in EVENTS_UNCHECKED and not same_events(real, ours)
    ]
    for item in wrong:
        print(item)
    assert not wrong


def list_shape(answer: Answer) -> list[tuple[str, list[str]]]:
    """The response's header names, then each list event's name and header names."""
    items = [event for event in answer.events if event.get("ActionID") == answer.headers.get("ActionID")]
    return [("", list(answer.response)), *((event["Event"], list(event)) for event in items)]


@needs_shared(RECORDINGS)
def test_answers_and_lists_have_the_recorded_headers(replayed: list[tuple[Answer, Answer]]) -> None:
    wrong = [
        (real.headers.get("ActionID"), list_shape(real), list_shape(ours))
        for real, ours in checked(replayed)
        if real.action not in {"originate", "bridgelist"} and list_shape(real) != list_shape(ours)
    ]
    for item in wrong:
        print(item)
    assert not wrong

"""The world model behind the call actions: what Redirect, Bridge, Park, MixMonitor and ConfBridge change.

These paths go beyond the ``all_actions`` recording (test_calls_actions.py): later
lists, hang-ups and the errors for channels and bridges that do not exist.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from amiproto_transports.simulator import _calls
from amiproto_transports.simulator._calls import MAX_VARIABLES

from .test_session import Harness


def call(h: Harness, name: str, application: str = "Wait", data: str = "25") -> None:
    """Originate ``Local/wait@default`` whose ``;1`` has uniqueid ``name.1``, and let it answer."""
    reply = h.action(
        "Originate",
        Channel="Local/wait@default",
        Application=application,
        Data=data,
        Async="true",
        ChannelId=f"{name}.1",
        OtherChannelId=f"{name}.2",
    )
    assert reply.response.get("Response") == "Success"
    h.advance(0.1)


def answer(h: Harness, name: str, **headers: str) -> tuple[str, str | None]:
    response = h.action(name, None, **headers).response
    return response.get("Response"), response.message


def events_since(h: Harness, start: int, uniqueid: str | None = None) -> list[Any]:
    return [
        item
        for item in h.items[start:]
        if getattr(item, "name", None) and (uniqueid is None or item.get("Uniqueid") == uniqueid)
    ]


def test_redirect_runs_the_new_extension_and_its_hangup_ends_the_call() -> None:
    h = Harness()
    h.login()
    call(h, "r")
    start = len(h.items)
    assert answer(h, "Redirect", Channel="r.1", Context="default", Exten="echo", Priority="1") == (
        "Success",
        "Redirect successful",
    )
    steps = [e.get("Application") for e in events_since(h, start, "r.1") if e.name == "Newexten"]
    assert steps == ["Answer", "Set", "Set", "UserEvent", "Wait"]
    h.advance(2.5)  # echo waits 2 s, then hangs up, long before the 25 s Wait it replaced
    assert "Hangup" in [e.name for e in events_since(h, start, "r.1")]
    assert answer(h, "Status", Channel="r.1") == ("Error", "No such channel")


def test_redirect_and_bridge_errors_name_what_is_missing() -> None:
    h = Harness()
    h.login()
    call(h, "e")
    assert answer(h, "Redirect", Channel="nope", Context="default", Exten="echo", Priority="1") == (
        "Error",
        "Channel does not exist: nope",
    )
    assert answer(h, "Redirect", Channel="e.1", Context="default", Exten="echo", Priority="x") == (
        "Error",
        "Priority is invalid",
    )
    assert answer(h, "Bridge", Channel1="nope", Channel2="e.1") == ("Error", "Channel1 does not exists: nope")
    assert answer(h, "Bridge", Channel1="e.1", Channel2="nope") == ("Error", "Channel2 does not exists: nope")
    assert answer(h, "BridgeKick", Channel="nope") == ("Error", "Channel does not exist")
    assert answer(h, "BridgeKick", Channel="e.1") == ("Error", "Channel is not in a bridge")
    assert answer(h, "BridgeInfo", BridgeUniqueid="nope") == ("Error", "Specified BridgeUniqueid not found")
    assert answer(h, "BlindTransfer", Channel="e.1", Exten="echo") == ("Error", "Transfer invalid")
    assert answer(h, "StopMixMonitor", Channel="e.1") == ("Error", "Could not stop monitoring channel")
    assert answer(h, "MixMonitorMute", Channel="e.1", Direction="both", State="1") == (
        "Error",
        "Cannot set mute flag",
    )
    assert answer(h, "AGI", Channel="e.1", Command="NOOP") == ("Error", "Failed to add AGI command to queue")
    assert answer(h, "PlayDTMF", Channel="nope", Digit="1") == ("Error", "Channel not found")


def test_a_bridge_is_listed_until_a_kick_ends_it_and_both_channels_carry_on() -> None:
    h = Harness()
    h.login()
    call(h, "a")
    call(h, "b")
    assert answer(h, "Bridge", Channel1="a.1", Channel2="b.1") == ("Success", "Channels have been bridged")
    status = h.action("Status", Channel="a.1")
    bridge_id = status.events[0].get("BridgeID")
    assert bridge_id
    assert (status.events[0].get("Application"), status.events[0].get("Data")) == ("(null)", "(null)")
    info = h.action("BridgeInfo", BridgeUniqueid=bridge_id)
    assert [e.get("Uniqueid") for e in info.events[:-1]] == ["a.1", "b.1"]
    assert info.events[-1].get("BridgeNumChannels") == "2"
    start = len(h.items)
    assert answer(h, "BridgeKick", Channel="b.1") == ("Success", "Channel has been kicked")
    assert not h.action("BridgeList").events[:-1]
    for uniqueid in ("a.1", "b.1"):
        steps = [e.get("Application") for e in events_since(h, start, uniqueid) if e.name == "Newexten"]
        assert steps == ["Answer", "Wait"]  # back to default,wait,1 (the after-go-on of a Bridge action)


def test_hanging_up_a_bridged_channel_ends_the_bridge() -> None:
    h = Harness()
    h.login()
    call(h, "a")
    call(h, "b")
    h.action("Bridge", Channel1="a.1", Channel2="b.1")
    assert answer(h, "Hangup", Channel="a.1") == ("Success", "Channel Hungup")
    assert not h.action("BridgeList").events[:-1]
    assert h.action("Status", Channel="b.1").response.get("Response") == "Success"


def test_parked_calls_are_listed_until_they_hang_up() -> None:
    h = Harness()
    h.login()
    call(h, "p")
    call(h, "q")
    assert answer(h, "Park", Channel="p.1") == ("Success", "Park successful")
    assert answer(h, "Park", Channel="q.1") == ("Success", "Park successful")
    parked = h.action("ParkedCalls", ParkingLot="default").events[:-1]
    assert [(e.get("ParkeeUniqueid"), e.get("ParkingSpace")) for e in parked] == [
        ("p.1", "701"),
        ("q.1", "702"),
    ]
    assert answer(h, "ParkedCalls", ParkingLot="other") == (
        "Error",
        "Requested parking lot could not be found.",
    )
    h.action("Hangup", Channel="p.1")
    assert h.events("ParkedCallGiveUp")
    parked = h.action("ParkedCalls").events[:-1]
    assert [e.get("ParkeeUniqueid") for e in parked] == ["q.1"]
    assert answer(h, "Park", Channel="gone") == ("Error", "Channel does not exist: gone")


def test_mixmonitor_records_until_stopped() -> None:
    h = Harness()
    h.login()
    call(h, "m")
    assert answer(h, "MixMonitor", Channel="m.1", File="/tmp/x.wav") == ("Success", None)
    assert (
        h.action("Getvar", Channel="m.1", Variable="MIXMONITOR_FILENAME").response.get("Value")
        == "/tmp/x.wav"
    )
    assert answer(h, "MixMonitorMute", Channel="m.1", Direction="read", State="1") == ("Success", None)
    assert h.events("MixMonitorMute")[-1].get("Direction") == "read"
    assert answer(h, "StopMixMonitor", Channel="m.1") == ("Success", None)
    assert answer(h, "StopMixMonitor", Channel="m.1") == ("Error", "Could not stop monitoring channel")


def test_a_conference_lives_while_someone_is_in_it() -> None:
    h = Harness()
    h.login()
    assert answer(h, "ConfbridgeListRooms") == ("Error", "No active conferences.")
    call(h, "c", "ConfBridge", "room")
    call(h, "d", "ConfBridge", "room")
    rooms = h.action("ConfbridgeListRooms").events[:-1]
    assert [(e.get("Conference"), e.get("Parties")) for e in rooms] == [("room", "2")]
    assert answer(h, "ConfbridgeList", Conference="other") == ("Error", "No Conference by that name found.")
    assert answer(h, "ConfbridgeMute", Conference="room", Channel="nope") == (
        "Error",
        "No Channel by that name found in Conference.",
    )
    assert answer(h, "ConfbridgeStopRecord", Conference="room") == (
        "Error",
        "Internal error while stopping recording.",
    )
    assert answer(h, "ConfbridgeKick", Conference="room", Channel="all") == (
        "Success",
        "All participants kicked",
    )
    assert h.events("ConfbridgeEnd")
    assert answer(h, "ConfbridgeListRooms") == ("Error", "No active conferences.")
    assert answer(h, "Status", Channel="c.1") == ("Error", "No such channel")


def test_async_agi_runs_commands_on_a_channel_in_agi() -> None:
    h = Harness()
    h.login()
    call(h, "g", "AGI", "agi:async")
    assert h.events("AsyncAGIStart")
    assert answer(h, "AGI", Channel="g.1", Command="NOOP", CommandID="x") == (
        "Success",
        "Added AGI command to queue",
    )
    assert h.events("AsyncAGIExec")[-1].get("CommandId") == "x"


def test_a_suspended_bridge_technology_is_listed_so() -> None:
    h = Harness()
    h.login()
    assert answer(h, "BridgeTechnologySuspend", BridgeTechnology="softmix") == (
        "Success",
        "Suspended bridge technology",
    )
    listed = {
        e.get("BridgeTechnology"): e.get("BridgeSuspended") for e in h.action("BridgeTechnologyList").events
    }
    assert listed["softmix"] == "Yes"
    assert listed["native_rtp"] == "No"
    assert answer(h, "BridgeTechnologyUnsuspend", BridgeTechnology="nope") == (
        "Error",
        "Technology not found",
    )


def test_park_answers_byte_for_byte_as_res_parking_does() -> None:
    h = Harness()
    h.login()
    call(h, "p")
    sent = h.send_raw(b"Action: Park\r\nActionID: p-1\r\nChannel: p.1\r\n\r\n")
    assert sent.startswith(b"Response: Success\r\nActionID: p-1\r\nMessage: Park successful\n\r\n\r\n")


def test_absolute_timeout_hangs_up_when_it_expires_and_the_latest_one_wins() -> None:
    h = Harness()
    h.login()
    call(h, "t")
    assert answer(h, "AbsoluteTimeout", Channel="t.1", Timeout="1") == ("Success", "Timeout Set")
    assert answer(h, "AbsoluteTimeout", Channel="t.1", Timeout="3") == ("Success", "Timeout Set")
    h.advance(1.5)
    assert answer(h, "Status", Channel="t.1")[0] == "Success"
    h.advance(2.0)
    assert answer(h, "Status", Channel="t.1") == ("Error", "No such channel")
    assert answer(h, "AbsoluteTimeout", Channel="t.1", Timeout="1") == ("Error", "No such channel")


def test_kicking_a_dialled_call_out_of_its_bridge_ends_the_dial() -> None:
    h = Harness()
    h.login()
    h.action(
        "Originate",
        Channel="Local/dial@default",
        Application="Wait",
        Data="25",
        Async="true",
        ChannelId="k.1",
        OtherChannelId="k.2",
    )
    h.advance(0.3)
    bridges = h.action("BridgeList").events[:-1]
    assert len(bridges) == 1
    assert answer(h, "BridgeKick", Channel="k.2") == ("Success", "Channel has been kicked")
    h.advance(0.3)  # the caller's Dial returns and its dialplan hangs up
    assert not h.action("BridgeList").events[:-1]
    assert answer(h, "Status", Channel="k.1") == ("Error", "No such channel")


@pytest.mark.parametrize("data", ["nan", "inf", "-inf", "-5", "soon", "1e999"])
def test_a_wait_of_no_sensible_length_leaves_the_server_a_finite_deadline(data: str) -> None:
    """A client's Wait argument became the server's next deadline as it was: with "nan"
    the server thread's select raised and every connection was dropped."""
    h = Harness()
    h.login()
    call(h, "odd", data=data)
    deadline = h.world.next_deadline()
    assert deadline is None or math.isfinite(deadline)
    h.advance(0.5)
    assert h.action("Ping").response.get("Response") == "Success"


def test_an_absolute_timeout_of_any_size_is_answered() -> None:
    """float() of a 400-digit Timeout raised OverflowError, and the client's connection
    was dropped with no answer."""
    h = Harness()
    h.login()
    call(h, "big")
    assert answer(h, "AbsoluteTimeout", Channel="big.1", Timeout="9" * 400) == ("Success", "Timeout Set")
    deadline = h.world.next_deadline()
    assert deadline is not None and math.isfinite(deadline)
    h.advance(0.5)
    assert answer(h, "Status", Channel="big.1")[0] == "Success"


def test_a_channel_holds_one_pending_absolute_timeout() -> None:
    """Each AbsoluteTimeout added a timer that stayed for its whole delay (a year at most),
    replaced or not, and after the channel was gone: a client repeating it grew them for ever."""
    h = Harness()
    h.login()
    call(h, "many")
    pbx = h.world.pbx
    before = len(pbx._timers)
    for _ in range(200):
        assert answer(h, "AbsoluteTimeout", Channel="many.1", Timeout="86400") == ("Success", "Timeout Set")
    assert len(pbx._timers) == before + 1
    assert answer(h, "AbsoluteTimeout", Channel="many.1", Timeout="0") == ("Success", "Timeout Set")
    assert len(pbx._timers) == before
    assert answer(h, "AbsoluteTimeout", Channel="many.1", Timeout="86400") == ("Success", "Timeout Set")
    chan = pbx.find("many.1")
    assert chan is not None and chan.timeout_script is not None
    pending = chan.timeout_script
    assert answer(h, "Hangup", Channel="many.1")[0] == "Success"
    h.advance(0.5)
    assert all(script is not pending for *_, script in pbx._timers)


def test_an_absolute_timeout_that_fires_still_hangs_up_once() -> None:
    h = Harness()
    h.login()
    call(h, "once")
    assert answer(h, "AbsoluteTimeout", Channel="once.1", Timeout="1") == ("Success", "Timeout Set")
    start = len(h.items)
    h.advance(1.5)
    hangups = [item for item in events_since(h, start) if item.name == "Hangup"]
    assert len(hangups) == 2  # both halves of the Local pair
    assert answer(h, "Status", Channel="once.1") == ("Error", "No such channel")


def test_variables_are_bounded() -> None:
    """Setvar without a channel grew the globals without limit."""
    h = Harness()
    h.login()
    h.world.pbx.globals.update({f"V{n}": "x" for n in range(MAX_VARIABLES)})
    assert answer(h, "Setvar", Variable="ONE_MORE", Value="1") == ("Error", "Failed to set variable")
    assert "ONE_MORE" not in h.world.pbx.globals
    assert answer(h, "Setvar", Variable="V0", Value="changed") == ("Success", "Variable Set")
    assert h.world.pbx.globals["V0"] == "changed"
    call(h, "vars")
    chan = h.world.pbx.find("vars.1")
    assert chan is not None
    chan.variables.update({f"C{n}": "x" for n in range(MAX_VARIABLES - len(chan.variables))})
    assert answer(h, "Setvar", Channel=chan.name, Variable="ONE_MORE", Value="1") == (
        "Error",
        "Failed to set variable",
    )
    assert answer(h, "Setvar", Channel=chan.name, Variable="C0", Value="y") == ("Success", "Variable Set")


def test_originate_past_max_channels_fails_as_a_channel_asterisk_cannot_allocate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Originate made channels without limit: a client could grow the shared server for ever."""
    monkeypatch.setattr(_calls, "MAX_CHANNELS", 4)
    h = Harness()
    h.login()
    call(h, "first")
    call(h, "second")
    assert len(h.world.pbx.channels) == 4
    start = len(h.items)
    reply = h.action("Originate", Channel="Local/wait@default", Application="Wait", Data="1", Async="true")
    assert reply.response.get("Response") == "Success"  # queued, as Asterisk answers first
    results = [e for e in events_since(h, start) if e.name == "OriginateResponse"]
    assert [(e.get("Response"), e.get("Reason"), e.get("Channel")) for e in results] == [
        ("Failure", "0", "Local/wait@default")
    ]
    assert results[0].get("ActionID") == reply.action_id
    assert answer(h, "Originate", Channel="Local/wait@default", Application="Wait", Data="1") == (
        "Error",
        "Originate failed",
    )
    assert len(h.world.pbx.channels) == 4
    assert not [e for e in events_since(h, start) if e.name == "Newchannel"]
    assert answer(h, "Hangup", Channel="first.1")[0] == "Success"
    h.advance(0.1)
    call(h, "third")  # room again once a call has ended

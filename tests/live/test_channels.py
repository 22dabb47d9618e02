"""The live model's channels, bridges and calls (``amiproto.live._channels``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import actions
from amiproto.live import (
    PBX,
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
    _channels,
)
from amiproto_transports.benchmark import load

GREETING = b"Asterisk Call Manager/11.0.0\r\n"

# The attributes the issue asks the model to agree on with CoreShowChannel (all but Duration).
LISTED_FIELDS = (
    "channel",
    "channel_state",
    "channel_state_desc",
    "caller_id_num",
    "caller_id_name",
    "connected_line_num",
    "connected_line_name",
    "context",
    "exten",
    "priority",
    "uniqueid",
    "linkedid",
    "application",
    "application_data",
    "bridge_id",
    "account_code",
    "language",
)


# -- building events --------------------------------------------------------------


def parse(text: str) -> list[amiproto.Event]:
    """The events of hand-written AMI text (LF line ends, sent as CRLF), as the core builds them."""
    conn = amiproto.Connection()
    conn.receive_data(GREETING + text.replace("\n", "\r\n").encode())
    return [item for item in conn.next_events() if isinstance(item, amiproto.Event)]


def text_of(name: str, *parts: Mapping[str, str], **headers: str) -> str:
    lines = [f"Event: {name}"]
    for part in (*parts, headers):
        lines.extend(f"{header}: {value}" for header, value in part.items())
    return "\n".join(lines) + "\n\n"


def event(name: str, *parts: Mapping[str, str], **headers: str) -> amiproto.Event:
    (only,) = parse(text_of(name, *parts, **headers))
    return only


def snapshot(uniqueid: str, **fields: str) -> dict[str, str]:
    """A channel snapshot as every channel event carries it; ``fields`` override."""
    headers = {
        "Channel": f"PJSIP/alice-{uniqueid}",
        "ChannelState": "4",
        "ChannelStateDesc": "Ring",
        "CallerIDNum": "100",
        "CallerIDName": "Alice",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "en",
        "AccountCode": "",
        "Context": "default",
        "Exten": "200",
        "Priority": "1",
        "Uniqueid": uniqueid,
        "Linkedid": uniqueid,
    }
    headers.update(fields)
    return headers


def bridge_headers(bridge_id: str, **fields: str) -> dict[str, str]:
    headers = {
        "BridgeUniqueid": bridge_id,
        "BridgeType": "basic",
        "BridgeTechnology": "simple_bridge",
        "BridgeCreator": "<unknown>",
        "BridgeName": "<unknown>",
        "BridgeNumChannels": "0",
        "BridgeVideoSourceMode": "none",
    }
    headers.update(fields)
    return headers


def applied(pbx: PBX, item: object, now: float | None = None) -> list[Any]:
    """``pbx.apply``, its changes typed loosely for the tests to read."""
    return list(pbx.apply(item, now))


def kinds(changes: Sequence[Change]) -> list[type]:
    return [type(change) for change in changes]


def only(changes: Sequence[Change], kind: type[Any]) -> Any:
    (found,) = [change for change in changes if isinstance(change, kind)]
    return found


def new_pbx(*uniqueids: str, history: int = 0, **fields: str) -> PBX:
    """A model that has seen a Newchannel for each of ``uniqueids``."""
    pbx = PBX(history=history)
    for uniqueid in uniqueids:
        pbx.apply(event("Newchannel", snapshot(uniqueid, **fields)), 1.0)
    return pbx


# -- channel events ---------------------------------------------------------------


def test_newchannel_adds_the_channel_with_every_field_and_starts_its_call() -> None:
    pbx = PBX()
    changes = applied(pbx, event("Newchannel", snapshot("1.1", AccountCode="sales", Language="fr")), 10.0)
    assert kinds(changes) == [ChannelAdded, CallAdded]
    channel = pbx.channels["1.1"]
    assert only(changes, ChannelAdded).channel is channel
    assert [getattr(channel, name) for name in LISTED_FIELDS] == [
        "PJSIP/alice-1.1",
        4,
        "Ring",
        "100",
        "Alice",
        "<unknown>",
        "<unknown>",
        "default",
        "200",
        "1",
        "1.1",
        "1.1",
        "",  # a new channel runs no application yet
        "",
        None,  # and is in no bridge
        "sales",
        "fr",
    ]
    assert channel.created == 10.0
    call = pbx.calls["1.1"]
    assert only(changes, CallAdded).call is call
    assert (call.channels, call.started, call.answered, call.answered_at) == ({"1.1"}, 10.0, False, None)


@pytest.mark.parametrize(
    ("name", "headers", "expected"),
    [
        (
            "Newstate",
            {"ChannelState": "5", "ChannelStateDesc": "Ringing"},
            {"channel_state": (4, 5), "channel_state_desc": ("Ring", "Ringing")},
        ),
        (
            "NewCallerid",
            {"CallerIDNum": "555", "CallerIDName": "Bob", "CID-CallingPres": "0 (Presentation Allowed)"},
            {"caller_id_num": ("100", "555"), "caller_id_name": ("Alice", "Bob")},
        ),
        (
            "NewConnectedLine",
            {"ConnectedLineNum": "300", "ConnectedLineName": "Carol"},
            {"connected_line_num": ("<unknown>", "300"), "connected_line_name": ("<unknown>", "Carol")},
        ),
        ("NewAccountCode", {"AccountCode": "sales", "OldAccountCode": ""}, {"account_code": ("", "sales")}),
        (
            "Newexten",
            {"Context": "ivr", "Exten": "s", "Priority": "2"},
            {
                "context": ("default", "ivr"),
                "exten": ("200", "s"),
                "priority": ("1", "2"),
                "application": ("", "Playback"),
                "application_data": ("", "hello-world"),
            },
        ),
        # A change without an event of its own is read from the snapshot of the next one.
        ("Newstate", {"Language": "de"}, {"language": ("en", "de")}),
    ],
)
def test_each_event_changes_its_fields(name: str, headers: dict[str, str], expected: dict[str, Any]) -> None:
    pbx = new_pbx("1.1")
    extra = {"Extension": headers.get("Exten", ""), "Application": "Playback", "AppData": "hello-world"}
    changed = event(name, snapshot("1.1", **headers), **(extra if name == "Newexten" else {}))
    changes = applied(pbx, changed, 2.0)
    assert kinds(changes) == [ChannelChanged]
    assert changes[0].channel is pbx.channels["1.1"]
    assert dict(changes[0].fields) == expected
    for field, (_, new) in expected.items():
        assert getattr(pbx.channels["1.1"], field) == new
    assert pbx.apply(changed, 3.0) == [], "the same snapshot again changes nothing"


def test_rename_changes_the_channel_name_by_uniqueid_or_by_old_name() -> None:
    pbx = new_pbx("1.1", "1.2")
    changes = applied(
        pbx, event("Rename", Channel="PJSIP/alice-1.1", Newname="PJSIP/x<MASQ>", Uniqueid="1.1")
    )
    assert kinds(changes) == [ChannelChanged]
    assert dict(changes[0].fields) == {"channel": ("PJSIP/alice-1.1", "PJSIP/x<MASQ>")}
    assert pbx.channels["1.1"].channel == "PJSIP/x<MASQ>"
    changes = applied(pbx, event("Rename", Channel="PJSIP/alice-1.2", Newname="PJSIP/bob"))
    assert dict(only(changes, ChannelChanged).fields) == {"channel": ("PJSIP/alice-1.2", "PJSIP/bob")}
    # The next event carries the new name: nothing moves.
    assert pbx.apply(event("Newstate", snapshot("1.2", Channel="PJSIP/bob"))) == []


def test_hangup_removes_the_channel_and_the_last_one_ends_the_call() -> None:
    pbx = PBX(history=2)
    pbx.apply(event("Newchannel", snapshot("1.1")), 1.0)
    pbx.apply(event("Newchannel", snapshot("1.2", Linkedid="1.1")), 2.0)
    call = pbx.calls["1.1"]
    assert call.channels == {"1.1", "1.2"}
    changes = applied(pbx, event("Hangup", snapshot("1.2", Linkedid="1.1"), Cause="16"), 5.0)
    assert kinds(changes) == [ChannelRemoved, CallChanged]
    assert dict(changes[1].fields) == {"channels": (frozenset({"1.1", "1.2"}), frozenset({"1.1"}))}
    assert "1.2" not in pbx.channels
    changes = applied(pbx, event("Hangup", snapshot("1.1"), Cause="16"), 6.0)
    assert kinds(changes) == [ChannelRemoved, CallRemoved]
    assert changes[1].call is call
    assert pbx.calls == {} and pbx.channels == {}
    assert list(pbx.finished_calls) == [call]
    assert (call.ended, call.channels) == (6.0, set())


def test_finished_calls_keep_only_the_latest_history() -> None:
    for history, kept in ((0, []), (2, ["2", "3"])):
        pbx = PBX(history=history)
        for uniqueid in ("1", "2", "3"):
            pbx.apply(event("Newchannel", snapshot(uniqueid)), 1.0)
            pbx.apply(event("Hangup", snapshot(uniqueid)), 2.0)
        assert [call.linkedid for call in pbx.finished_calls] == kept


def test_a_channel_that_hung_up_is_not_brought_back_by_a_late_event() -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("Hangup", snapshot("1.1")))
    for late in ("Newstate", "Newchannel", "Newexten", "NewCallerid"):
        assert pbx.apply(event(late, snapshot("1.1"))) == []
    changes = applied(pbx, event("BridgeEnter", bridge_headers("b"), snapshot("1.1")))
    assert kinds(changes) == [BridgeAdded]
    assert pbx.channels == {} and pbx.bridges["b"].channels == set()


@pytest.mark.parametrize(
    "name", ["Newstate", "NewCallerid", "NewConnectedLine", "NewAccountCode", "Newexten", "BridgeLeave"]
)
def test_an_event_for_an_unknown_channel_adds_what_it_carries(name: str) -> None:
    # After a reconnect, the first event of a channel the model never saw.
    pbx = PBX()
    extra = {"Extension": "200", "Application": "Dial", "AppData": "PJSIP/bob"} if name == "Newexten" else {}
    changes = applied(pbx, event(name, bridge_headers("b1"), snapshot("9.9", ChannelState="6"), **extra), 4.0)
    assert ChannelAdded in kinds(changes) and CallAdded in kinds(changes)
    channel = pbx.channels["9.9"]
    assert (channel.channel_state, channel.created, channel.bridge_id) == (6, 4.0, None)
    # What the event does not say stays unknown (None), unlike a new channel's "".
    assert channel.application == ("Dial" if name == "Newexten" else None)
    call = pbx.calls["9.9"]
    assert (call.answered, call.answered_at) == (True, 4.0)


@pytest.mark.parametrize(
    "unknown",
    [
        text_of("Hangup", snapshot("9.9")),
        text_of("Rename", Channel="PJSIP/nobody", Newname="PJSIP/x", Uniqueid="9.9"),
        text_of("Rename", Channel="PJSIP/nobody", Newname="PJSIP/x"),
        text_of("BridgeDestroy", bridge_headers("b9")),
        text_of(
            "OriginateResponse", Response="Success", Channel="Local/x", Application="Wait", Uniqueid="9.9"
        ),
        # Headers missing altogether.
        "Event: Newstate\nChannelState: 6\n\n",
        "Event: BridgeEnter\nChannel: PJSIP/x\n\n",
        "Event: Hangup\n\n",
        "Event: Rename\nUniqueid: 9.9\n\n",
    ],
)
def test_events_about_nothing_known_change_nothing(unknown: str) -> None:
    pbx = new_pbx("1.1")
    (item,) = parse(unknown)
    assert pbx.apply(item, 1.0) == []
    assert list(pbx.channels) == ["1.1"] and pbx.bridges == {}


def test_an_event_without_some_snapshot_headers_keeps_what_is_known() -> None:
    pbx = new_pbx("1.1", Language="fr")
    changes = applied(pbx, event("Newstate", Uniqueid="1.1", ChannelState="6", ChannelStateDesc="Up"))
    assert dict(only(changes, ChannelChanged).fields) == {
        "channel_state": (4, 6),
        "channel_state_desc": ("Ring", "Up"),
    }
    assert pbx.channels["1.1"].language == "fr"


# -- bridges ----------------------------------------------------------------------


def test_a_bridge_from_creation_to_destruction() -> None:
    pbx = new_pbx("1.1", "1.2")
    changes = applied(pbx, event("BridgeCreate", bridge_headers("b1", BridgeCreator="ConfBridge")), 3.0)
    assert kinds(changes) == [BridgeAdded]
    bridge = pbx.bridges["b1"]
    assert (bridge.bridge_type, bridge.technology, bridge.creator, bridge.name, bridge.created) == (
        "basic",
        "simple_bridge",
        "ConfBridge",
        "<unknown>",
        3.0,
    )
    entered = event("BridgeEnter", bridge_headers("b1", BridgeCreator="ConfBridge"), snapshot("1.1"))
    changes = applied(pbx, entered)
    assert kinds(changes) == [ChannelChanged, BridgeChanged]
    assert dict(changes[0].fields) == {"bridge_id": (None, "b1")}
    assert dict(changes[1].fields) == {"channels": (frozenset(), frozenset({"1.1"}))}
    # A bridge field that moved is reported with the channels, in one change.
    moved = {"BridgeCreator": "ConfBridge", "BridgeTechnology": "native_rtp"}
    entered = event("BridgeEnter", bridge_headers("b1", **moved), snapshot("1.2"))
    changes = applied(pbx, entered)
    assert dict(only(changes, BridgeChanged).fields) == {
        "technology": ("simple_bridge", "native_rtp"),
        "channels": (frozenset({"1.1"}), frozenset({"1.1", "1.2"})),
    }
    assert bridge.channels == {"1.1", "1.2"}
    assert pbx.channels["1.2"].bridge_id == "b1"
    changes = applied(pbx, event("BridgeLeave", bridge_headers("b1", **moved), snapshot("1.1")))
    assert kinds(changes) == [ChannelChanged, BridgeChanged]
    assert dict(changes[0].fields) == {"bridge_id": ("b1", None)}
    assert dict(changes[1].fields) == {"channels": (frozenset({"1.1", "1.2"}), frozenset({"1.2"}))}
    # Destroyed with a channel still in it (its BridgeLeave lost): the channel is out.
    changes = applied(pbx, event("BridgeDestroy", bridge_headers("b1")))
    assert kinds(changes) == [BridgeRemoved, ChannelChanged]
    assert dict(changes[1].fields) == {"bridge_id": ("b1", None)}
    assert pbx.bridges == {} and pbx.channels["1.2"].bridge_id is None
    # Nor does a late event bring the bridge back.
    assert pbx.apply(event("BridgeEnter", bridge_headers("b1"), snapshot("1.2"))) == []


def test_entering_a_second_bridge_leaves_the_first_and_leaving_another_bridge_is_ignored() -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("BridgeEnter", bridge_headers("b1"), snapshot("1.1")))
    changes = applied(pbx, event("BridgeEnter", bridge_headers("b2"), snapshot("1.1")))
    assert kinds(changes) == [BridgeAdded, ChannelChanged, BridgeChanged, BridgeChanged]
    assert (pbx.bridges["b1"].channels, pbx.bridges["b2"].channels) == (set(), {"1.1"})
    assert pbx.apply(event("BridgeLeave", bridge_headers("b1"), snapshot("1.1"))) == []
    assert pbx.channels["1.1"].bridge_id == "b2"


def test_a_hangup_takes_the_channel_out_of_its_bridge() -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("BridgeEnter", bridge_headers("b1"), snapshot("1.1")))
    changes = applied(pbx, event("Hangup", snapshot("1.1")))
    assert kinds(changes) == [ChannelRemoved, BridgeChanged, CallRemoved]
    assert pbx.bridges["b1"].channels == set()


# -- calls ------------------------------------------------------------------------


def test_a_call_starts_with_its_first_channel_and_is_answered_when_one_is_up() -> None:
    pbx = PBX()
    pbx.apply(event("Newchannel", snapshot("1.1")), 1.0)
    pbx.apply(event("Newchannel", snapshot("1.2", Linkedid="1.1", ChannelState="0")), 2.0)
    call = pbx.calls["1.1"]
    assert (call.started, call.answered) == (1.0, False)
    changes = applied(pbx, event("Newstate", snapshot("1.2", Linkedid="1.1", ChannelState="6")), 5.0)
    assert dict(only(changes, CallChanged).fields) == {"answered": (False, True), "answered_at": (None, 5.0)}
    assert (call.answered, call.answered_at) == (True, 5.0)
    changes = applied(pbx, event("Newstate", snapshot("1.1", ChannelState="6")), 6.0)
    assert kinds(changes) == [ChannelChanged], "answered once"
    assert call.answered_at == 5.0


def test_a_linkedid_that_moves_takes_the_channel_to_the_other_call() -> None:
    pbx = new_pbx("1.1", "2.1")
    changes = applied(pbx, event("Newstate", snapshot("2.1", Linkedid="1.1")), 3.0)
    assert kinds(changes) == [ChannelChanged, CallRemoved, CallChanged]
    assert dict(changes[0].fields) == {"linkedid": ("2.1", "1.1")}
    assert list(pbx.calls) == ["1.1"] and pbx.calls["1.1"].channels == {"1.1", "2.1"}
    assert list(pbx.finished_calls) == [], "merged into another call, not finished"


# -- OriginateResponse ------------------------------------------------------------


def test_an_originated_channel_runs_the_application_its_originate_response_names() -> None:
    # As recorded (load_120calls, uniqueid ...569.20): the OriginateResponse overtakes
    # the channel's own Newchannel, and the dial's Newexten (AppDial2) comes after it.
    pbx = PBX()
    response = dict(Response="Success", Channel="Local/echo@default-0000000a;1", Application="Wait", Data="1")
    assert pbx.apply(event("OriginateResponse", ActionID="o7", Uniqueid="1.1", Reason="4", **response)) == []
    pbx.apply(event("Newchannel", snapshot("1.1", ChannelState="0")))
    dialled = {"Extension": "echo", "Application": "AppDial2", "AppData": "(Outgoing Line)"}
    pbx.apply(event("Newexten", snapshot("1.1", ChannelState="0"), **dialled))
    assert pbx.channels["1.1"].application == "AppDial2"
    changes = applied(pbx, event("Newstate", snapshot("1.1", ChannelState="6")))
    assert kinds(changes) == [ChannelChanged, CallChanged, ChannelChanged]
    assert dict(changes[2].fields) == {
        "application": ("AppDial2", "Wait"),
        "application_data": ("(Outgoing Line)", "1"),
    }
    # When the channel is Up already, at once.
    pbx.apply(event("Newchannel", snapshot("2.1", ChannelState="6")))
    changes = applied(pbx, event("OriginateResponse", Uniqueid="2.1", **response))
    assert dict(only(changes, ChannelChanged).fields) == {
        "application": ("", "Wait"),
        "application_data": ("", "1"),
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Response": "Failure", "Application": "Wait", "Data": "1"},
        {"Response": "Success", "Context": "default", "Exten": "echo"},  # dialplan: Newexten tells
    ],
)
def test_an_originate_response_without_an_application_run_changes_nothing(headers: dict[str, str]) -> None:
    pbx = new_pbx("1.1", ChannelState="6")
    assert pbx.apply(event("OriginateResponse", Uniqueid="1.1", Channel="Local/x", **headers)) == []
    assert pbx.apply(event("Newstate", snapshot("1.1", ChannelState="6"))) == []
    assert pbx.channels["1.1"].application == ""


# -- reconciling with the lists ---------------------------------------------------


def listed(uniqueid: str, *, application: str = "Dial", bridge: str = "", **fields: str) -> str:
    """A CoreShowChannel item."""
    return text_of(
        "CoreShowChannel",
        {"ActionID": "x"},
        snapshot(uniqueid, **fields),
        Application=application,
        ApplicationData=f"{application} data",
        Duration="00:01:05",
        BridgeId=bridge,
    )


def listed_bridge(bridge_id: str, **fields: str) -> str:
    return text_of("BridgeListItem", {"ActionID": "x"}, bridge_headers(bridge_id, **fields))


def completed(
    action: amiproto.Action,
    items: Sequence[str],
    *,
    complete: bool = True,
    too_many_events: bool = False,
    status: str = "Success",
) -> amiproto.ActionCompleted:
    """The completion of a list action, as the core builds it."""
    end = {"CoreShowChannels": "CoreShowChannelsComplete", "BridgeList": "BridgeListComplete"}[action.name]
    text = "".join(items)
    if complete and not too_many_events:
        text += text_of(end, ActionID="x", EventList="Complete", ListItems=str(len(items)))
    response = amiproto.Response(f"Response: {status}\r\nActionID: x\r\nEventList: start\r\n\r\n".encode())
    return amiproto.ActionCompleted(
        action_id="x",
        action=action,
        response=response,
        events=tuple(parse(text)),
        complete=complete,
        is_list=True,
        too_many_events=too_many_events,
    )


def handed_out(pbx: PBX, name: str) -> amiproto.Action:
    """The snapshot action ``name`` the model hands out now."""
    (action,) = [action for action in pbx.snapshot_actions() if action.name == name]
    return action


def test_the_snapshot_actions_are_fresh_typed_list_actions_bridges_first() -> None:
    pbx = PBX()
    first = [action for action in pbx.snapshot_actions() if action.name in ("BridgeList", "CoreShowChannels")]
    assert [type(action) for action in first] == [actions.BridgeList, actions.CoreShowChannels]
    assert all(action.action_id is None for action in first)
    again = pbx.snapshot_actions()
    assert not any(old is new for old in first for new in again)


def test_a_list_adds_what_the_model_missed() -> None:
    pbx = PBX()
    action = handed_out(pbx, "CoreShowChannels")
    up = {"ChannelState": "6", "ChannelStateDesc": "Up"}
    changes = applied(pbx, completed(action, [listed("7.1", bridge="b1", **up)]), 100.0)
    assert kinds(changes) == [ChannelAdded, CallAdded, CallChanged, BridgeAdded, BridgeChanged]
    channel = pbx.channels["7.1"]
    (item,) = parse(listed("7.1", bridge="b1", **up))
    for name in LISTED_FIELDS:
        assert getattr(channel, name) == (
            getattr(item, name) or None if name == "bridge_id" else getattr(item, name)
        )
    assert channel.created == 35.0, "now minus its Duration"
    call = pbx.calls["7.1"]
    assert (call.started, call.answered, call.answered_at) == (35.0, True, None)
    assert pbx.bridges["b1"].channels == {"7.1"}


def test_a_whole_list_removes_what_is_gone_but_keeps_what_events_touched_after_it_was_handed_out() -> None:
    pbx = new_pbx("1.1", "1.2", "1.3")
    action = handed_out(pbx, "CoreShowChannels")
    pbx.apply(event("Newstate", snapshot("1.2", ChannelState="6")))
    pbx.apply(event("Newchannel", snapshot("1.4")))
    changes = applied(pbx, completed(action, [listed("1.1")]))
    assert kinds(changes) == [ChannelChanged, ChannelRemoved, CallRemoved]  # 1.1's application; 1.3 gone
    assert changes[1].channel.uniqueid == "1.3"
    assert sorted(pbx.channels) == ["1.1", "1.2", "1.4"]
    assert sorted(pbx.calls) == ["1.1", "1.2", "1.4"]


def test_a_list_does_not_bring_back_what_an_event_removed() -> None:
    pbx = new_pbx("1.1")
    action = handed_out(pbx, "CoreShowChannels")
    pbx.apply(event("Hangup", snapshot("1.1")))
    assert pbx.apply(completed(action, [listed("1.1")])) == []
    assert pbx.channels == {} and pbx.calls == {}


@pytest.mark.parametrize(
    "broken", [{"complete": False}, {"too_many_events": True}, {"status": "Error"}], ids=str
)
def test_a_list_that_did_not_come_whole_removes_nothing(broken: dict[str, Any]) -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("BridgeCreate", bridge_headers("b1")))
    items = [] if broken.get("status") == "Error" else [listed("1.2")]
    pbx.apply(completed(handed_out(pbx, "CoreShowChannels"), items, **broken))
    pbx.apply(completed(handed_out(pbx, "BridgeList"), [], **broken))
    assert sorted(pbx.channels) == ["1.1", *(["1.2"] if items else [])]
    assert list(pbx.bridges) == ["b1"]


def test_a_list_updates_what_no_event_set_after_it_was_handed_out() -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("Newexten", snapshot("1.1"), Application="Playback", AppData="hello"))
    action = handed_out(pbx, "CoreShowChannels")
    up = {"ChannelState": "6", "ChannelStateDesc": "Up"}
    changes = applied(pbx, completed(action, [listed("1.1", bridge="b1", **up)]), 9.0)
    assert kinds(changes) == [BridgeAdded, ChannelChanged, CallChanged, BridgeChanged]
    assert dict(changes[1].fields) == {
        "channel_state": (4, 6),
        "channel_state_desc": ("Ring", "Up"),
        "application": ("Playback", "Dial"),
        "application_data": ("hello", "Dial data"),
        "bridge_id": (None, "b1"),
    }
    assert dict(changes[2].fields) == {"answered": (False, True)}, "when it was answered is unknown"


def test_what_an_event_set_after_the_list_was_handed_out_wins_over_the_list() -> None:
    pbx = new_pbx("1.1")
    action = handed_out(pbx, "CoreShowChannels")
    pbx.apply(event("Newexten", snapshot("1.1", Priority="2"), Application="Queue", AppData="support"))
    up = {"ChannelState": "6", "ChannelStateDesc": "Up"}
    changes = applied(pbx, completed(action, [listed("1.1", bridge="b1", **up)]))
    # The snapshot and the application came after: only the bridge is taken from the list.
    assert dict(only(changes, ChannelChanged).fields) == {"bridge_id": (None, "b1")}
    channel = pbx.channels["1.1"]
    assert (channel.channel_state, channel.priority, channel.application) == (4, "2", "Queue")


def test_a_bridge_list_adds_updates_and_removes_bridges() -> None:
    pbx = new_pbx("1.1")
    pbx.apply(event("BridgeEnter", bridge_headers("b0"), snapshot("1.1")))
    pbx.apply(event("BridgeCreate", bridge_headers("b1")))
    action = handed_out(pbx, "BridgeList")
    pbx.apply(event("BridgeCreate", bridge_headers("b2")))
    items = [listed_bridge("b1", BridgeTechnology="native_rtp"), listed_bridge("b3", BridgeType="holding")]
    changes = applied(pbx, completed(action, items))
    assert kinds(changes) == [BridgeChanged, BridgeAdded, BridgeRemoved, ChannelChanged]
    assert dict(changes[0].fields) == {"technology": ("simple_bridge", "native_rtp")}
    assert (changes[1].bridge.bridge_id, changes[1].bridge.bridge_type) == ("b3", "holding")
    assert changes[2].bridge.bridge_id == "b0"
    assert dict(changes[3].fields) == {"bridge_id": ("b0", None)}
    assert sorted(pbx.bridges) == ["b1", "b2", "b3"]


def test_a_list_the_model_did_not_hand_out_is_taken_as_the_truth() -> None:
    from ..helpers import connected, reply

    pbx = new_pbx("1.1")
    conn = connected()
    conn.send(actions.CoreShowChannels(action_id="mine"))
    body = listed("1.2").replace("ActionID: x", "ActionID: mine")
    items = reply(
        conn,
        "Response: Success\nActionID: mine\nEventList: start\nMessage: Channels will follow\n\n"
        + body
        + "Event: CoreShowChannelsComplete\nActionID: mine\nEventList: Complete\nListItems: 1\n\n",
    )
    assert isinstance(items[-1], amiproto.ActionCompleted)
    for item in items:
        pbx.apply(item, 70.0)
    assert list(pbx.channels) == ["1.2"]


# -- real traffic -----------------------------------------------------------------

RECORDED = load()  # load_120calls, committed gzipped with amiproto_transports
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def recorded_events(data: bytes = RECORDED) -> list[amiproto.Event]:
    conn = amiproto.Connection()
    conn.receive_data(data)
    return [item for item in conn.next_events() if isinstance(item, amiproto.Event)]


def is_list_item(item: amiproto.Event) -> bool:
    """An item or the end of a CoreShowChannels (``s*``) or Status (``st*``) list of the recording."""
    return (item.action_id or "").startswith("s")


def model_view(pbx: PBX) -> dict[str, dict[str, Any]]:
    return {uid: {name: getattr(ch, name) for name in LISTED_FIELDS} for uid, ch in pbx.channels.items()}


def listed_view(items: Sequence[amiproto.Event]) -> dict[str, dict[str, Any]]:
    view: dict[str, dict[str, Any]] = {}
    for item in items:
        row: dict[str, Any] = {name: getattr(item, name) for name in LISTED_FIELDS}
        row["bridge_id"] = row["bridge_id"] or None  # the list says "" for no bridge
        view[row["uniqueid"]] = row
    return view


def status_view(items: Sequence[amiproto.Event]) -> dict[str, dict[str, Any]]:
    """The same fields from a Status list, whose names differ in three places."""
    renamed = {"bridge_id": "BridgeID", "application": "Application", "application_data": "Data"}
    view: dict[str, dict[str, Any]] = {}
    for item in items:
        row: dict[str, Any] = {name: getattr(item, name) for name in LISTED_FIELDS if name not in renamed}
        row.update({name: item.get(header) for name, header in renamed.items()})
        row["bridge_id"] = row["bridge_id"] or None
        view[row["uniqueid"]] = row
    return view


@pytest.mark.usefixtures("implementation")  # with the C speedups and in pure Python
def test_the_model_fed_only_events_equals_every_core_show_channels_list() -> None:
    """The key test: on real traffic, events alone give what the server lists.

    Where the comparison is fair: Asterisk builds a list from its channel cache when
    the session thread handles the action, and writes the response and every item
    at once (no event comes between them in the stream). Events are queued per
    session and written when the session is free, which after an action is right
    after the list's end (manager.c's process_message ends with process_events).
    So the list equals the model fed the events before its Response, plus whatever
    prefix of the events right after its end was already queued when the list was
    built. For the three CoreShowChannels lists here that prefix is empty: the
    comparison holds exactly at each CoreShowChannelsComplete. The Status list that
    follows each one (built a moment later) shows the other case, tested below.
    """
    pbx = PBX()
    items: list[amiproto.Event] = []
    compared = []
    for item in recorded_events():
        if item.name == "CoreShowChannel":
            items.append(item)
        elif item.name == "CoreShowChannelsComplete":
            want = listed_view(items)
            assert model_view(pbx) == want, item.action_id
            # Calls and bridges agree with the list's Linkedid and BridgeId too.
            assert {lid: call.channels for lid, call in pbx.calls.items()} == group(want, "linkedid")
            assert {bid: b.channels for bid, b in pbx.bridges.items() if b.channels} == group(
                want, "bridge_id"
            )
            compared.append((item.action_id, len(want)))
            items = []
        elif not is_list_item(item):
            pbx.apply(item, 1.0)
    assert compared == [("s0", 4), ("s50", 148), ("s100", 146)]


def group(view: Mapping[str, Mapping[str, Any]], field: str) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for uniqueid, row in view.items():
        if row[field] is not None:
            groups.setdefault(row[field], set()).add(uniqueid)
    return groups


def test_a_list_built_later_equals_the_model_once_the_events_queued_before_it_are_in() -> None:
    """The Status lists (the same fields, three of them named differently): ``st100``
    was built after two channels hung up whose Hangup events were still queued, and
    came right after its end. The fewest events after each StatusComplete that the
    model needs to equal the list: 0 for the first two lists, 4 for the last."""
    stream = [item for item in recorded_events() if item.name not in ("CoreShowChannel", "Status")]
    ends = [position for position, item in enumerate(stream) if item.name == "StatusComplete"]
    lists: dict[str, list[amiproto.Event]] = {}
    for item in recorded_events():
        if item.name == "Status":
            lists.setdefault(item.action_id or "", []).append(item)
    needed = []
    for end in ends:
        want = status_view(lists[stream[end].action_id or ""])
        pbx = PBX()
        for item in stream[:end]:
            if not is_list_item(item):
                pbx.apply(item, 1.0)
        following = iter(stream[end + 1 : end + 50])
        count = 0
        while model_view(pbx) != want:
            pbx.apply(next(following), 1.0)
            count += 1
        needed.append(count)
    assert needed == [0, 0, 4]


def renamed(data: bytes, round_: int) -> bytes:
    """The recording with new uniqueids, linkedids and bridge ids: another 120 calls."""
    data = data.replace(b"17956745", f"r{round_:07d}".encode())
    return UUID.sub(lambda found: found.group(0) + f"-{round_}".encode(), data)


def test_memory_stays_flat_on_an_endless_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    # A smaller memory of what is gone, so that it fills within two rounds (a round
    # ends 400 channels and 80 bridges).
    monkeypatch.setattr(_channels, "_GONE_LIMIT", 150)
    pbx = PBX(history=10)
    tracker = pbx._channels
    sizes = []
    for round_ in range(5):
        for item in recorded_events(renamed(RECORDED, round_)):
            if not is_list_item(item):
                pbx.apply(item, float(round_))
        assert (pbx.channels, pbx.bridges, pbx.calls) == ({}, {}, {})
        assert len(pbx.finished_calls) == 10
        sizes.append({name: len(value) for name, value in vars(tracker).items() if hasattr(value, "__len__")})
    assert sizes[2] == sizes[3] == sizes[4], sizes
    assert sizes[4]["_gone_channels"] == sizes[4]["_gone_bridges"] == 150
    assert max(sizes[4].values()) == 150, "nothing else is kept once the calls are over"


# -- any order, any subset --------------------------------------------------------

RECORDED_WINDOW = [item for item in recorded_events()[:900] if not is_list_item(item)]
HANDMADE = parse(
    text_of(
        "Rename", Channel="Local/dial@default-00000000;1", Newname="Local/x<ZOMBIE>", Uniqueid="1795674569.0"
    )
    + text_of("NewAccountCode", snapshot("1795674569.1", AccountCode="acc", Linkedid="1795674569.0"))
    + text_of("Newstate", snapshot("1795674569.2", Linkedid="1795674569.6", ChannelState="6"))
    + text_of("BridgeDestroy", bridge_headers("911f962b-8c21-4e1f-b045-d0475ef819b2"))
    + text_of("BridgeEnter", bridge_headers("b-x"), snapshot("1795674569.3"))
    + text_of("OriginateResponse", Response="Success", Application="Wait", Data="1", Uniqueid="1795674569.9")
    + "Event: Newexten\nUniqueid: 1795674569.4\n\n"
    + "Event: BridgeLeave\nBridgeUniqueid: b-x\n\n"
)
BRIDGE_LISTS = [
    parse(listed_bridge("911f962b-8c21-4e1f-b045-d0475ef819b2") + listed_bridge("b-new")),
    parse("Event: BridgeListItem\nActionID: x\nBridgeUniqueid: \n\n"),
]
RECORDED_LISTS = [
    [item for item in recorded_events() if item.action_id == list_id] for list_id in ("s0", "s50", "s100")
]


@st.composite
def feeds(draw: st.DrawFn) -> list[object]:
    """Events of the recording and hand-made ones, in any order, with list completions
    (handed out by the model or not) and fresh snapshot hand-outs among them."""
    lists = [("list", n) for n in range(len(RECORDED_LISTS))]
    pool: list[object] = [*RECORDED_WINDOW, *HANDMADE, *lists, ("bridges", 0), ("bridges", 1), "snapshot"]
    return draw(st.lists(st.sampled_from(pool), max_size=150))


def check_consistent(pbx: PBX, changes: Sequence[Change]) -> None:
    for change in changes:
        if isinstance(change, ChannelAdded):
            assert pbx.channels[change.channel.uniqueid] is change.channel
        elif isinstance(change, ChannelRemoved):
            assert change.channel.uniqueid not in pbx.channels
        elif isinstance(change, (ChannelChanged, CallChanged, BridgeChanged)):
            assert change.fields and all(old != new for old, new in change.fields.values())
    for linkedid, call in pbx.calls.items():
        assert call.channels and call.linkedid == linkedid
        assert all(pbx.channels[uid].linkedid == linkedid for uid in call.channels)
    for uniqueid, channel in pbx.channels.items():
        assert channel.uniqueid == uniqueid
        assert channel.linkedid is None or uniqueid in pbx.calls[channel.linkedid].channels
        assert channel.bridge_id is None or uniqueid in pbx.bridges[channel.bridge_id].channels
    for bridge_id, bridge in pbx.bridges.items():
        assert all(pbx.channels[uid].bridge_id == bridge_id for uid in bridge.channels)


@given(feeds())
def test_any_order_or_subset_of_events_never_raises_and_keeps_the_model_consistent(
    feed: list[object],
) -> None:
    pbx = PBX(history=3)
    handed: dict[str, amiproto.Action] = {}
    response = amiproto.Response(b"Response: Success\r\nActionID: x\r\nEventList: start\r\n\r\n")
    for now, item in enumerate(feed):
        if item == "snapshot":
            handed = {action.name: action for action in pbx.snapshot_actions()}
            continue
        if isinstance(item, tuple):
            kind, index = item
            if kind == "list":
                action = handed.pop("CoreShowChannels", actions.CoreShowChannels())
                events = tuple(RECORDED_LISTS[index])
            else:
                action = handed.pop("BridgeList", actions.BridgeList())
                events = tuple(BRIDGE_LISTS[index])
            item = amiproto.ActionCompleted("x", action, response, events=events, is_list=True)  # noqa: PLW2901
        check_consistent(pbx, pbx.apply(item, float(now)))


def test_the_consistency_check_catches_a_broken_model() -> None:
    pbx = new_pbx("1.1")
    check_consistent(pbx, [])
    pbx.channels["1.1"].bridge_id = "nowhere"
    with pytest.raises(KeyError):
        check_consistent(pbx, [])

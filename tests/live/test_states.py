"""Device and extension states: their events, DeviceStateList/ExtensionStateList, and real traffic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto.actions import DeviceStateList, ExtensionStateList
from amiproto.live import DeviceStateChanged, ExtensionState, ExtensionStateChanged
from amiproto.live._states import StateTracker

from ..conftest import RECORDINGS, needs_shared
from .wire import Wire, load_rx, mixed_session_rx, replay


def hint(exten: str, status: int, text: str, context: str = "internal", device: str = "") -> dict[str, str]:
    """An ExtensionStatus event or list item, as Asterisk 22 writes it."""
    return {
        "Exten": exten,
        "Context": context,
        "Hint": device or f"PJSIP/{exten}",
        "Status": str(status),
        "StatusText": text,
    }


def device_list(wire: Wire, action_id: str, states: dict[str, str], *, end: bool = True) -> list[object]:
    items = [("DeviceStateChange", {"Device": device, "State": state}) for device, state in states.items()]
    return list(wire.answer_list(action_id, items, "DeviceStateListComplete", end=end))


def hint_list(wire: Wire, action_id: str, hints: list[dict[str, str]]) -> list[object]:
    items = [("ExtensionStatus", item) for item in hints]
    return list(wire.answer_list(action_id, items, "ExtensionStateListComplete"))


# -- events --------------------------------------------------------------------


def test_device_state_change_reports_the_old_and_new_state_once() -> None:
    wire = Wire()
    assert wire.event("DeviceStateChange", {"Device": "PJSIP/100", "State": "NOT_INUSE"}) == [
        DeviceStateChanged("PJSIP/100", None, "NOT_INUSE")
    ]
    assert wire.event("DeviceStateChange", {"Device": "PJSIP/100", "State": "INUSE"}) == [
        DeviceStateChanged("PJSIP/100", "NOT_INUSE", "INUSE")
    ]
    assert wire.event("DeviceStateChange", {"Device": "PJSIP/100", "State": "INUSE"}) == []
    assert wire.pbx.device_states == {"PJSIP/100": "INUSE"}


def test_extension_status_reports_the_previous_state_as_it_was() -> None:
    wire = Wire()
    (first,) = wire.event("ExtensionStatus", hint("100", 0, "Idle"))
    state = wire.pbx.extension_states[("100", "internal")]
    assert first == ExtensionStateChanged(state, None)
    assert (state.hint, state.status, state.status_text) == ("PJSIP/100", 0, "Idle")
    (second,) = wire.event("ExtensionStatus", hint("100", 1, "InUse"))
    assert isinstance(second, ExtensionStateChanged)
    assert second.state is state  # updated in place
    assert second.old is not None
    assert (second.old.status, second.old.status_text) == (0, "Idle")
    assert (state.status, state.status_text) == (1, "InUse")
    assert not second.removed
    assert wire.event("ExtensionStatus", hint("100", 1, "InUse")) == []


def test_events_without_their_keys_are_ignored() -> None:
    wire = Wire()
    assert wire.event("DeviceStateChange", {"Device": "PJSIP/100"}) == []
    assert wire.event("DeviceStateChange", {"State": "INUSE"}) == []
    assert wire.event("ExtensionStatus", {"Exten": "100", "Status": "0"}) == []
    assert wire.event("ExtensionStatus", {"Exten": "100", "Context": "x", "Status": "busy"}) != []
    assert wire.pbx.extension_states[("100", "x")].status is None
    assert wire.pbx.device_states == {}


# -- snapshots -----------------------------------------------------------------


def test_snapshot_actions_are_fresh_device_and_extension_state_lists() -> None:
    tracker = StateTracker()
    devices, hints = tracker.snapshot_actions()
    assert isinstance(devices, DeviceStateList)
    assert isinstance(hints, ExtensionStateList)
    assert tracker.snapshot_actions()[0] is not devices


def test_list_items_also_come_as_ordinary_events_before_the_completion() -> None:
    # What the core does with a list (documented in _states): each item is yielded in wire
    # order as an ordinary event carrying the list's ActionID, then again inside the completion.
    wire = Wire()
    ids = wire.snapshot()
    changes = device_list(wire, ids["DeviceStateList"], {"PJSIP/100": "INUSE"})
    events = [i for i in wire.items if isinstance(i, amiproto.Event) and i.name == "DeviceStateChange"]
    (completed,) = [i for i in wire.items if isinstance(i, amiproto.ActionCompleted)]
    assert [e.action_id for e in events] == [ids["DeviceStateList"]]
    assert completed.events[0] is events[0]
    assert wire.items.index(events[0]) < wire.items.index(completed)
    assert changes == [DeviceStateChanged("PJSIP/100", None, "INUSE")]  # once, not twice


def test_a_whole_device_list_removes_what_it_lacks_unless_touched_after_the_snapshot() -> None:
    wire = Wire()
    wire.event("DeviceStateChange", {"Device": "PJSIP/old", "State": "INUSE"})
    wire.event("DeviceStateChange", {"Device": "PJSIP/kept", "State": "INUSE"})
    ids = wire.snapshot()
    wire.event("DeviceStateChange", {"Device": "PJSIP/late", "State": "RINGING"})
    changes = device_list(
        wire, ids["DeviceStateList"], {"PJSIP/kept": "NOT_INUSE", "PJSIP/new": "UNAVAILABLE"}
    )
    assert wire.pbx.device_states == {
        "PJSIP/kept": "NOT_INUSE",
        "PJSIP/new": "UNAVAILABLE",
        "PJSIP/late": "RINGING",
    }
    assert DeviceStateChanged("PJSIP/old", "INUSE", None) in changes
    assert DeviceStateChanged("PJSIP/kept", "INUSE", "NOT_INUSE") in changes
    assert DeviceStateChanged("PJSIP/new", None, "UNAVAILABLE") in changes


def test_a_device_list_cut_short_removes_nothing() -> None:
    wire = Wire()
    wire.event("DeviceStateChange", {"Device": "PJSIP/old", "State": "INUSE"})
    ids = wire.snapshot()
    device_list(wire, ids["DeviceStateList"], {"PJSIP/new": "INUSE"}, end=False)
    wire.close()
    assert wire.pbx.device_states == {"PJSIP/old": "INUSE", "PJSIP/new": "INUSE"}


def test_a_device_list_given_up_at_max_list_events_removes_nothing() -> None:
    wire = Wire(max_list_events=1)
    wire.event("DeviceStateChange", {"Device": "PJSIP/old", "State": "INUSE"})
    ids = wire.snapshot()
    device_list(wire, ids["DeviceStateList"], {"PJSIP/a": "INUSE", "PJSIP/b": "INUSE", "PJSIP/c": "INUSE"})
    # The items past the limit came as ordinary events and still count.
    assert wire.pbx.device_states == {
        "PJSIP/old": "INUSE",
        "PJSIP/a": "INUSE",
        "PJSIP/b": "INUSE",
        "PJSIP/c": "INUSE",
    }


def test_an_error_answer_removes_nothing() -> None:
    wire = Wire()
    wire.event("DeviceStateChange", {"Device": "PJSIP/old", "State": "INUSE"})
    wire.event("ExtensionStatus", hint("100", 0, "Idle"))
    ids = wire.snapshot()
    assert wire.answer_error(ids["DeviceStateList"], "Permission denied") == []
    assert wire.answer_error(ids["ExtensionStateList"], "Permission denied") == []
    assert list(wire.pbx.device_states) == ["PJSIP/old"]
    assert list(wire.pbx.extension_states) == [("100", "internal")]


def test_a_device_list_the_pbx_did_not_hand_out_is_the_truth() -> None:
    wire = Wire()
    ids = wire.snapshot()
    device_list(wire, ids["DeviceStateList"], {})
    wire.event("DeviceStateChange", {"Device": "PJSIP/late", "State": "INUSE"})
    action_id = wire.send(amiproto.Action("DeviceStateList"))
    device_list(wire, action_id, {"PJSIP/a": "INUSE"})
    assert wire.pbx.device_states == {"PJSIP/a": "INUSE"}


def test_the_programs_own_identical_list_counts_as_the_pending_snapshot() -> None:
    # The PBX knows its actions by name and headers (their ActionIDs are the connection's).
    wire = Wire()
    wire.snapshot()
    wire.event("DeviceStateChange", {"Device": "PJSIP/late", "State": "INUSE"})
    action_id = wire.send(amiproto.Action("DeviceStateList"))
    device_list(wire, action_id, {"PJSIP/a": "INUSE"})
    assert wire.pbx.device_states == {"PJSIP/a": "INUSE", "PJSIP/late": "INUSE"}


def test_a_whole_hint_list_removes_what_it_lacks_unless_touched_after_the_snapshot() -> None:
    wire = Wire()
    wire.event("ExtensionStatus", hint("100", 0, "Idle"))
    wire.event("ExtensionStatus", hint("101", 0, "Idle"))
    ids = wire.snapshot()
    wire.event("ExtensionStatus", hint("102", 8, "Ringing"))
    gone = wire.pbx.extension_states[("101", "internal")]
    changes = hint_list(
        wire, ids["ExtensionStateList"], [hint("100", 1, "InUse"), hint("200", 4, "Unavailable")]
    )
    assert set(wire.pbx.extension_states) == {("100", "internal"), ("102", "internal"), ("200", "internal")}
    assert wire.pbx.extension_states[("100", "internal")].status_text == "InUse"
    assert ExtensionStateChanged(gone, gone, removed=True) in changes


def test_no_dialplan_hints_is_an_empty_hint_list() -> None:
    wire = Wire()
    wire.event("ExtensionStatus", hint("100", 0, "Idle"))
    stale = wire.pbx.extension_states[("100", "internal")]
    ids = wire.snapshot()
    changes = wire.answer_error(ids["ExtensionStateList"], "No dialplan hints are available")
    assert changes == [ExtensionStateChanged(stale, stale, removed=True)]
    assert wire.pbx.extension_states == {}


def test_snapshots_sent_through_a_connection_sync_the_model() -> None:
    # Connection.send() completes a copy of each action carrying its ActionID: the PBX still knows them.
    wire = Wire()
    ids = wire.snapshot()
    device_list(wire, ids["DeviceStateList"], {})
    wire.answer_error(ids["ExtensionStateList"], "No dialplan hints are available")
    assert not wire.pbx.synced
    wire.answer_list(ids["QueueStatus"], [], "QueueStatusComplete")
    wire.answer_list(ids["BridgeList"], [], "BridgeListComplete")
    assert not wire.pbx.synced
    wire.answer_list(ids["CoreShowChannels"], [], "CoreShowChannelsComplete")
    assert wire.pbx.synced
    wire.close()
    assert not wire.pbx.synced


# -- real traffic ---------------------------------------------------------------


def final_states(items: list[amiproto.Item]) -> dict[str, str]:
    """The last state each device had in the server's own events."""
    states: dict[str, str] = {}
    for item in items:
        if isinstance(item, amiproto.Event) and item.name == "DeviceStateChange":
            states[item.get("Device") or ""] = item.get("State") or ""
    return states


def test_load_and_mixed_recordings_end_with_the_servers_last_device_states() -> None:
    for rx in (load_rx(), mixed_session_rx()):
        items = replay(rx)
        wire = Wire()
        for item in items:
            wire.pbx.apply(item, 1.0)
        assert wire.pbx.device_states == final_states(items)
        assert wire.pbx.device_states["Local/wait@default"] == "NOT_INUSE"


@needs_shared(RECORDINGS / "all_actions.rx")
def test_all_actions_device_list_and_no_hints_answer() -> None:
    # The recorded DeviceStateList (a-28) and ExtensionStateList's "No dialplan hints" error (a-27).
    actions = [
        amiproto.Action("ExtensionStateList", ActionID="a-27"),
        amiproto.Action("DeviceStateList", ActionID="a-28"),
    ]
    items = replay((RECORDINGS / "all_actions.rx").read_bytes(), actions)
    wire = Wire()
    wire.event("ExtensionStatus", hint("stale", 0, "Idle"))  # a hint the server no longer has
    for item in items:
        changes = wire.pbx.apply(item, 1.0)
        if isinstance(item, amiproto.ActionCompleted) and item.action_id == "a-27":
            assert [(c.state.exten, c.removed) for c in changes if isinstance(c, ExtensionStateChanged)] == [
                ("stale", True)
            ]
        if isinstance(item, amiproto.ActionCompleted) and item.action_id == "a-28":
            listed = {e.get("Device"): e.get("State") for e in item.events if e.name == "DeviceStateChange"}
            assert len(listed) == 11
            assert changes == []  # its items came as events first
            assert wire.pbx.device_states == listed
    assert wire.pbx.extension_states == {}
    assert wire.pbx.device_states == final_states(items)


# -- random sequences -----------------------------------------------------------

DEVICES = ("PJSIP/100", "PJSIP/101", "Queue:support")
STATES = ("NOT_INUSE", "INUSE", "RINGING", "UNAVAILABLE", "")
STEP = st.one_of(
    st.tuples(st.just("device"), st.sampled_from(DEVICES), st.sampled_from(STATES)),
    st.tuples(st.just("hint"), st.sampled_from(("100", "101")), st.sampled_from(("0", "1", "8", "-1", "x"))),
    st.tuples(st.just("snapshot"), st.just(""), st.just("")),
    st.tuples(st.just("devices"), st.sets(st.sampled_from(DEVICES)).map(sorted).map(",".join), st.just("")),
)


@given(st.lists(STEP, max_size=30))
def test_random_state_traffic_keeps_each_last_value(steps: list[tuple[str, str, str]]) -> None:
    wire = Wire()
    devices: dict[str, str] = {}
    hints: dict[str, int | None] = {}
    touched: set[str] = set()
    pending: str | None = None
    for kind, key, value in steps:
        if kind == "device":
            wire.event("DeviceStateChange", {"Device": key, "State": value})
            devices[key] = value
            touched.add(key)
        elif kind == "hint":
            wire.event("ExtensionStatus", hint(key, 0, "Idle") | {"Status": value})
            hints[key] = int(value) if value.lstrip("-").isdigit() else None
        elif kind == "snapshot":
            pending = wire.snapshot()["DeviceStateList"]
            touched = set()
        elif pending is not None:
            listed = {device: "INUSE" for device in key.split(",") if device}
            device_list(wire, pending, listed)
            devices = {d: s for d, s in devices.items() if d in touched} | listed
            pending = None
        assert wire.pbx.device_states == devices
        assert {k[0]: v.status for k, v in wire.pbx.extension_states.items()} == hints
        assert all(isinstance(v, ExtensionState) for v in wire.pbx.extension_states.values())

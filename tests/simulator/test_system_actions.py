"""System actions (``_actions/system.py``): as recorded, byte for byte, and the branches not recorded."""

from __future__ import annotations

import amiproto
from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._states import RECORDED_DEVICE_STATES
from amiproto_transports.simulator._world import World

from ..conftest import RECORDINGS, needs_shared
from .test_all_actions import MANAGER_CONF, messages_by_action_id, play
from .test_recordings import parse_rx as parse
from .test_session import Harness

# all_actions ActionIDs answered by system.py (and core.py's Events, UserEvent, Login, Challenge):
# their answers hold no value that changes from run to run, so they must be the recorded bytes.
SAME_BYTES = [
    "a-8",
    "a-10",
    "a-26",
    "a-27",
    "a-28",
    "a-29",
    "a-30",
    "a-31",
    "a-32",
    "a-33",
    "a-34",
    *(f"a-{n}" for n in range(38, 53)),
    "a-132",
    "a-144",
    "a-145",
    "a-164",
    "a-171",
    "a-176",
    "a-177",
    "a-183",
    *(f"a-{n}" for n in range(196, 201)),
    "a-203",
    "a-209",
    "a-210",
]


@needs_shared(MANAGER_CONF)
def test_system_answers_are_the_recorded_bytes() -> None:
    result = play("all_actions")
    real = messages_by_action_id(parse(result.real_bytes))
    ours = messages_by_action_id(parse(result.our_bytes))
    for action_id in SAME_BYTES:
        assert [m.raw for m in ours.get(action_id, [])] == [m.raw for m in real.get(action_id, [])], action_id
    # IAXnetstats answers one empty line, with no Response, right after IAXpeerlist's list.
    marker = b"Event: PeerlistComplete\r\nActionID: a-44\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
    for data in (result.real_bytes, result.our_bytes):
        assert data[data.index(marker) + len(marker) :].startswith(
            b"\r\nResponse: Success\r\nActionID: a-46\r\n"
        )
    # The Reload events of ModuleLoad and Reload follow their answers, as recorded.
    reloads = [
        (e.get("Module"), e.get("Status"))
        for e in parse(result.our_bytes)
        if isinstance(e, amiproto.Event) and e.name == "Reload"
    ]
    assert reloads == [("res_rtp_asterisk.so", "0"), ("res_rtp_asterisk", "0")]


def logged_in() -> Harness:
    h = Harness()
    h.login(auth="plain")
    return h


def raw(h: Harness, text: str) -> bytes:
    return h.send_raw(text.replace("\n", "\r\n").encode() + b"\r\n")


def test_module_check_strips_so_and_knows_only_loaded_modules() -> None:
    h = logged_in()
    assert raw(h, "Action: ModuleCheck\nActionID: 1\nModule: app_queue.so\n") == (
        b"Response: Success\r\nActionID: 1\r\nVersion: \r\n\r\n"
    )
    assert h.action("ModuleCheck", Module="chan_pjsip").response.message == "Module not loaded"


def test_module_load_unload_refresh_and_reload_branches() -> None:
    h = logged_in()

    def answer(**headers: str) -> tuple[str, str | None]:
        response = h.action("ModuleLoad", None, **headers).response
        return response.status, response.message

    assert answer(LoadType="load", Module="app_echo.so") == ("error", "Could not load module.")
    assert answer(LoadType="unload", Module="app_echo.so") == ("success", "Module unloaded.")
    assert h.action("ModuleCheck", Module="app_echo").response.message == "Module not loaded"
    assert answer(LoadType="unload", Module="app_echo.so") == ("error", "Could not unload module.")
    assert answer(LoadType="load", Module="app_echo.so") == ("success", "Module loaded.")
    assert answer(LoadType="refresh", Module="app_echo") == ("success", "Module unloaded and loaded.")
    assert answer(LoadType="load") == ("error", "Need module name")
    assert answer(LoadType="reload", Module="app_echo") == ("error", "Module does not support reload action.")
    assert answer(LoadType="reload", Module="nope.so") == ("error", "No such module.")
    assert answer(LoadType="reload") == ("success", "All modules reloaded")
    assert answer(LoadType="bounce", Module="app_echo") == ("error", "Incomplete ModuleLoad action.")
    assert [e.get("Module") for e in h.events("Reload")] == ["All"]


def test_module_load_without_load_type_answers_twice() -> None:
    h = logged_in()
    out = raw(h, "Action: ModuleLoad\nActionID: 2\nModule: app_echo.so\n")
    assert out == b"Response: Error\r\nActionID: 2\r\nMessage: Incomplete ModuleLoad action.\r\n\r\n" * 2


def test_reload_uses_its_own_wording_and_announces_success() -> None:
    h = logged_in()
    assert h.action("Reload", Module="app_echo").response.message == "Module does not support reload"
    assert h.action("Reload", Module="nope").response.message == "No such module"
    assert h.action("Reload", Module="manager").response.message == "Module Reloaded"
    assert h.action("Reload").response.message == "Module Reloaded"
    assert [(e.get("Module"), e.get("Status")) for e in h.events("Reload")] == [
        ("manager", "0"),
        ("All", "0"),
    ]


def test_reload_needs_system_or_config_write() -> None:
    h = Harness(World(users_from_mapping({"u": ("pw", "all", "call")}), start=100.0, wall_offset=1.7e9))
    h.login("u", "pw", auth="plain")
    assert h.action("Reload").response.message == "Permission denied"
    assert h.action("WaitEvent", Timeout="0").response.message == "Waiting for Event completed."


def start(h: Harness, name: str, **headers: str) -> str:
    """Send an action through the harness's client without waiting for its answer; its ActionID."""
    data = h.client.send(amiproto.Action(name, [], **headers))
    action_id = h.client.pending_action_ids[-1]
    h.session.receive_data(data, h.now)
    h.pump()
    return action_id


def answered(h: Harness, action_id: str) -> list[amiproto.ActionCompleted]:
    return [c for c in h.completed() if c.action_id == action_id]


def test_wait_event_with_no_event_answers_after_its_timeout() -> None:
    h = logged_in()
    wait = start(h, "WaitEvent", Timeout="3")
    h.advance(2.9)
    assert not answered(h, wait)
    h.advance(0.2)
    done = answered(h, wait)
    assert done and done[0].response is not None
    assert done[0].response.message == "Waiting for Event completed."
    assert [e.action_id for e in h.events("WaitEventComplete")] == [wait]


def test_wait_event_returns_the_events_between_its_response_and_its_end() -> None:
    h = logged_in()
    h.session.receive_data(b"Action: WaitEvent\r\nActionID: w\r\nTimeout: 30\r\n\r\n", h.now)
    h.pump()
    h.world.pbx.originate("Local/echo@default", application="Wait", data="1")
    out = b""
    for _ in range(40):
        h.now += 0.05
        h.world.advance(h.now)
        out += h.session.data_to_send(h.now)
    assert out.startswith(
        b"Response: Success\r\nActionID: w\r\nMessage: Waiting for Event completed.\r\n\r\n"
    )
    assert b"Event: Newchannel\r\n" in out
    # Events queued before the end came in the answer; later ones follow it.
    end = out.index(b"Event: WaitEventComplete\r\nActionID: w\r\n\r\n")
    assert out.index(b"Event: Newchannel\r\n") < end


def test_wait_event_ends_when_the_client_sends_more_and_that_is_answered_after() -> None:
    h = logged_in()
    wait = start(h, "WaitEvent")
    h.advance(5)
    assert not answered(h, wait)  # no timeout and no event: still waiting
    ping = start(h, "Ping")
    h.advance(0.2)
    assert [c.action_id for c in h.completed()][-2:] == [wait, ping]


def test_wait_event_on_a_closing_connection_sends_nothing() -> None:
    h = logged_in()
    wait = start(h, "WaitEvent", Timeout="2")
    h.session.receive_data(b"", h.now)
    h.advance(3)
    assert not answered(h, wait)


def test_events_without_a_mask_is_refused_and_keeps_the_old_one() -> None:
    h = logged_in()
    assert raw(h, "Action: Events\nActionID: e\n") == (
        b"Response: Error\r\nActionID: e\r\nMessage: Invalid event mask\r\n\r\n"
    )
    assert h.action("Events", EventMask="off").response.get("Events") == "Off"


def test_extension_and_presence_states() -> None:
    h = logged_in()
    state = h.action("ExtensionState", Exten="wait").response
    assert [(n, v) for n, v in state.headers if n not in ("Response", "ActionID")] == [
        ("Message", "Extension Status"),
        ("Exten", "wait"),
        ("Context", "default"),
        ("Hint", ""),
        ("Status", "-1"),
        ("StatusText", "Unknown"),
    ]
    h.world.db[("CustomPresence", "bob")] = "away,lunch,back soon"
    presence = h.action("PresenceState", Provider="CustomPresence:bob").response
    assert presence.get("State") == "away" and presence.get("Subtype") == "lunch"
    assert presence.headers.get_all("Message") == ["Presence State", "back soon"]
    bad = h.action("PresenceState", Provider="Nope:x").response
    assert bad.message == "Invalid provider Nope:x or provider in invalid state"


def test_device_state_list_is_the_world_cache() -> None:
    h = logged_in()
    h.world.device_states["Custom:desk"] = "INUSE"
    done = h.action("DeviceStateList")
    listed = [(e.get("Device"), e.get("State")) for e in done.events[:-1]]
    assert listed == [*RECORDED_DEVICE_STATES, ("Custom:desk", "INUSE")]
    assert done.events[-1].name == "DeviceStateListComplete"
    assert done.events[-1].get("ListItems") == str(len(listed))


def test_message_send_needs_an_address() -> None:
    h = logged_in()
    assert h.action("MessageSend", Body="x").response.message == "No 'To' address specified."
    assert h.action("MessageSend", To="sip:a@b").response.message == "Message technology not found."


def test_sorcery_errors_end_in_a_bare_newline_as_asterisk_sends_them() -> None:
    h = logged_in()
    out = raw(h, "Action: SorceryMemoryCacheStaleObject\nActionID: s\nCache: c\n")
    assert out == (
        b"Response: Error\r\nActionID: s\r\n"
        b"Message: SorceryMemoryCacheStaleObject requires that an object name be provided\n\r\n\r\n"
    )


def test_core_show_channel_map_follows_bridges_and_local_halves() -> None:
    h = logged_in()
    pbx = h.world.pbx
    for _ in range(3):
        pbx.originate("Local/wait@default", application="Wait", data="20")
    h.advance(0.5)
    names = sorted(pbx.channels)
    a1, a2, b1, b2, c1, c2 = names
    # a;1 is bridged with b;1, and b's other half with c;1.
    for bridge_id, members in (("br-1", [a1, b1]), ("br-2", [b2, c1])):
        pbx.bridges[bridge_id] = [pbx.channels[name] for name in members]
        for name in members:
            pbx.channels[name].bridge_id = bridge_id
    done = h.action("CoreShowChannelMap", Channel=a1)
    assert [e.get("ConnectedChannel") for e in done.events[:-1]] == [b1, b2, c1, c2]
    assert {e.get("Channel") for e in done.events[:-1]} == {a1}
    alone = h.action("CoreShowChannelMap", Channel=a2)
    assert alone.response.success and [e.name for e in alone.events] == ["CoreShowChannelMapComplete"]
    missing = raw(h, "Action: CoreShowChannelMap\nActionID: m\nChannel: Local/none-1;1\n")
    assert missing == b"Response: Error\r\nActionID: m\r\nMessage: Could not get channel snapshot\n\r\n\r\n"


def test_list_commands_lists_only_what_the_user_may_run() -> None:
    h = Harness()
    h.login("readonly", "readpass", auth="plain")
    listed = h.action("ListCommands").response
    names = {name for name, _ in listed.headers if name not in ("Response", "ActionID")}
    assert {"Ping", "Login", "Logoff", "WaitEvent", "ListCommands", "Events"} <= names
    assert all(value.endswith("(Priv: <none>)") for name, value in listed.headers if name in names)
    assert "Reload" not in names and "Originate" not in names


@needs_shared(RECORDINGS / "all_actions.rx")
def test_list_commands_is_the_recorded_answer_for_every_action_known() -> None:
    real = next(
        item
        for item in parse((RECORDINGS / "all_actions.rx").read_bytes())
        if isinstance(item, amiproto.Response) and item.get("ListCommands") is not None
    )
    ours = logged_in().action("ListCommands").response
    # In the recorded order, with the recorded text; actions it did not list are left out.
    known = {name for name, _ in ours.headers} & {name for name, _ in real.headers} - {"Response", "ActionID"}
    recorded = [(name, value) for name, value in real.headers if name in known]
    assert [(name, value) for name, value in ours.headers if name in known] == recorded
    assert len(known) >= 50


def test_device_state_list_follows_the_state_changes_the_simulator_announces() -> None:
    h = Harness()
    h.login(auth="plain")
    h.action("Originate", Channel="Local/wait@default", Application="Wait", Data="3", Async="true")
    h.advance(0.5)
    announced = {e.get("Device"): e.get("State") for e in h.events("DeviceStateChange")}
    assert announced, "a call announces its device's state"
    listed = h.action("DeviceStateList")
    states = {e.get("Device"): e.get("State") for e in listed.events if e.name == "DeviceStateChange"}
    assert all(states.get(device) == state for device, state in announced.items()), (announced, states)

"""PJSIP actions (``_actions/pjsip.py``): Asterisk 22 with res_pjsip loaded and nothing configured.

No recording shows them (the recorded server was built without PJSIP), so the
expected answers here are the ones Asterisk's source gives, module by module.
"""

from __future__ import annotations

from typing import Any

import pytest

import amiproto
from amiproto import actions
from amiproto_transports.simulator._actions import ACTIONS
from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._world import World

from .test_session import Harness

# Action -> the write classes its ast_manager_register_xml call names.
PRIVILEGES = {
    "PJSIPHangup": "system,call",
    "PJSIPNotify": "system",
    "PJSIPQualify": "system,reporting",
    "PJSIPRegister": "system,reporting",
    "PJSIPSetMaintenance": "system",
    "PJSIPShowAors": "system",
    "PJSIPShowAuths": "system",
    "PJSIPShowContacts": "system",
    "PJSIPShowEndpoint": "system",
    "PJSIPShowEndpoints": "system",
    "PJSIPShowMaintenance": "system,reporting",
    "PJSIPShowRegistrationInboundContactStatuses": "system",
    "PJSIPShowRegistrationsInbound": "system",
    "PJSIPShowRegistrationsOutbound": "system,reporting",
    "PJSIPShowResourceLists": "system",
    "PJSIPShowSubscriptionsInbound": "system",
    "PJSIPShowSubscriptionsOutbound": "system",
    "PJSIPUnregister": "system,reporting",
}

# Users allowed to write one class each, to see which class lets an action through.
ONE_CLASS_USERS = {
    "sys": ("pass", "all", "system"),
    "call": ("pass", "all", "call"),
    "rep": ("pass", "all", "reporting"),
    "none": ("pass", "all", "user"),
}

# Well-formed calls and what an empty configuration answers: (headers, status, message).
ANSWERS: list[tuple[str, dict[str, str], str, str]] = [
    ("PJSIPShowEndpoints", {}, "Error", "No endpoints found"),
    ("PJSIPShowEndpoint", {"Endpoint": "PJSIP/alice"}, "Error", "Unable to retrieve endpoint alice"),
    ("PJSIPShowAors", {}, "Error", "No AORs found"),
    ("PJSIPShowAuths", {}, "Error", "No Auths found"),
    ("PJSIPShowContacts", {}, "Error", "No Contacts found"),
    ("PJSIPShowResourceLists", {}, "Error", "No resource lists found"),
    ("PJSIPQualify", {"Endpoint": "alice"}, "Error", "Unable to retrieve endpoint"),
    ("PJSIPRegister", {"Registration": "trunk"}, "Error", "Unable to retrieve registration entry"),
    ("PJSIPRegister", {"Registration": "*all"}, "Success", "Reregistrations queued."),
    ("PJSIPUnregister", {"Registration": "trunk"}, "Error", "Unable to retrieve registration entry"),
    ("PJSIPUnregister", {"Registration": "*all"}, "Success", "Unregistrations queued."),
    (
        "PJSIPNotify",
        {"Endpoint": "sip/alice", "Variable": "Event=check-sync"},
        "Error",
        "Unable to retrieve endpoint alice",
    ),
    ("PJSIPNotify", {"URI": "sip:bob@192.0.2.1", "Variable": "Event=check-sync"}, "Success", "NOTIFY sent"),
    (
        "PJSIPNotify",
        {"Channel": "PJSIP/alice-00000001", "Variable": "Event=talk"},
        "Error",
        "Channel not found",
    ),
    (
        "PJSIPNotify",
        {"Endpoint": "alice", "Option": "clear-mwi"},
        "Error",
        "Unable to find notify type 'clear-mwi'",
    ),
    (
        "PJSIPNotify",
        {"URI": "sip:bob@192.0.2.1", "Option": "clear-mwi"},
        "Error",
        "Unable to find notify type 'clear-mwi'",
    ),
    (
        "PJSIPNotify",
        {"Endpoint": "alice", "URI": "sip:bob@192.0.2.1", "Variable": "Event=check-sync"},
        "Error",
        "PJSIPNotify requires either an endpoint name, a SIP URI, or a channel."
        "  You must use only one of them.",
    ),
    ("PJSIPHangup", {"Channel": "PJSIP/alice-00000001", "Cause": "486"}, "Error", "No such channel"),
    ("PJSIPSetMaintenance", {"Endpoint": "alice", "State": "on"}, "Error", "Endpoint 'alice' not found"),
    ("PJSIPSetMaintenance", {"Endpoint": "alice", "State": "maybe"}, "Error", "State must be 'on' or 'off'"),
    (
        "PJSIPSetMaintenance",
        {"Endpoint": "all", "State": "ON"},
        "Success",
        "Maintenance mode enabled for all endpoints",
    ),
    (
        "PJSIPSetMaintenance",
        {"Endpoint": "all", "State": "off"},
        "Success",
        "Maintenance mode disabled for all endpoints",
    ),
]

# A required parameter left out, and the error the module answers.
MISSING: list[tuple[str, dict[str, str], str]] = [
    ("PJSIPShowEndpoint", {}, "PJSIPShowEndpoint requires an endpoint name"),
    ("PJSIPQualify", {}, "Endpoint parameter missing."),
    ("PJSIPRegister", {}, "Registration parameter missing."),
    ("PJSIPUnregister", {}, "Registration parameter missing."),
    (
        "PJSIPNotify",
        {"Variable": "Event=check-sync"},
        "PJSIPNotify requires either an endpoint name, a SIP URI, or a channel.",
    ),
    (
        "PJSIPNotify",
        {"Endpoint": "alice"},
        "PJSIPNotify requires either an Option or Variable(s).You must use only one of them.",
    ),
    (
        "PJSIPNotify",
        {"Endpoint": "alice", "Option": "clear-mwi", "Variable": "Event=check-sync"},
        "PJSIPNotify requires either an Option or Variable(s).You must use only one of them.",
    ),
    ("PJSIPHangup", {"Cause": "486"}, "No channel specified"),
    ("PJSIPSetMaintenance", {"State": "on"}, "Endpoint parameter missing"),
    ("PJSIPSetMaintenance", {"Endpoint": "alice"}, "State parameter missing"),
]

# The modules that write these errors end them with "\n" (a bare LF before the CRLF).
ENDS_IN_LF = {
    ("PJSIPShowEndpoints", "No endpoints found"),
    ("PJSIPShowAors", "No AORs found"),
    ("PJSIPShowAuths", "No Auths found"),
    ("PJSIPShowContacts", "No Contacts found"),
    ("PJSIPShowResourceLists", "No resource lists found"),
    ("PJSIPShowEndpoint", "Unable to retrieve endpoint alice"),
    ("PJSIPShowEndpoint", "PJSIPShowEndpoint requires an endpoint name"),
    ("PJSIPQualify", "Unable to retrieve endpoint"),
    ("PJSIPRegister", "Unable to retrieve registration entry"),
    ("PJSIPUnregister", "Unable to retrieve registration entry"),
    ("PJSIPNotify", "Unable to find notify type 'clear-mwi'"),
}

# The list actions that answer an empty list: (action, its message, extra headers on the closing event).
EMPTY_LISTS: list[tuple[Any, str, list[tuple[str, str]]]] = [
    (
        actions.PJSIPShowRegistrationsOutbound(),
        "Following are Events for each Outbound registration",
        [("Registered", "0"), ("NotRegistered", "0")],
    ),
    (actions.PJSIPShowRegistrationsInbound(), "Following are Events for each Inbound registration", []),
    (
        actions.PJSIPShowRegistrationInboundContactStatuses(),
        "Following are ContactStatusEvents for each Inbound registration",
        [],
    ),
    (actions.PJSIPShowSubscriptionsInbound(), "Following are Events for each inbound Subscription", []),
    (actions.PJSIPShowSubscriptionsOutbound(), "Following are Events for each outbound Subscription", []),
    (actions.PJSIPShowMaintenance(), "Maintenance status events follow", []),
]


def logged_in(user: str = "admin") -> Harness:
    h = Harness(
        World(
            users_from_mapping({"admin": ("wordpass", "all", "all"), **ONE_CLASS_USERS}),
            start=100.0,
            wall_offset=1.7e9,
        )
    )
    assert h.login(user, "wordpass" if user == "admin" else "pass").success
    return h


def response_of(done: amiproto.ActionCompleted) -> amiproto.Response:
    assert done.response is not None
    return done.response


def send(h: Harness, action: amiproto.Action) -> tuple[amiproto.ActionCompleted, bytes]:
    """Send ``action``; its completed answer and the bytes the simulator wrote."""
    data = h.client.send(action)
    action_id = h.client.pending_action_ids[-1]
    h.session.receive_data(data, h.now)
    written = h.pump()
    done = next(item for item in h.completed() if item.action_id == action_id)
    return done, written


def test_every_pjsip_action_is_known_with_its_registered_privilege() -> None:
    known = {spec.name: spec.privilege for spec in ACTIONS.values() if spec.name.startswith("PJSIP")}
    assert known == PRIVILEGES
    builders = {name for name in actions.ACTION_BUILDERS if name.startswith("PJSIP")}
    assert builders == PRIVILEGES.keys()


@pytest.mark.parametrize("name", sorted(PRIVILEGES))
def test_each_action_lets_through_only_a_user_who_may_write_one_of_its_classes(name: str) -> None:
    classes = set(PRIVILEGES[name].split(","))
    for user, (_, _, write) in ONE_CLASS_USERS.items():
        done = logged_in(user).action(name)
        denied = response_of(done).get("Message") == "Permission denied"
        assert denied == (write not in classes), (name, user)


def test_list_commands_shows_the_pjsip_actions_with_their_privileges() -> None:
    answer = logged_in().action("ListCommands").response
    assert answer.get("PJSIPShowEndpoints") == "Lists PJSIP endpoints.  (Priv: system,all)"
    assert answer.get("PJSIPQualify") == "Qualify a chan_pjsip endpoint.  (Priv: system,reporting,all)"
    assert answer.get("PJSIPHangup") == (
        "Hangup an incoming PJSIP channel with a SIP response code  (Priv: system,call,all)"
    )
    # A user who may write only "call" is shown PJSIPHangup and none of the others.
    listed = logged_in("call").action("ListCommands").response
    assert [name for name, _ in listed.headers if name.startswith("PJSIP")] == ["PJSIPHangup"]


@pytest.mark.parametrize(("name", "headers", "status", "message"), ANSWERS)
def test_a_well_formed_call_gets_the_empty_configuration_answer(
    name: str, headers: dict[str, str], status: str, message: str
) -> None:
    h = logged_in()
    done, written = send(h, amiproto.Action(name, list(headers.items())))
    assert response_of(done).get("Response") == status
    assert response_of(done).get("Message") == message
    assert not done.events
    ending = "\n\r\n\r\n" if (name, message) in ENDS_IN_LF else "\r\n\r\n"
    assert written.endswith(f"Message: {message}{ending}".encode())


@pytest.mark.parametrize(("name", "headers", "message"), MISSING)
def test_a_missing_required_parameter_gets_the_module_error(
    name: str, headers: dict[str, str], message: str
) -> None:
    h = logged_in()
    done, written = send(h, amiproto.Action(name, list(headers.items())))
    assert response_of(done).get("Response") == "Error"
    assert response_of(done).get("Message") == message
    ending = "\n\r\n\r\n" if (name, message) in ENDS_IN_LF else "\r\n\r\n"
    assert written.endswith(f"Message: {message}{ending}".encode())


@pytest.mark.parametrize(("builder", "message", "extra"), EMPTY_LISTS)
def test_typed_list_builders_get_an_empty_list_ending_in_their_completion_event(
    builder: Any, message: str, extra: list[tuple[str, str]]
) -> None:
    h = logged_in()
    done, _ = send(h, builder)
    assert done.complete and not done.timed_out
    assert response_of(done).get("Response") == "Success"
    assert response_of(done).get("EventList") == "start"
    assert response_of(done).get("Message") == message
    assert [event.name for event in done.events] == [builder.completion_event]
    closing = done.events[-1]
    assert closing.get("EventList") == "Complete"
    assert closing.get("ListItems") == "0"
    assert [(n, v) for n, v in closing.headers if n in ("Registered", "NotRegistered")] == extra


@pytest.mark.parametrize(
    "builder",
    [
        actions.PJSIPShowEndpoints(),
        actions.PJSIPShowEndpoint(endpoint="alice"),
        actions.PJSIPShowAors(),
        actions.PJSIPShowAuths(),
        actions.PJSIPShowContacts(),
        actions.PJSIPShowResourceLists(),
    ],
)
def test_typed_list_builders_answered_with_an_error_are_complete_at_once(builder: Any) -> None:
    # These modules refuse an empty list with an error, so no list (nor closing event) follows.
    done, _ = send(logged_in(), builder)
    assert done.complete and not done.timed_out
    assert response_of(done).get("Response") == "Error"
    assert not done.events


def test_show_maintenance_of_a_named_endpoint_reports_it_out_of_maintenance() -> None:
    done, _ = send(logged_in(), actions.PJSIPShowMaintenance(endpoint="alice", action_id="m-1"))
    assert [event.name for event in done.events] == [
        "PJSIPMaintenanceStatus",
        "PJSIPMaintenanceStatusComplete",
    ]
    status, closing = done.events
    assert [(n, v) for n, v in status.headers if n != "Event"] == [
        ("ActionID", "m-1"),
        ("Endpoint", "alice"),
        ("Status", "disabled"),
    ]
    assert closing.get("ListItems") == "1"


def test_pjsip_hangup_answers_as_the_hangup_helper_and_leaves_non_pjsip_channels_up() -> None:
    h = logged_in()
    originate = h.action(
        "Originate", Channel="Local/wait@default", Application="Wait", Data="25", Async="true"
    )
    assert response_of(originate).get("Response") == "Success"
    h.advance(0.1)
    names = list(h.session.world.pbx.channels)
    assert names
    done, _ = send(h, amiproto.Action("PJSIPHangup", Channel=names[0], Cause="486"))
    assert (response_of(done).get("Response"), response_of(done).get("Message")) == (
        "Success",
        "Channel Hungup",
    )
    # chan_pjsip's handler only logs "Not a PJSIP channel" for a Local channel.
    assert names[0] in h.session.world.pbx.channels
    listed, _ = send(h, amiproto.Action("PJSIPHangup", Channel="/^Local/"))
    assert response_of(listed).get("Message") == "Channels hung up will follow"
    assert [e.name for e in listed.events][-1] == "ChannelsHungupListComplete"
    assert {e.get("Channel") for e in listed.events[:-1]} == {n for n in names if n.startswith("Local")}
    assert set(names) <= set(h.session.world.pbx.channels)
    invalid, _ = send(h, amiproto.Action("PJSIPHangup", Channel="/(/"))
    assert response_of(invalid).get("Message") == "Invalid regex"

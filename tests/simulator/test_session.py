"""The sans-IO session: bytes in, bytes out, with the time passed in (no sockets, no sleeps)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

import amiproto
from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._session import Session
from amiproto_transports.simulator._world import Fault, World

USERS = {
    "admin": ("wordpass", "all", "all"),
    "readonly": ("readpass", "system,call,log,verbose,agent,user,config,dtmf,reporting,cdr,dialplan", ""),
}


class Harness:
    """A session fed with client bytes; its output parsed by the core's client side."""

    def __init__(self, world: World | None = None) -> None:
        self.world = world or World(users_from_mapping(USERS), start=100.0, wall_offset=1.7e9)
        self.now = 100.0
        self.session = Session(self.world, self.now)
        self.client = amiproto.Connection(action_id_prefix="h")
        self.items: list[Any] = []
        self.pump()

    def pump(self) -> bytes:
        self.world.advance(self.now)
        data = self.session.data_to_send(self.now)
        if data:
            self.client.receive_data(data)
        while (item := self.client.next_event()) is not amiproto.NEED_DATA:
            self.items.append(item)
        more = self.client.data_to_send()  # the core's own next step, e.g. the MD5 Login
        if more:
            self.session.receive_data(more, self.now)
            data += self.pump()
        return data

    def send_raw(self, raw: bytes) -> bytes:
        self.session.receive_data(raw, self.now)
        return self.pump()

    def action(self, name: str, pairs: list[tuple[str, str]] | None = None, **headers: str) -> Any:
        data = self.client.send(amiproto.Action(name, pairs or [], **headers))
        action_id = self.client.pending_action_ids[-1]
        self.session.receive_data(data, self.now)
        self.pump()
        return next(item for item in self.completed() if item.action_id == action_id)

    def completed(self) -> list[amiproto.ActionCompleted]:
        return [item for item in self.items if isinstance(item, amiproto.ActionCompleted)]

    def events(self, name: str | None = None) -> list[amiproto.Event]:
        return [i for i in self.items if isinstance(i, amiproto.Event) and name in (None, i.name)]

    def advance(self, seconds: float, step: float = 0.05) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            self.pump()

    def login(self, user: str = "admin", secret: str = "wordpass", **kwargs: Any) -> amiproto.LoginResult:
        self.session.receive_data(self.client.login(user, secret, **kwargs), self.now)
        self.pump()
        results = [item for item in self.items if isinstance(item, amiproto.LoginResult)]
        return results[-1]


def test_greeting_is_the_recorded_banner() -> None:
    h = Harness()
    assert isinstance(h.items[0], amiproto.Greeting)
    assert h.items[0].raw == b"Asterisk Call Manager/11.0.0\r\n"


@pytest.mark.parametrize("auth", ["plain", "md5"])
def test_login_accepted_then_fully_booted_and_successful_auth(auth: str) -> None:
    h = Harness()
    result = h.login(auth=auth)
    assert result.success and result.message == "Authentication accepted"
    assert [e.name for e in h.events()] == ["FullyBooted", "SuccessfulAuth"]
    assert h.events("SuccessfulAuth")[0].get("AccountID") == "admin"


def test_md5_key_is_checked_against_the_challenge() -> None:
    h = Harness()
    out = h.send_raw(b"Action: Challenge\r\nActionID: c\r\nAuthType: MD5\r\n\r\n")
    challenge = out.split(b"Challenge: ")[1].split(b"\r\n")[0]
    wrong = hashlib.md5(challenge + b"nope").hexdigest().encode()
    out = h.send_raw(
        b"Action: Login\r\nActionID: l\r\nAuthType: MD5\r\nUsername: admin\r\nKey: " + wrong + b"\r\n\r\n"
    )
    assert out == b"Response: Error\r\nActionID: l\r\nMessage: Authentication failed\r\n\r\n"
    assert h.session.closing


def test_bad_secret_answers_then_closes_and_ignores_the_rest() -> None:
    h = Harness()
    out = h.send_raw(
        b"Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: wrong\r\n\r\n"
        b"Action: Ping\r\nActionID: 2\r\n\r\n"
    )
    assert out == b"Response: Error\r\nActionID: 1\r\nMessage: Authentication failed\r\n\r\n"
    assert h.session.closing


def test_action_before_login_is_permission_denied() -> None:
    h = Harness()
    out = h.send_raw(b"Action: Ping\r\nActionID: early\r\n\r\n")
    assert out == b"Response: Error\r\nActionID: early\r\nMessage: Permission denied\r\n\r\n"
    assert not h.session.closing


def test_readonly_user_cannot_write_and_gets_no_security_events() -> None:
    h = Harness()
    assert h.login("readonly", "readpass", auth="plain").success
    assert [e.name for e in h.events()] == ["FullyBooted"]
    for name, headers in [
        ("Originate", {"Channel": "Local/wait@default", "Application": "Wait"}),
        ("Command", {"Command": "core show uptime"}),
    ]:
        done = h.action(name, list(headers.items()))
        assert done.response.status == "error" and done.response.message == "Permission denied"
    assert h.action("Ping").success


def test_ping_logoff_and_unknown_action_texts() -> None:
    h = Harness()
    h.login(auth="plain")
    ping = h.action("Ping").response
    assert ping.get("Ping") == "Pong" and float(ping.get("Timestamp")) > 1e9
    unknown = h.action("NoSuchAction").response
    assert unknown.message == (
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands."
    )
    assert h.events("RequestBadFormat")
    bye = h.action("Logoff").response
    assert bye.status == "goodbye" and bye.message == "Thanks for all the fish."
    assert h.session.closing


def test_events_off_then_mask_call() -> None:
    h = Harness()
    h.login(auth="plain", events=False)
    assert h.events() == []
    h.action("Originate", Channel="Local/echo@default", Application="Wait", Data="1", Async="true")
    h.advance(0.5)
    assert h.events() == []
    reply = h.action("Events", EventMask="call").response
    assert reply.get("Events") == "On"
    h.action("Originate", Channel="Local/echo@default", Application="Wait", Data="1", Async="true")
    h.advance(3)
    names = {e.name for e in h.events()}
    assert "Newchannel" in names and "Hangup" in names
    assert "Newexten" not in names and "VarSet" not in names  # dialplan class is masked out
    assert h.action("Events", EventMask="off").response.get("Events") == "Off"


def test_filter_lets_only_matching_events_through() -> None:
    h = Harness()
    h.login(auth="plain")
    done = h.action("Filter", Operation="Add", Filter="Event: Newchannel")
    assert done.response.message == "Success"
    h.action("Originate", Channel="Local/echo@default", Application="Wait", Data="1", Async="true")
    h.advance(3)
    after = h.events()[2:]
    assert [e.name for e in after] == ["Newchannel", "Newchannel"]


def test_originate_call_sequence_and_channels_listed_until_hangup() -> None:
    h = Harness()
    h.login(auth="plain")
    done = h.action(
        "Originate",
        [("Variable", "A=1"), ("Variable", "B=2")],
        Channel="Local/wait@default",
        Application="Wait",
        Data="3",
        Async="true",
        CallerID="Zo\u00eb <100>",
    )
    assert done.response.message == "Originate successfully queued"
    h.advance(0.2)
    names = [e.name for e in h.events()]
    for first, then in [
        ("Newchannel", "LocalBridge"),
        ("LocalBridge", "DialBegin"),
        ("DialBegin", "DialEnd"),
        ("DialEnd", "OriginateResponse"),
    ]:
        assert names.index(first) < names.index(then)
    response = h.events("OriginateResponse")[0]
    assert response.get("Response") == "Success" and response.get("CallerIDName") == "Zo\u00eb"
    assert response.action_id == done.action_id
    listed = h.action("CoreShowChannels")
    assert listed.is_list and [e.get("Channel") for e in listed.events[:-1]] == [
        "Local/wait@default-00000001;1",
        "Local/wait@default-00000001;2",
    ]
    assert listed.events[-1].get("ListItems") == "2"
    status = h.action("Status")
    assert len(status.events) == 3 and status.events[-1].name == "StatusComplete"
    uid = h.events("Newchannel")[0].get("Uniqueid")
    assert all(e.get("Linkedid") == uid for e in h.events("Newchannel"))
    h.advance(3.5)
    assert [e.name for e in h.events()][-4:] == [
        "SoftHangupRequest",
        "Hangup",
        "DeviceStateChange",
        "DeviceStateChange",
    ]
    assert h.action("CoreShowChannels").events[-1].get("ListItems") == "0"


def test_dial_extension_bridges_and_tears_down() -> None:
    h = Harness()
    h.login(auth="plain")
    h.action("Originate", Channel="Local/dial@default", Application="Wait", Data="10", Async="1")
    h.advance(4)
    names = [e.name for e in h.events()]
    order = ["BridgeCreate", "BridgeEnter", "UserEvent", "BridgeLeave", "BridgeDestroy", "Hangup"]
    positions = [names.index(name) for name in order]
    assert positions == sorted(positions)
    assert h.world.pbx.channels == {}


def test_synchronous_originate_holds_back_later_replies() -> None:
    h = Harness()
    h.login(auth="plain")
    h.items.clear()
    originate = amiproto.Action("Originate", Channel="Local/wait@default", Application="Wait", Data="20")
    ping = amiproto.Action("Ping")
    h.session.receive_data(h.client.send(originate) + h.client.send(ping), h.now)
    assert h.session.data_to_send(h.now) == b""  # nothing until the call is answered
    h.advance(0.1)
    done = h.completed()
    assert [d.action.name for d in done] == ["Originate", "Ping"]
    response = done[0].response
    assert response is not None and response.message == "Originate successfully queued"
    first_event = next(i for i, item in enumerate(h.items) if isinstance(item, amiproto.Event))
    assert first_event > 0  # the held events come after the Response


def test_synchronous_originate_to_missing_context_fails() -> None:
    h = Harness()
    h.login(auth="plain")
    done = h.action("Originate", Channel="Local/nonexistent@nocontext", Application="Wait", Data="1")
    assert done.response.status == "error" and done.response.message == "Originate failed"
    states = [e.get("State") for e in h.events("DeviceStateChange")]
    assert states == ["INVALID", "INVALID"]


def test_variables_database_userevent_and_commands() -> None:
    h = Harness()
    h.login(auth="plain")
    assert h.action("Setvar", Variable="GLOBALX", Value="v0:with: colons").response.message == "Variable Set"
    assert h.action("Getvar", Variable="GLOBALX").response.get("Value") == "v0:with: colons"
    assert (
        h.action("DBPut", Family="cap", Key="k", Val="v").response.message == "Updated database successfully"
    )
    got = h.action("DBGet", Family="cap", Key="k")
    assert [e.name for e in got.events] == ["DBGetResponse", "DBGetComplete"]
    assert got.events[0].get("Val") == "v"
    assert h.action("DBGet", Family="cap", Key="missing").response.message == "Database entry not found"
    assert h.action("DBDel", Family="cap", Key="k").success
    assert h.action("DBGet", Family="cap", Key="k").response.status == "error"
    sent = h.action("UserEvent", [("Header1", "a: b"), ("Header1", "dup")], UserEvent="Capture")
    assert sent.response.message == "Event Sent"
    user_event = h.events("UserEvent")[-1]
    assert user_event.headers.get_all("Header1") == ["a: b", "dup"]
    uptime = h.action("Command", Command="core show uptime").response
    assert uptime.output[0].startswith("System uptime: ")
    bad = h.action("Command", Command="no such command").response
    assert bad.status == "error"
    assert bad.output == [
        "No such command 'no such command' (type 'core show help no such' for other possible commands)"
    ]
    listed = h.action("ListCommands").response
    assert listed.get("Originate") == "Originate a call.  (Priv: originate,all)"


def test_hangup_by_name_and_by_regex() -> None:
    h = Harness()
    h.login(auth="plain")
    for _ in range(2):
        h.action("Originate", Channel="Local/wait@default", Application="Wait", Data="30", Async="true")
    h.advance(0.2)
    assert len(h.world.pbx.channels) == 4
    done = h.action("Hangup", Channel="Local/wait@default-00000001;1")
    assert done.response.message == "Channel Hungup"
    assert len(h.world.pbx.channels) == 2
    assert h.action("Hangup", Channel="Local/nope;1").response.message == "No such channel"
    listed = h.action("Hangup", Channel="/^Local/.*/")
    assert listed.is_list and listed.events[-1].get("ListItems") == "2"
    assert h.world.pbx.channels == {}


def test_per_session_fault_overrides_the_world() -> None:
    h = Harness()
    h.login(auth="plain")
    h.session.fault = Fault("cut_at_eof", {})
    raw = h.send_raw(b"Action: Ping\r\nActionID: x\r\n\r\n")
    assert raw and raw in b"Response: Success\r\nActionID: x\r\nPing: Pong\r\n" and h.session.closing


def test_unknown_fault_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("explode", {})


def test_core_show_channels_ends_with_calls_processed_and_core_status_counts_them() -> None:
    h = Harness()
    h.login(auth="plain")
    before = h.action("Command", Command="core show channels").response.output
    assert before[-3:] == ["0 active channels", "0 active calls", "0 calls processed"]
    assert h.action("CoreStatus").response.get("CoreProcessedCalls") == "0"
    for _ in range(2):
        h.action("Originate", Channel="Local/wait@default", Application="Wait", Data="30", Async="true")
    h.advance(0.2)
    during = h.action("Command", Command="core show channels").response.output
    assert len(during) == 1 + 4 + 3  # header, four Local channels, three counts
    assert during[-3:] == ["4 active channels", "2 active calls", "2 calls processed"]
    status = h.action("CoreStatus").response
    assert (status.get("CoreCurrentCalls"), status.get("CoreProcessedCalls")) == ("2", "2")
    h.action("Hangup", Channel="/^Local/")
    # Processed calls are a running total: hanging up does not lower it.
    assert h.action("CoreStatus").response.get("CoreProcessedCalls") == "2"
    after = h.action("Command", Command="core show channels").response.output
    assert after[-3:] == ["0 active channels", "0 active calls", "2 calls processed"]


def test_calls_processed_counts_every_channel_that_runs_the_dialplan() -> None:
    h = Harness()
    h.login(auth="plain")
    # ;2 runs "wait", and once answered ;1 runs "wait" too: two dialplan runs.
    h.action("Originate", Channel="Local/wait@default", Context="default", Exten="wait", Async="true")
    h.advance(0.2)
    status = h.action("CoreStatus").response
    assert (status.get("CoreCurrentCalls"), status.get("CoreProcessedCalls")) == ("2", "2")
    # "dial" runs on ;2 and dials Local/echo, whose ;2 runs "echo".
    h.action("Originate", Channel="Local/dial@default", Application="Wait", Data="10", Async="true")
    h.advance(0.2)
    assert h.action("CoreStatus").response.get("CoreProcessedCalls") == "4"
    # An extension that does not exist never runs.
    h.action("Originate", Channel="Local/nope@default", Application="Wait", Data="1", Async="true")
    h.advance(0.2)
    assert h.action("CoreStatus").response.get("CoreProcessedCalls") == "4"


def test_core_show_uptime_in_words_and_in_seconds() -> None:
    h = Harness()
    h.login(auth="plain")
    h.advance(61, step=1)
    words = h.action("Command", Command="core show uptime").response
    assert words.output == ["System uptime: 1 minute, 1 second", "Last reload: 1 minute, 1 second"]
    seconds = h.action("Command", Command="core show uptime seconds").response
    assert seconds.status == "success"
    assert seconds.output == ["System uptime: 61", "Last reload: 61"]


def _raw_action(h: Harness, name: str, action_id: str, **headers: str) -> bytes:
    lines = [f"Action: {name}", f"ActionID: {action_id}", *(f"{k}: {v}" for k, v in headers.items())]
    return h.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())


def test_list_categories_in_file_order() -> None:
    h = Harness()
    h.login(auth="plain")
    out = _raw_action(h, "ListCategories", "c1", Filename="extensions.conf")
    assert out == (
        b"Response: Success\r\nActionID: c1\r\nCategory-000000: general\r\nCategory-000001: default\r\n\r\n"
    )
    users = _raw_action(h, "ListCategories", "c2", Filename="/etc/asterisk/manager.conf")
    assert b"Category-000001: admin\r\nCategory-000002: readonly\r\n\r\n" in users
    # Match keeps the categories with a variable matching every name_regex=value_regex.
    out = _raw_action(h, "ListCategories", "c3", Filename="manager.conf", Match="write=^all$")
    assert out == b"Response: Success\r\nActionID: c3\r\nCategory-000000: admin\r\n\r\n"
    out = _raw_action(h, "ListCategories", "c4", Filename="queues.conf", Match="strategy=linear")
    assert out == b"Response: Success\r\nActionID: c4\r\nError: no categories found\r\n\r\n"


def test_get_config_lines_as_asterisk_writes_them() -> None:
    h = Harness()
    h.login(auth="plain")
    out = _raw_action(h, "GetConfig", "g1", Filename="queues.conf")
    assert out == (
        b"Response: Success\r\nActionID: g1\r\nCategory-000000: support\r\n"
        b"Line-000000-000000: strategy=ringall\r\nLine-000000-000001: member=Local/wait@default\r\n\r\n"
    )
    done = h.action("GetConfig", Filename="extensions.conf")
    headers = list(done.response.headers)
    assert headers[2:5] == [
        ("Category-000000", "general"),
        ("Line-000000-000000", "static=yes"),
        ("Category-000001", "default"),
    ]
    assert ("Line-000001-000000", "exten=echo,1,Answer()") in headers
    assert ("Line-000001-000002", "same=n,Set(CALLERID(name)=\u0132sbrand M\u00fcller)") in headers
    assert headers[-1] == ("Line-000001-000013", "same=n,Hangup()")
    # The served manager.conf is written for the users; an empty write class stays an empty value.
    manager = h.action("GetConfig", Filename="manager.conf", Category="READONLY").response
    assert list(manager.headers)[2:] == [
        ("Category-000000", "readonly"),
        ("Line-000000-000000", "secret=readpass"),
        ("Line-000000-000001", "deny=0.0.0.0/0.0.0.0"),
        ("Line-000000-000002", "permit=127.0.0.1/255.255.255.255"),
        ("Line-000000-000003", "read=" + USERS["readonly"][1]),
        ("Line-000000-000004", "write="),
        ("Line-000000-000005", "writetimeout=5000"),
    ]


def test_get_config_category_not_there_and_file_not_found() -> None:
    h = Harness()
    h.login(auth="plain")
    out = _raw_action(h, "GetConfig", "g1", Filename="queues.conf", Category="sales")
    assert out == b"Response: Success\r\nActionID: g1\r\nNo categories found\r\n\r\n"
    for action in ("GetConfig", "ListCategories"):
        for filename in ("sip.conf", "../manager.conf", "/tmp/queues.conf"):
            out = _raw_action(h, action, "x", Filename=filename)
            assert out == b"Response: Error\r\nActionID: x\r\nMessage: Config file not found\r\n\r\n"
        out = _raw_action(h, action, "y")
        assert out == b"Response: Error\r\nActionID: y\r\nMessage: Filename not specified\r\n\r\n"


def test_a_manager_conf_given_is_served_as_it_is() -> None:
    text = "[general]\nenabled = yes ; on\n\n[bob]\nsecret = s\nread = call\nwrite = config\n"
    users = {"bob": ("s", "call", "config")}
    h = Harness(World(users_from_mapping(users), start=100.0, wall_offset=1.7e9, manager_conf=text))
    h.login("bob", "s", auth="plain")
    out = _raw_action(h, "GetConfig", "g", Filename="manager.conf")
    assert out == (
        b"Response: Success\r\nActionID: g\r\nCategory-000000: general\r\nLine-000000-000000: enabled=yes\r\n"
        b"Category-000001: bob\r\nLine-000001-000000: secret=s\r\nLine-000001-000001: read=call\r\n"
        b"Line-000001-000002: write=config\r\n\r\n"
    )
    broken = World(users_from_mapping(users), start=100.0, wall_offset=1.7e9, manager_conf="[bob\n")
    h = Harness(broken)
    h.login("bob", "s", auth="plain")
    out = _raw_action(h, "ListCategories", "l", Filename="manager.conf")
    assert out == b"Response: Error\r\nActionID: l\r\nMessage: Config file has invalid format\r\n\r\n"


@pytest.mark.parametrize(
    ("write", "allowed"),
    [
        ("all", {"GetConfig", "ListCategories"}),
        ("config", {"GetConfig", "ListCategories"}),
        ("system", {"GetConfig"}),
        ("call,originate", set()),
    ],
)
def test_config_actions_need_the_config_write_class(write: str, allowed: set[str]) -> None:
    users = {"u": ("pw", "all", write)}
    h = Harness(World(users_from_mapping(users), start=100.0, wall_offset=1.7e9))
    h.login("u", "pw", auth="plain")
    for name in ("GetConfig", "ListCategories"):
        response = h.action(name, Filename="queues.conf").response
        if name in allowed:
            assert response.success and response.get("Category-000000") == "support", name
        else:
            assert (response.status, response.message) == ("error", "Permission denied"), name
    listed = h.action("ListCommands").response
    # Only the actions this user may run are listed (main/manager.c, action_listcommands).
    lines = {
        "GetConfig": "Retrieve configuration.  (Priv: system,config,all)",
        "ListCategories": "List categories in configuration file.  (Priv: config,all)",
    }
    for name, line in lines.items():
        assert listed.get(name) == (line if name in allowed else None), name


def test_config_actions_before_login_are_refused() -> None:
    h = Harness()
    out = _raw_action(h, "GetConfig", "early", Filename="manager.conf")
    assert out == b"Response: Error\r\nActionID: early\r\nMessage: Permission denied\r\n\r\n"


def test_originate_variables_are_read_as_asterisk_reads_them() -> None:
    h = Harness()
    h.login(auth="plain")
    originate = amiproto.actions.Originate(
        channel="Local/wait@default", application="Wait", data="3", async_=True, variable={"A": "1,B=yes"}
    )
    h.action("Originate", list(originate.headers))
    h.advance(0.2)
    (channel, *_) = h.world.pbx.channels.values()
    assert channel.variables.get("A") == "1,B=yes" and "B" not in channel.variables
    # Unescaped, a comma starts a second variable, as on a real Asterisk 22.
    h.action(
        "Originate",
        [("Variable", "C=1,D=yes")],
        Channel="Local/wait@default",
        Application="Wait",
        Data="3",
        Async="true",
    )
    h.advance(0.2)
    assert any(chan.variables.get("D") == "yes" for chan in h.world.pbx.channels.values())

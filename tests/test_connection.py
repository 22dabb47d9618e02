"""Correlation, lists, login, timers and errors of the client Connection."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto._server import GREETING

from .helpers import connected, drain, kind, reply

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def state_of(conn: amiproto.Connection) -> amiproto.State:
    """The state, read through a call so that mypy does not narrow it between steps."""
    return conn.state


def test_generated_action_ids_are_unique_and_prefixed() -> None:
    a, b = amiproto.Connection(), amiproto.Connection()
    first = a.send(amiproto.Action("Ping"))
    second = a.send(amiproto.Action("Ping"))
    other = b.send(amiproto.Action("Ping"))
    ids = {data.split(b"ActionID: ")[1].split(b"\r\n")[0] for data in (first, second, other)}
    assert len(ids) == 3


def test_given_action_id_is_kept_and_duplicates_refused() -> None:
    conn = connected()
    data = conn.send(amiproto.Action("Ping", ActionID="mine"))
    assert data == b"Action: Ping\r\nActionID: mine\r\n\r\n"
    assert conn.last_action_id == "mine"
    conn.send(amiproto.Action("Ping"))
    assert conn.last_action_id == "t-1"
    with pytest.raises(amiproto.LocalProtocolError, match="already waiting"):
        conn.send(amiproto.Action("Ping", ActionID="mine"))


def test_pairs_keep_order_and_duplicates() -> None:
    conn = connected()
    action = amiproto.Action(
        "Originate", [("Channel", "Local/100@default"), ("Variable", "A=1"), ("Variable", "B=2")]
    )
    assert conn.send(action) == (
        b"Action: Originate\r\nActionID: t-1\r\nChannel: Local/100@default\r\n"
        b"Variable: A=1\r\nVariable: B=2\r\n\r\n"
    )


def test_orphans_are_marked() -> None:
    conn = connected()
    items = reply(conn, "Response: Success\nActionID: nobody\n\nResponse: Success\n\n")
    assert all(isinstance(i, amiproto.Response) and i.orphan for i in items)
    conn.send(amiproto.Action("Ping"))
    items = reply(conn, "Response: Success\nActionID: t-1\n\n")
    assert isinstance(items[0], amiproto.Response) and not items[0].orphan
    assert isinstance(items[1], amiproto.ActionCompleted)


def test_event_list_completion_and_list_items_check() -> None:
    conn = connected()
    conn.send(amiproto.Action("Status"))
    items = reply(
        conn,
        "Response: Success\nActionID: t-1\nEventList: start\nMessage: Channel status will follow\n\n"
        "Event: Status\nActionID: t-1\nChannel: A\n\n"
        "Event: Newchannel\nChannel: B\n\n"
        "Event: StatusComplete\nActionID: t-1\nEventList: Complete\nListItems: 2\n\n",
    )
    names = [kind(i) for i in items]
    assert names == ["Response", "Event", "Event", "Event", "ActionCompleted"]
    done = items[-1]
    assert isinstance(done, amiproto.ActionCompleted)
    assert done.is_list and done.complete and done.success
    assert [e.name for e in done.events] == ["Status", "StatusComplete"]
    assert done.warnings == ("StatusComplete announced 2 items, 1 arrived",)


def test_legacy_list_without_event_list_header() -> None:
    conn = connected()
    conn.send(amiproto.Action("QueueStatus"))
    items = reply(
        conn,
        "Response: Success\nActionID: t-1\nMessage: Queue status will follow\n\n"
        "Event: QueueParams\nQueue: q\nActionID: t-1\n\n"
        "Event: QueueStatusComplete\nActionID: t-1\n\n",
    )
    done = items[-1]
    assert isinstance(done, amiproto.ActionCompleted) and done.is_list
    assert [e.name for e in done.events] == ["QueueParams", "QueueStatusComplete"]


def test_list_complete_event_named_by_the_action() -> None:
    conn = connected()
    conn.send(amiproto.Action("Agents", list_complete_event="AgentsComplete"))
    items = reply(
        conn,
        "Response: Success\nActionID: t-1\nMessage: Agents follow\n\n"
        "Event: Agents\nActionID: t-1\n\nEvent: AgentsComplete\nActionID: t-1\n\n",
    )
    done = items[-1]
    assert isinstance(done, amiproto.ActionCompleted) and len(done.events) == 2


def test_error_response_completes_a_list_action_at_once() -> None:
    conn = connected()
    conn.send(amiproto.Action("DBGet", Family="f", Key="missing"))
    items = reply(conn, "Response: Error\nActionID: t-1\nMessage: Database entry not found\n\n")
    done = items[-1]
    assert isinstance(done, amiproto.ActionCompleted) and not done.success and not done.is_list


def test_end_of_file_completes_pending_actions() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping"))
    conn.send(amiproto.Action("CoreShowChannels"))
    reply(
        conn,
        "Response: Success\nActionID: t-2\nEventList: start\n\nEvent: CoreShowChannel\nActionID: t-2\n\n",
    )
    conn.receive_data(b"")
    items = drain(conn)
    assert [type(i).__name__ for i in items] == ["ActionCompleted", "ActionCompleted", "ConnectionClosed"]
    assert all(isinstance(i, amiproto.ActionCompleted) and not i.complete for i in items[:2])
    closed = items[-1]
    assert isinstance(closed, amiproto.ConnectionClosed) and closed.pending == ("t-1", "t-2")
    assert conn.state is amiproto.State.CLOSED
    assert conn.next_event() is amiproto.NEED_DATA
    with pytest.raises(amiproto.LocalProtocolError):
        conn.send(amiproto.Action("Ping"))
    with pytest.raises(amiproto.LocalProtocolError):
        conn.receive_data(b"x")


def test_plain_login() -> None:
    conn = connected()
    data = conn.login("admin", "wordpass", auth="plain", events=False)
    assert data == (
        b"Action: Login\r\nActionID: t-1\r\nUsername: admin\r\nSecret: wordpass\r\nEvents: off\r\n\r\n"
    )
    assert conn.state is amiproto.State.LOGGING_IN
    items = reply(conn, "Response: Success\nActionID: t-1\nMessage: Authentication accepted\n\n")
    result = items[-1]
    assert isinstance(result, amiproto.LoginResult) and result.success
    assert conn.authenticated and state_of(conn) is amiproto.State.READY


def test_md5_login() -> None:
    conn = connected()
    data = conn.login("admin", "wordpass", events="call,system")
    assert data == b"Action: Challenge\r\nActionID: t-1\r\nAuthType: MD5\r\n\r\n"
    items = reply(conn, "Response: Success\nActionID: t-1\nChallenge: 843886124\n\n")
    assert not any(isinstance(i, amiproto.LoginResult) for i in items)
    key = hashlib.md5(b"843886124wordpass").hexdigest()
    assert (
        conn.data_to_send()
        == (
            f"Action: Login\r\nActionID: t-2\r\nAuthType: MD5\r\nUsername: admin\r\nKey: {key}\r\n"
            "Events: call,system\r\n\r\n"
        ).encode()
    )
    assert conn.data_to_send() == b""
    items = reply(conn, "Response: Success\nActionID: t-2\nMessage: Authentication accepted\n\n")
    assert isinstance(items[-1], amiproto.LoginResult) and items[-1].success
    assert items[-1].action_id == "t-1"  # the Challenge's: the ActionID login() sent


def test_failed_login() -> None:
    conn = connected()
    conn.login("admin", "wrong", auth="plain")
    items = reply(conn, "Response: Error\nActionID: t-1\nMessage: Authentication failed\n\n")
    result = items[-1]
    assert isinstance(result, amiproto.LoginResult)
    assert not result.success and result.message == "Authentication failed"
    assert result.action_id == "t-1"
    assert not conn.authenticated and state_of(conn) is amiproto.State.READY


def test_login_by_hand_like_pystrix() -> None:
    conn = connected()
    conn.send(amiproto.Action("Challenge", AuthType="MD5"))
    reply(conn, "Response: Success\nActionID: t-1\nChallenge: 1\n\n")
    conn.send(amiproto.Action("Login", AuthType="MD5", Username="admin", Key="k"))
    assert conn.state is amiproto.State.LOGGING_IN
    reply(conn, "Response: Success\nActionID: t-2\nMessage: Authentication accepted\n\n")
    assert conn.authenticated and conn.username == "admin"
    assert state_of(conn) is amiproto.State.READY


def test_actions_before_login_are_sent() -> None:
    conn = amiproto.Connection()
    assert conn.send(amiproto.Action("Ping")).startswith(b"Action: Ping\r\n")


def test_logoff_and_goodbye() -> None:
    conn = connected()
    conn.send(amiproto.Action("Logoff"))
    assert conn.state is amiproto.State.CLOSING
    items = reply(conn, "Response: Goodbye\nActionID: t-1\nMessage: Thanks for all the fish.\n\n")
    assert isinstance(items[-1], amiproto.ActionCompleted) and items[-1].success


def test_action_timeout() -> None:
    conn = connected()
    with pytest.raises(amiproto.LocalProtocolError, match="now"):
        conn.send(amiproto.Action("Ping"), timeout=5)
    conn.send(amiproto.Action("Ping"), timeout=5, now=100.0)
    assert conn.next_deadline() == 105.0
    conn.handle_timer(104.9)
    assert drain(conn) == []
    conn.handle_timer(105.0)
    (done,) = drain(conn)
    assert isinstance(done, amiproto.ActionCompleted) and done.timed_out and not done.complete
    late = reply(conn, "Response: Success\nActionID: t-1\n\n")
    assert isinstance(late[0], amiproto.Response) and late[0].orphan


def test_keepalive_pings_when_idle_and_declares_a_silent_peer_dead() -> None:
    conn = amiproto.Connection(action_id_prefix="t", keepalive_interval=10, keepalive_timeout=5)
    conn.receive_data(GREETING, now=0.0)
    drain(conn)
    assert conn.next_deadline() == 10.0
    conn.receive_data(b"Event: X\r\n\r\n", now=4.0)
    assert conn.next_deadline() == 14.0
    conn.handle_timer(14.0)
    ping = conn.data_to_send()
    assert ping.startswith(b"Action: Ping\r\nActionID: t-keepalive-")
    assert conn.next_deadline() == 19.0
    conn.handle_timer(19.0)
    items = drain(conn)
    assert isinstance(items[-1], amiproto.ConnectionClosed)
    assert "keepalive" in items[-1].reason
    assert conn.state is amiproto.State.CLOSED
    assert conn.next_deadline() is None


def test_keepalive_answer_keeps_the_connection() -> None:
    conn = amiproto.Connection(action_id_prefix="t", keepalive_interval=10)
    conn.receive_data(GREETING, now=0.0)
    conn.handle_timer(10.0)
    ping_id = conn.data_to_send().split(b"ActionID: ")[1].split(b"\r\n")[0].decode()
    conn.receive_data(f"Response: Success\r\nActionID: {ping_id}\r\nPing: Pong\r\n\r\n".encode(), now=11.0)
    items = drain(conn)
    assert isinstance(items[-1], amiproto.ActionCompleted) and items[-1].success
    assert conn.next_deadline() == 21.0
    conn.handle_timer(20.0)
    assert state_of(conn) is amiproto.State.READY


def test_response_cut_by_end_of_file_is_not_complete() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping"))
    conn.receive_data(b"Response: Success\r\nActionID: t-1\r\nPing: Po")
    conn.receive_data(b"")
    items = drain(conn)
    response, done, closed = items
    assert isinstance(response, amiproto.Response) and response.truncated
    assert isinstance(done, amiproto.ActionCompleted) and not done.complete and not done.success
    assert isinstance(closed, amiproto.ConnectionClosed) and closed.pending == ()


def test_deadlines_follow_completions() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping"), timeout=5, now=0.0)
    conn.send(amiproto.Action("Ping"), timeout=9, now=0.0)
    assert conn.next_deadline() == 5.0
    reply(conn, "Response: Success\nActionID: t-1\n\n")
    assert conn.next_deadline() == 9.0
    conn.handle_timer(9.0)
    (done,) = drain(conn)
    assert isinstance(done, amiproto.ActionCompleted) and done.action_id == "t-2" and done.timed_out
    assert conn.next_deadline() is None
    # A reused ActionID gets its own deadline, not the old one's.
    conn.send(amiproto.Action("Ping", ActionID="t-1"), timeout=20, now=10.0)
    assert conn.next_deadline() == 30.0


def test_next_events_gives_what_next_event_gives() -> None:
    stream = GREETING + b"Event: A\r\n\r\nResponse: Success\r\nActionID: x\r\n\r\nEvent: B\n\nEvent: C"
    one = amiproto.Connection(action_id_prefix="t")
    batch = amiproto.Connection(action_id_prefix="t")
    for conn in (one, batch):
        conn.receive_data(stream)
        conn.receive_data(b"")
    singles = drain(one)
    assert batch.next_events() == singles
    assert batch.next_events() == []


def test_next_events_hands_out_items_before_an_error() -> None:
    conn = amiproto.Connection(max_message_size=64, max_buffer_size=1024)
    conn.receive_data(b"Event: A\r\n\r\nEvent: Big\r\nData: " + b"x" * 100)
    items = conn.next_events()
    assert [i.name for i in items if isinstance(i, amiproto.Event)] == ["A"]
    with pytest.raises(amiproto.RemoteProtocolError):
        conn.next_events()
    assert conn.state is amiproto.State.ERROR


def test_login_without_an_answer_is_not_a_refusal() -> None:
    conn = connected()
    conn.login("admin", "wordpass", timeout=5, now=0.0)
    reply(conn, "Response: Success\nActionID: t-1\nChallenge: 42\n\n")
    assert conn.data_to_send().startswith(b"Action: Login\r\n")
    assert conn.next_deadline() == 5.0  # the Login step has its own timeout
    conn.handle_timer(5.0)
    result = drain(conn)[-1]
    assert isinstance(result, amiproto.LoginResult)
    assert not result.success and not result.answered and result.timed_out
    closing = connected()
    closing.login("admin", "wordpass", auth="plain")
    closing.receive_data(b"")
    items = drain(closing)
    lost = next(i for i in items if isinstance(i, amiproto.LoginResult))
    assert not lost.answered and not lost.timed_out and "ended" in (lost.message or "")


def test_event_names_are_learned_once_and_the_cache_is_bounded() -> None:
    from amiproto import _connection, events

    conn = connected()
    names = [f"Custom{i}" for i in range(_connection._EVENT_NAME_CACHE_SIZE + 10)]
    conn.receive_data(b"".join(f"Event: {name}\r\n\r\n".encode() for name in [*names, "Newchannel"]))
    items = conn.next_events()
    assert [i.name for i in items if isinstance(i, amiproto.Event)] == [*names, "Newchannel"]
    assert type(items[-1]) is events.Newchannel
    assert len(conn._event_names) == _connection._EVENT_NAME_CACHE_SIZE


def test_action_id_as_the_first_header_still_correlates() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping", ActionID="p1"))
    conn.send(amiproto.Action("Status", ActionID="s1"))
    items = reply(
        conn,
        "ActionID: p1\nResponse: Success\n\n"
        "ActionID: s1\nResponse: Success\nEventList: start\n\n"
        "ActionID: s1\nEvent: Status\n\n"
        "Event: StatusComplete\nActionID: s1\nEventList: Complete\nListItems: 1\n\n",
    )
    done = [i for i in items if isinstance(i, amiproto.ActionCompleted)]
    assert [d.action_id for d in done] == ["p1", "s1"]
    assert [e.name for e in done[1].events] == ["Status", "StatusComplete"]
    assert not done[1].warnings


def test_keepalive_answer_counts_even_without_now_on_receive() -> None:
    conn = amiproto.Connection(action_id_prefix="t", keepalive_interval=10)
    conn.receive_data(GREETING, now=0.0)
    conn.handle_timer(10.0)
    ping_id = conn.data_to_send().split(b"ActionID: ")[1].split(b"\r\n")[0].decode()
    conn.receive_data(f"Response: Success\r\nActionID: {ping_id}\r\nPing: Pong\r\n\r\n".encode())
    drain(conn)
    conn.handle_timer(20.5)
    assert not any(isinstance(i, amiproto.ConnectionClosed) for i in drain(conn))
    assert state_of(conn) is amiproto.State.READY


def test_the_login_secret_is_not_kept() -> None:
    conn = connected()
    conn.login("admin", "s3cr3t", auth="plain")
    assert "s3cr3t" not in repr(conn.__dict__)


# -- a list that never completes -----------------------------------------------


def status_items(action_id: str, count: int) -> str:
    return "".join(f"Event: Status\nActionID: {action_id}\nChannel: C{i}\n\n" for i in range(count))


def test_a_list_past_max_list_events_fails_and_the_connection_goes_on() -> None:
    conn = connected(max_list_events=3)
    conn.send(amiproto.Action("Status"))
    items = reply(conn, "Response: Success\nActionID: t-1\nEventList: start\n\n" + status_items("t-1", 5))
    kinds = [kind(i) for i in items]
    assert kinds == ["Response", "Event", "Event", "Event", "Event", "ActionCompleted", "Event"]
    done = items[5]
    assert isinstance(done, amiproto.ActionCompleted)
    assert done.too_many_events and not done.complete and not done.timed_out and not done.success
    # The items collected before the limit are kept; the rest flow as ordinary events.
    assert [e.get("Channel") for e in done.events] == ["C0", "C1", "C2"]
    assert conn.pending_action_ids == []
    end = "Event: StatusComplete\nActionID: t-1\nEventList: Complete\n\n"
    later = reply(conn, status_items("t-1", 2) + end)
    assert [kind(i) for i in later] == ["Event", "Event", "Event"]
    conn.send(amiproto.Action("Ping"))
    (_, ping) = reply(conn, "Response: Success\nActionID: t-2\nPing: Pong\n\n")
    assert isinstance(ping, amiproto.ActionCompleted) and ping.success and not ping.too_many_events


def test_a_list_of_exactly_max_list_events_items_completes() -> None:
    conn = connected(max_list_events=2)
    conn.send(amiproto.Action("Status"))
    items = reply(
        conn,
        "Response: Success\nActionID: t-1\nEventList: start\n\n"
        + status_items("t-1", 2)
        + "Event: StatusComplete\nActionID: t-1\nEventList: Complete\nListItems: 2\n\n",
    )
    done = items[-1]
    assert isinstance(done, amiproto.ActionCompleted)
    assert done.complete and done.success and not done.too_many_events and done.warnings == ()
    assert len(done.events) == 3


def test_max_list_events_default_and_validation() -> None:
    assert amiproto.Connection().max_list_events == 100_000
    for bad in (0, -1, True, 1.5, "10", None):
        with pytest.raises(amiproto.LocalProtocolError, match="max_list_events"):
            amiproto.Connection(max_list_events=bad)  # type: ignore[arg-type]


def test_list_too_long_is_an_ami_error() -> None:
    assert issubclass(amiproto.ListTooLong, amiproto.AMIError)
    assert "ListTooLong" in amiproto.__all__


# -- bad input from the program: refused at the call, nothing left pending ------

BAD_CHARACTERS = ["\r", "\n", "\0"]


def assert_untouched(conn: amiproto.Connection) -> None:
    """Nothing pending, nothing queued, and the connection still works."""
    assert conn.pending_action_ids == []
    assert conn.data_to_send() == b""
    assert conn.next_deadline() is None
    assert state_of(conn) is amiproto.State.READY
    assert conn.send(amiproto.Action("Ping")).startswith(b"Action: Ping\r\nActionID: t-1\r\n")


@pytest.mark.parametrize("auth", ["md5", "plain"])
@pytest.mark.parametrize("bad", BAD_CHARACTERS)
@pytest.mark.parametrize("where", ["username", "secret", "events"])
def test_login_refuses_cr_lf_nul_before_any_byte(auth: str, bad: str, where: str) -> None:
    conn = connected()
    values = {"username": "admin", "secret": "wordpass", "events": "call,system"}
    values[where] += bad + "Action: Originate"
    with pytest.raises(amiproto.LocalProtocolError) as refused:
        conn.login(values["username"], values["secret"], auth=auth, events=values["events"], timeout=5, now=0)
    assert "wordpass" not in str(refused.value)
    assert_untouched(conn)


@pytest.mark.parametrize("auth", ["md5", "plain"])
def test_login_refuses_values_that_are_not_text(auth: str) -> None:
    for username, secret, events in [(None, "s", None), ("u", b"s", None), ("u", "s", 1), ("u", "s", b"on")]:
        conn = connected()
        with pytest.raises(amiproto.LocalProtocolError):
            conn.login(username, secret, auth=auth, events=events)  # type: ignore[arg-type]
        assert_untouched(conn)


@pytest.mark.parametrize("auth", ["md5", "plain"])
@pytest.mark.parametrize("where", ["username", "secret", "events"])
def test_login_refuses_values_the_encoding_cannot_carry(auth: str, where: str) -> None:
    conn = connected()
    values = {"username": "admin", "secret": "wordpass", "events": "on"}
    values[where] = values[where] + "\ud800"
    with pytest.raises(amiproto.LocalProtocolError, match="cannot be encoded") as refused:
        conn.login(values["username"], values["secret"], auth=auth, events=values["events"])
    assert "wordpass" not in str(refused.value) and refused.value.__cause__ is None
    assert_untouched(conn)


def test_md5_login_with_escaped_bytes_in_the_secret_hashes_those_bytes() -> None:
    conn = connected()
    secret = b"caf\xe9".decode("utf-8", "surrogateescape")  # a latin-1 secret, not UTF-8
    conn.login("admin", secret)
    reply(conn, "Response: Success\nActionID: t-1\nChallenge: 42\n\n")
    key = hashlib.md5(b"42caf\xe9").hexdigest()
    assert f"Key: {key}\r\n".encode() in conn.data_to_send()


def test_send_refuses_an_unencodable_value_and_keeps_no_trace() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping"), timeout=1, now=0.0)
    before = conn.next_deadline()
    with pytest.raises(amiproto.LocalProtocolError, match="'Channel' cannot be encoded in utf-8") as refused:
        conn.send(amiproto.Action("Hangup", Channel="SIP/\ud800"), timeout=5, now=0.0)
    assert not isinstance(refused.value, UnicodeError)
    assert conn.pending_action_ids == ["t-1"] and conn.next_deadline() == before
    assert conn.last_action_id == "t-1"
    # The refused action took no ActionID: the next one is t-2.
    assert conn.send(amiproto.Action("Ping")).startswith(b"Action: Ping\r\nActionID: t-2\r\n")
    with pytest.raises(amiproto.LocalProtocolError, match="<redacted>"):
        conn.send(amiproto.Action("Login", Username="u", Secret="x\udfff"))
    assert state_of(conn) is amiproto.State.READY


def test_escaped_bytes_go_out_as_the_bytes_they_stand_for() -> None:
    conn = connected()
    value = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert b"Channel: caf\xe9\r\n" in conn.send(amiproto.Action("Hangup", Channel=value))


def test_a_character_outside_a_narrow_encoding_is_refused() -> None:
    conn = connected(encoding="ascii")
    with pytest.raises(amiproto.LocalProtocolError, match="ascii"):
        conn.send(amiproto.Action("Hangup", Channel="caf\u00e9"))
    assert conn.pending_action_ids == []
    with pytest.raises(amiproto.LocalProtocolError, match="ActionID"):
        amiproto.Connection(encoding="ascii", action_id_prefix="\u00e9")


def test_a_refused_action_does_not_move_the_state() -> None:
    conn = connected()
    with pytest.raises(amiproto.LocalProtocolError):
        conn.send(amiproto.Action("Login", Username="\ud800", Secret="s"))
    assert state_of(conn) is amiproto.State.READY
    with pytest.raises(amiproto.LocalProtocolError):
        conn.send(amiproto.Action("Logoff", Extra="\ud800"))
    assert state_of(conn) is amiproto.State.READY


# -- an error from the server reaches the caller, whichever loop shape ---------

OVERSIZED = b"Event: A\r\n\r\nEvent: Big\r\nData: " + b"x" * 100


def test_error_reaches_a_next_event_loop() -> None:
    conn = amiproto.Connection(max_message_size=64, max_buffer_size=1024)
    conn.receive_data(OVERSIZED)
    first = conn.next_event()
    assert isinstance(first, amiproto.Event) and first.name == "A"
    with pytest.raises(amiproto.RemoteProtocolError, match="max_message_size") as original:
        conn.next_event()
    for later in (conn.next_event, conn.next_events, lambda: conn.receive_data(b"more")):
        with pytest.raises(amiproto.RemoteProtocolError, match="max_message_size") as again:
            later()
        assert again.value.__cause__ is original.value


def test_error_reaches_the_readme_next_events_loop() -> None:
    """The README loop: receive_data, then next_events, until something raises."""
    conn = amiproto.Connection(max_message_size=64, max_buffer_size=1024)
    chunks = iter([OVERSIZED, b"x" * 10, b""])
    seen: list[amiproto.Item] = []
    with pytest.raises(amiproto.RemoteProtocolError, match="max_message_size") as caught:
        for chunk in chunks:
            conn.receive_data(chunk)
            seen.extend(conn.next_events())
    assert [i.name for i in seen if isinstance(i, amiproto.Event)] == ["A"]
    assert isinstance(caught.value.__cause__, amiproto.RemoteProtocolError)
    assert "max_message_size" in str(caught.value.__cause__)


def test_error_in_receive_data_reaches_later_calls() -> None:
    conn = amiproto.Connection(max_message_size=100, max_buffer_size=150)
    with pytest.raises(amiproto.RemoteProtocolError, match="max_buffer_size") as original:
        conn.receive_data(b"Event: A\r\n\r\n" * 20)
    with pytest.raises(amiproto.RemoteProtocolError, match="max_buffer_size") as again:
        conn.next_events()
    assert again.value.__cause__ is original.value


@given(
    st.lists(
        st.one_of(
            st.tuples(
                st.just("send"), st.sampled_from([None, 1, 5, 30]), st.sampled_from([0.0, 2.0, 4.0, 10.0])
            ),
            st.tuples(st.just("answer"), st.integers(1, 12)),
            st.tuples(st.just("timer"), st.sampled_from([1.0, 5.0, 9.0, 20.0, 50.0])),
        ),
        max_size=25,
    )
)
def test_actions_time_out_soonest_first_however_their_deadlines_come(
    steps: list[tuple[Any, ...]],
) -> None:
    """Deadlines in order (one timeout, a clock that goes on) and out of order (a
    shorter timeout after a longer one, a clock that went back) are kept apart
    inside; ``next_deadline`` and ``handle_timer`` still see them as one list,
    soonest first, ties in the order sent, answered actions left out."""
    conn = connected()
    model: dict[str, tuple[float, int]] = {}  # pending with a deadline: id -> (deadline, order)
    sent = 0
    for step in steps:
        if step[0] == "send":
            _, timeout, now = step
            conn.send(amiproto.Action("Ping"), timeout=timeout, now=now)
            sent += 1
            if timeout is not None:
                model[f"t-{sent}"] = (now + timeout, sent)
        elif step[0] == "answer":
            if step[1] <= sent:
                reply(conn, f"Response: Success\nActionID: t-{step[1]}\n\n")
                model.pop(f"t-{step[1]}", None)
        else:
            conn.handle_timer(step[1])
            timed_out = [item.action_id for item in drain(conn) if isinstance(item, amiproto.ActionCompleted)]
            due = sorted((when, order, name) for name, (when, order) in model.items() if when <= step[1])
            assert timed_out == [action_id for _, _, action_id in due]
            for action_id in timed_out:
                del model[action_id]
        assert conn.next_deadline() == min((when for when, _ in model.values()), default=None)

"""Session: the core plus the adapter's waiters, without sockets; and the error mapping."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import amiproto
from amiproto import Action
from amiproto.live import PBX
from amiproto_transports._shared import Batch, Options, Session, _session, outcome

GREETING = b"Asterisk Call Manager/11.0.0\r\n"


def kinds(batch: Batch[str]) -> list[str]:
    """What ``batch`` delivers: each message's kind (a live model's change by its class)."""
    return [m.kind if isinstance(m, amiproto.Message) else type(m).__name__ for m in batch.deliver]


def feed(session: Session[str], text: str) -> object:
    return session.receive(text.encode(), now=1.0)


def test_session_routes_items_and_maps_errors() -> None:
    session: Session[str] = Session(Options("h", timeout=None))
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    action_id, data = session.send(Action("Ping"), None, 1.0, "ping-waiter")
    assert data.startswith(b"Action: Ping\r\nActionID: ")
    batch = session.receive(
        f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n\r\n"
        "Response: Success\r\nActionID: stray\r\n\r\nEvent: FullyBooted\r\n\r\n".encode(),
        now=1.0,
    )
    assert [waiter for waiter, _ in batch.completed] == ["ping-waiter"]
    assert outcome(batch.completed[0][1]).success
    assert kinds(batch) == ["response", "event"]
    assert [e.name for e in batch.deliver if isinstance(e, amiproto.Event)] == ["FullyBooted"]

    login_id, _ = session.send(Action("Login", Username="u", Secret="s"), None, 1.0, "login")
    filter_id, _ = session.send(Action("Filter", Operation="Add", Filter="x"), None, 1.0, "f")
    timed_id, _ = session.send(Action("Ping"), 0.5, 1.0, "timed")
    batch = session.receive(
        f"Response: Error\r\nActionID: {login_id}\r\nMessage: Authentication failed\r\n\r\n".encode(), 1.0
    )
    with pytest.raises(amiproto.AuthenticationError):
        outcome(batch.completed[0][1])
    timer = session.timer(2.0)
    assert [w for w, _ in timer.completed] == ["timed"]
    with pytest.raises(amiproto.ActionTimeout):
        outcome(timer.completed[0][1])
    end = session.receive(b"", 2.0)
    assert end.closed == "end of file"
    assert [w for w, _ in end.completed] == ["f"]
    with pytest.raises(amiproto.ConnectionLost):
        outcome(end.completed[0][1])
    assert [a.name for a in session.reapply] == ["Filter"]
    assert session.reapply[0].action_id is None
    with pytest.raises(amiproto.ConnectionLost):
        session.send(Action("Ping"), None, 3.0, "late")
    assert filter_id != timed_id


def test_session_protocol_error_and_fail_all() -> None:
    session: Session[str] = Session(Options("h"))
    session.conn = amiproto.Connection(max_message_size=64, max_buffer_size=128)
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    session.send(Action("Ping"), None, 1.0, "w1")
    batch = session.receive(b"Event: X\r\nData: " + b"y" * 500, 1.0)
    assert batch.closed is not None and batch.closed.startswith("protocol error")
    assert session.fail_all() == ["w1"]
    assert session.receive(b"more", 1.0).closed == batch.closed


def session_with_queued_ping() -> Session[str]:
    """A session whose core has queued a keepalive Ping that nobody has taken yet."""
    session: Session[str] = Session(Options("h", timeout=None, keepalive=1.0))
    session.receive(GREETING, now=0.0)
    session.conn.handle_timer(5.0)  # not session.timer(), which would take the bytes
    return session


def test_refused_send_keeps_what_the_core_queued_and_the_next_send_puts_it_first() -> None:
    session = session_with_queued_ping()
    session.conn.send(Action("Ping", ActionID="taken"))  # so that the next one is a duplicate
    with pytest.raises(amiproto.LocalProtocolError):
        session.send(Action("Ping", ActionID="taken"), None, 5.0, "refused")
    assert "taken" not in session.waiters
    _, data = session.send(Action("Ping", ActionID="next"), None, 5.0, "next")
    # the core's order: its own Ping was made first, so it goes first on the wire
    assert b"keepalive" in data
    assert data.index(b"keepalive") < data.index(b"ActionID: next\r\n")
    assert data.endswith(b"ActionID: next\r\n\r\n")
    assert session.outgoing() == b""


def test_refused_login_keeps_what_the_core_queued() -> None:
    session = session_with_queued_ping()
    with pytest.raises(amiproto.LocalProtocolError):
        session.login("u", "s", auth="sha1", events=None, timeout=None, now=5.0, waiter="w")
    assert session.login_waiter is None
    queued = session.outgoing()
    assert queued.startswith(b"Action: Ping\r\n") and b"keepalive" in queued


def test_login_puts_what_the_core_queued_first() -> None:
    session = session_with_queued_ping()
    data = session.login("u", "s", auth="md5", events=None, timeout=None, now=5.0, waiter="w")
    assert data.startswith(b"Action: Ping\r\n")
    assert data.index(b"keepalive") < data.index(b"Action: Challenge\r\n")
    assert session.outgoing() == b""


def test_a_read_of_only_events_and_a_mixed_read_deliver_alike() -> None:
    events = "".join(f"Event: E{i}\r\nN: {i}\r\n\r\n" for i in range(5))
    mixed = events + "Response: Success\r\nActionID: stray\r\n\r\n" + events
    for text, expected in ((events, ["event"] * 5), (mixed, ["event"] * 5 + ["response"] + ["event"] * 5)):
        session: Session[str] = Session(Options("h", timeout=None))
        feed(session, "Asterisk Call Manager/11.0.0\r\n")
        batch = session.receive(text.encode(), now=1.0)
        assert kinds(batch) == expected
        assert [m.get("N") for m in batch.deliver if isinstance(m, amiproto.Event)] == [
            str(i) for i in range(5)
        ] * (expected.count("event") // 5)


def test_the_trace_of_a_line_split_across_reads_shows_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    session: Session[str] = Session(Options("h", timeout=None, trace=True))
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        feed(session, "Response: Success\r\nActionID: 1\r\nLine-000000-000000: sec")
        feed(session, "ret=hunter2\r\n\r\n")
    assert "hunter2" not in caplog.text
    assert "secret=<redacted>" in caplog.text


def test_a_connection_proves_itself_by_a_message_beyond_greeting_and_relogin() -> None:
    session: Session[str] = Session(Options("h", timeout=None))
    session.login("u", "s", auth="plain", events=None, timeout=None, now=1.0, waiter="w")
    assert session.fail_all() == ["w"]  # the connection is lost
    session.reset()  # and made again: the re-login is the session's own
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    session.start_relogin(1.0)
    assert not session.proven
    feed(session, f"Response: Success\r\nActionID: {session.conn.last_action_id}\r\n\r\n")
    assert not session.proven  # the re-login's own answer proves nothing
    feed(session, "Event: FullyBooted\r\n\r\n")
    assert session.proven
    session.reset()
    assert not session.proven


# -- the live model --


def action_ids(data: bytes) -> dict[str, str]:
    """The ActionID of each action in ``data``, by action name."""
    ids: dict[str, str] = {}
    for block in data.decode().split("\r\n\r\n"):
        headers = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
        if "Action" in headers:
            ids[headers["Action"]] = headers["ActionID"]
    return ids


def logged_in_live(wall: float = 1234.5, timeout: float | None = None) -> tuple[Session[str], dict[str, str]]:
    """A live session whose login "login" was accepted: the snapshot's ActionIDs by action name."""
    session: Session[str] = Session(Options("h", timeout=timeout, live=True), wall_clock=lambda: wall)
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    data = session.login("u", "s", auth="plain", events=True, timeout=timeout, now=1.0, waiter="login")
    login_id = action_ids(data)["Login"]
    batch = feed(
        session, f"Response: Success\r\nActionID: {login_id}\r\nMessage: Authentication accepted\r\n\r\n"
    )
    assert isinstance(batch, Batch)
    assert batch.logins == [] and batch.completed == []  # held until the snapshot is in
    ids = action_ids(batch.outgoing)
    assert sorted(ids) == sorted(a.name for a in PBX().snapshot_actions())
    return session, ids


def empty_list(action_id: str, complete: str) -> str:
    return (
        f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\nMessage: List will follow\r\n\r\n"
        f"Event: {complete}\r\nActionID: {action_id}\r\nEventList: Complete\r\nListItems: 0\r\n\r\n"
    )


def test_a_live_login_is_answered_once_the_snapshot_is_applied() -> None:
    session, ids = logged_in_live()
    live = session.live_model()
    channel = (
        "Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/a-1\r\nUniqueid: a.1\r\n"
        "Linkedid: a.1\r\nChannelState: 6\r\nChannelStateDesc: Up\r\n\r\n"
    )
    listed = (
        f"Response: Success\r\nActionID: {ids['CoreShowChannels']}\r\nEventList: start\r\n\r\n"
        + channel.format(id=ids["CoreShowChannels"])
        + f"Event: CoreShowChannelsComplete\r\nActionID: {ids['CoreShowChannels']}\r\nEventList: Complete\r\n"
        "ListItems: 1\r\n\r\n"
    )
    batch = session.receive(listed.encode(), 2.0)
    # The snapshot's items are not delivered; its changes are.
    assert [type(m).__name__ for m in batch.deliver] == ["ChannelAdded", "CallAdded", "CallChanged"]
    assert not live.synced and batch.logins == []
    answers = [empty_list(ids[name], f"{name}Complete") for name in ("BridgeList", "DeviceStateList")]
    answers += [
        f"Response: Error\r\nActionID: {ids[name]}\r\nMessage: Invalid/unknown command\r\n\r\n"
        for name in ("QueueStatus", "ExtensionStateList")
    ]
    batch = session.receive("".join(answers).encode(), 2.0)
    assert live.synced  # error answers complete their actions
    assert [(waiter, result.success) for waiter, result in batch.logins] == [("login", True)]
    assert session.login_waiter is None

    # Events are applied where they are routed, stamped with the wall clock, each change
    # delivered right after its event.
    batch = feed(session, "Event: Newchannel\r\nChannel: PJSIP/b-2\r\nUniqueid: b.2\r\nLinkedid: b.2\r\n\r\n")
    assert isinstance(batch, Batch)
    assert kinds(batch) == ["event", "ChannelAdded", "CallAdded"]
    assert live.channels["b.2"].created == 1234.5
    assert set(live.channels) == {"a.1", "b.2"}
    session.lose("read failed")
    assert not live.synced


def test_a_snapshot_that_times_out_fails_the_login_with_its_outcome() -> None:
    session, _ = logged_in_live(timeout=5.0)
    assert session.deadline() == 6.0  # what is left of the login's own timeout
    batch = session.timer(6.0)
    assert batch.logins == []
    assert [waiter for waiter, _ in batch.completed] == ["login"]
    with pytest.raises(amiproto.ActionTimeout):
        outcome(batch.completed[0][1])
    assert session.login_waiter is None and not session.live_model().synced


def test_a_connection_lost_during_the_snapshot_fails_the_login() -> None:
    session, _ = logged_in_live()
    session.lose("read failed")
    assert session.fail_all() == ["login"]


def test_the_rest_of_a_snapshot_list_given_up_at_max_list_events_is_not_delivered() -> None:
    session: Session[str] = Session(Options("h", timeout=None, live=True, max_list_events=1))
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    data = session.login("u", "s", auth="plain", events=True, timeout=None, now=1.0, waiter="login")
    batch = session.receive(
        f"Response: Success\r\nActionID: {action_ids(data)['Login']}\r\n\r\n".encode(), 1.0
    )
    device_list = action_ids(batch.outgoing)["DeviceStateList"]
    items = "".join(
        f"Event: DeviceStateChange\r\nActionID: {device_list}\r\nDevice: D{n}\r\nState: INUSE\r\n\r\n"
        for n in range(3)
    )
    end = f"Event: DeviceStateListComplete\r\nActionID: {device_list}\r\nEventList: Complete\r\n\r\n"
    after = "Event: DeviceStateChange\r\nDevice: E\r\nState: INUSE\r\n\r\n"  # an ordinary event
    start = f"Response: Success\r\nActionID: {device_list}\r\nEventList: start\r\n\r\n"
    batch = session.receive((start + items + end + after).encode(), 2.0)
    assert [m.get("Device") for m in batch.deliver if isinstance(m, amiproto.Event)] == ["E"]


def test_a_relogin_sends_the_snapshot_and_reconciles() -> None:
    session, ids = logged_in_live()
    session.receive("".join(empty_list(i, f"{n}Complete") for n, i in ids.items()).encode(), 2.0)
    feed(session, "Event: Newchannel\r\nChannel: PJSIP/c-3\r\nUniqueid: c.3\r\nLinkedid: c.3\r\n\r\n")
    session.lose("read failed")
    session.fail_all()
    session.reset()
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    login_id = action_ids(session.start_relogin(3.0))["Login"]
    batch = session.receive(f"Response: Success\r\nActionID: {login_id}\r\n\r\n".encode(), 3.0)
    assert [(waiter, result.success) for waiter, result in batch.logins] == [(None, True)]  # not held
    ids = action_ids(batch.outgoing)
    batch = session.receive("".join(empty_list(i, f"{n}Complete") for n, i in ids.items()).encode(), 3.0)
    assert [type(m).__name__ for m in batch.deliver] == ["ChannelRemoved", "CallRemoved"]
    assert session.live_model().synced and session.live_model().channels == {}


def test_without_live_nothing_is_sent_after_the_login_and_there_is_no_model() -> None:
    session: Session[str] = Session(Options("h", timeout=None))
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    data = session.login("u", "s", auth="plain", events=True, timeout=None, now=1.0, waiter="login")
    batch = session.receive(
        f"Response: Success\r\nActionID: {action_ids(data)['Login']}\r\n\r\n".encode(), 1.0
    )
    assert batch.outgoing == b"" and [w for w, _ in batch.logins] == ["login"]
    with pytest.raises(amiproto.LocalProtocolError):
        session.live_model()


def test_a_read_asks_the_core_once_unless_an_error_is_left_to_raise() -> None:
    session: Session[str] = Session(Options("h", timeout=None))
    session.conn = conn = amiproto.Connection(max_message_size=64)
    feed(session, "Asterisk Call Manager/11.0.0\r\n")
    calls: list[int] = []
    next_events = conn.next_events

    def counted() -> list[amiproto.Item]:
        items = next_events()
        calls.append(len(items))
        return items

    conn.next_events = counted  # type: ignore[method-assign]
    batch = feed(session, "Event: A\r\n\r\nEvent: B\r\n\r\n")
    assert isinstance(batch, Batch) and kinds(batch) == ["event", "event"]
    assert calls == [2]  # all the items at once, and no second call for nothing
    calls.clear()
    # Items before a protocol error come first; the next call raises it, and ends the session.
    batch = feed(session, "Event: C\r\n\r\n" + "y" * 500)
    assert isinstance(batch, Batch)
    assert [m.name for m in batch.deliver if isinstance(m, amiproto.Event)] == ["C"]
    assert batch.closed is not None and batch.closed.startswith("protocol error")
    assert calls == [1]  # the second call raised


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["event", "newchannel", "response", "text", "none"]), max_size=30))
def test_the_routing_check_in_c_equals_its_python_twin(kinds_of: list[str]) -> None:
    c_twin = pytest.importorskip("amiproto_transports._dispatch").all_instances
    made = {
        "event": amiproto.Event(b"Event: A\r\n\r\n"),
        "newchannel": amiproto.events.Newchannel(b"Event: Newchannel\r\n\r\n"),
        "response": amiproto.Response(b"Response: Success\r\n\r\n"),
        "text": "Event",
        "none": None,
    }
    items = [made[kind] for kind in kinds_of]
    for cls in (amiproto.Event, amiproto.Message, object, str):
        assert c_twin(items, cls) is _session._all_instances(items, cls)
    with pytest.raises(TypeError):
        c_twin(tuple(items), amiproto.Event)
    with pytest.raises(TypeError):
        c_twin(items, "Event")


def _answer_items(kinds_of: list[str]) -> list[object]:
    """Items as a read hands them out: answers to waiting actions (w-N), answers
    nobody waits for, orphan responses, events and a login result."""
    made: list[object] = []
    for n, kind in enumerate(kinds_of):
        raw = b"Response: Success\r\nActionID: w-%d\r\n\r\n" % n
        if kind in ("waited", "unclaimed"):
            action_id = f"w-{n}" if kind == "waited" else f"x-{n}"
            response = amiproto.Response(raw)
            made += [response, amiproto.ActionCompleted(action_id, Action("Ping"), response)]
        elif kind == "orphan":
            response = amiproto.Response(raw)
            response.orphan = True
            made.append(response)
        elif kind == "event":
            made.append(amiproto.Event(b"Event: A\r\n\r\n"))
        else:
            made.append(amiproto.LoginResult(True, "u", None, "ok"))
    return made


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(["waited", "unclaimed", "orphan", "event", "login"]), max_size=20),
    st.integers(-3, 25),
)
def test_the_routing_of_answers_in_c_equals_its_python_twin(kinds_of: list[str], start: int) -> None:
    """Same index reached, same pairs made, same waiters left, from any start (a
    negative one counts as 0)."""
    c_twin = pytest.importorskip("amiproto_transports._dispatch").route_answers
    items = _answer_items(kinds_of)
    results = []
    for route in (c_twin, _session._route_answers):
        waiters = {f"w-{n}": f"waiter {n}" for n in range(len(kinds_of))}
        completed: list[tuple[object, amiproto.ActionCompleted]] = []
        index = route(items, start, waiters, completed, amiproto.Response, amiproto.ActionCompleted)
        results.append((index, [(w, id(item)) for w, item in completed], sorted(waiters)))
    assert results[0] == results[1]
    index = results[0][0]
    assert index >= len(items) or index >= start
    with pytest.raises(TypeError):
        c_twin(tuple(items), 0, {}, [], amiproto.Response, amiproto.ActionCompleted)


@pytest.mark.parametrize("speedups", [True, False])
def test_a_read_of_answers_events_and_orphans_routes_alike_in_c_and_python(speedups: bool) -> None:
    """Through a Session: every waiter gets its own answer, in order; orphans and
    events are delivered in order; an answer nobody waits for is neither."""
    amiproto._accel.use_speedups(speedups)
    try:
        session: Session[str] = Session(Options("h", timeout=None))
        feed(session, "Asterisk Call Manager/11.0.0\r\n")
        for n in range(4):
            session.send(Action("Ping", ActionID=f"a{n}"), None, 1.0, f"waiter {n}")
        text = (
            "Response: Success\r\nActionID: a0\r\n\r\nResponse: Success\r\nActionID: a1\r\n\r\n"
            "Event: E1\r\n\r\nResponse: Success\r\nActionID: stray\r\n\r\n"
            "Response: Error\r\nActionID: a3\r\nMessage: no\r\n\r\nEvent: E2\r\n\r\n"
            "Response: Success\r\nActionID: a2\r\n\r\n"
        )
        batch = session.receive(text.encode(), now=1.0)
        assert [(w, c.action_id, c.success) for w, c in batch.completed] == [
            ("waiter 0", "a0", True),
            ("waiter 1", "a1", True),
            ("waiter 3", "a3", False),
            ("waiter 2", "a2", True),
        ]
        assert kinds(batch) == ["event", "response", "event"]
        assert session.waiters == {}
    finally:
        amiproto._accel.use_speedups(True)

"""The shared client glue, without sockets: callback rules, the queue, backoff, tracing, errors."""

from __future__ import annotations

import logging
import random

import pytest

import amiproto
from amiproto import Action, Event, Response
from amiproto_transports._client_common import (
    Backoff,
    CallbackRegistry,
    DropOldest,
    Options,
    Reconnected,
    Session,
    outcome,
    redact,
    trace,
)


def event(name: str) -> Event:
    return Event(f"Event: {name}\r\nPrivilege: call,all\r\n\r\n".encode(), name=name)


def test_registry_rules_and_order() -> None:
    registry = CallbackRegistry()
    calls: list[str] = []
    registry.register("newchannel", lambda m: calls.append("name"))
    registry.register(Event, lambda m: calls.append("class"))
    registry.register("", lambda m: calls.append("all"))
    registry.register(None, lambda m: calls.append("orphan"))
    remove = registry.register("Newchannel", lambda m: calls.append("removed"))
    remove()
    message = event("Newchannel")
    for callback in registry.matching(message):
        callback(message)
    assert calls == ["name", "class", "all"]
    calls.clear()
    orphan = Response(b"Response: Success\r\nActionID: x\r\n\r\n")
    orphan.orphan = True
    for callback in registry.matching(orphan):
        callback(orphan)
    assert calls == ["orphan"]
    answered = Response(b"Response: Success\r\nActionID: y\r\n\r\n")
    assert registry.matching(answered) == ()
    notice = Reconnected.make(Attempts="1")
    assert notice.name == "Reconnected" and notice.get("Attempts") == "1"
    assert len(registry.matching(notice)) == 2  # class Event and ""
    with pytest.raises(TypeError):
        registry.register(42, print)  # type: ignore[arg-type]


def test_drop_oldest_counts() -> None:
    queue: DropOldest[int] = DropOldest(3)
    queue.extend([1, 2])
    queue.extend([3, 4, 5])
    assert queue.take() == [3, 4, 5]
    assert queue.dropped == 2
    assert not queue
    with pytest.raises(ValueError):
        DropOldest(0)


def test_backoff_grows_with_jitter_and_stops() -> None:
    policy = Backoff(initial=0.1, maximum=1.0, factor=2.0, jitter=0.5, attempts=6)
    delays = list(policy.delays(random.Random(1)))
    assert len(delays) == 6
    for n, delay in enumerate(delays):
        base = min(1.0, 0.1 * 2**n)
        assert base * 0.5 <= delay <= base
    assert len(set(delays)) == 6


def test_trace_redacts_secrets(caplog: pytest.LogCaptureFixture) -> None:
    data = b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\nkey : abc\r\n\r\n"
    assert b"wordpass" not in redact(data) and b"abc" not in redact(data)
    assert b"Username: admin" in redact(data)
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        trace(Options("h", trace=True), "->", data)
        trace(Options("h", trace=False), "->", b"Action: Ping\r\n\r\n")
    assert len(caplog.records) == 1
    assert "wordpass" not in caplog.text and "<redacted>" in caplog.text


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
    assert [m.kind for m in batch.deliver] == ["response", "event"]
    assert [e.name for e in batch.events] == ["FullyBooted"]

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

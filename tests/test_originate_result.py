"""An async Originate sent with wait_for_result completes with its OriginateResponse."""

from __future__ import annotations

import pytest

import amiproto
from amiproto import actions, events

from .helpers import connected, drain, reply

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")

QUEUED = "Response: Success\nActionID: t-1\nMessage: Originate successfully queued\n\n"
SUCCESS = "Event: OriginateResponse\nActionID: t-1\nResponse: Success\nChannel: Local/100@default-0001;1\n\n"
FAILURE = "Event: OriginateResponse\nActionID: t-1\nResponse: Failure\nReason: 0\n\n"


def originate(conn: amiproto.Connection, *, async_: bool = True, **options: object) -> None:
    action = actions.Originate(channel="Local/100@default", application="Wait", data="1", async_=async_)
    conn.send(action, wait_for_result=True, **options)  # type: ignore[arg-type]


def completed(items: list[amiproto.Item]) -> list[amiproto.ActionCompleted]:
    return [item for item in items if isinstance(item, amiproto.ActionCompleted)]


def test_the_response_alone_does_not_complete_it_and_the_event_does() -> None:
    conn = connected()
    originate(conn)
    items = reply(conn, QUEUED)
    assert [type(item).__name__ for item in items] == ["Response"]
    assert conn.pending_action_ids == ["t-1"]
    items = reply(conn, "Event: Newchannel\nUniqueid: 1\n\n" + SUCCESS)
    (done,) = completed(items)
    assert isinstance(items[1], events.OriginateResponse) and items[-1] is done
    assert done.success and done.complete and done.result is items[1]
    assert done.get("message") == "Originate successfully queued"
    assert conn.pending_action_ids == []


def test_a_failed_call_is_not_a_success_and_says_why() -> None:
    conn = connected()
    originate(conn)
    (done,) = completed(reply(conn, QUEUED + FAILURE))
    assert not done.success and done.complete
    assert done.result is not None and done.result.get("Reason") == "0"


def test_the_event_may_come_before_the_response() -> None:
    conn = connected()
    originate(conn)
    assert completed(reply(conn, FAILURE)) == []
    (done,) = completed(reply(conn, QUEUED))
    assert done.result is not None and not done.success


def test_an_error_response_completes_at_once() -> None:
    conn = connected()
    originate(conn)
    (done,) = completed(reply(conn, "Response: Error\nActionID: t-1\nMessage: Extension does not exist.\n\n"))
    assert not done.success and done.result is None
    # A later event with its ActionID is an ordinary event now.
    assert [type(item).__name__ for item in reply(conn, FAILURE)] == ["OriginateResponse"]


def test_a_synchronous_originate_or_without_the_keyword_completes_with_the_response() -> None:
    conn = connected()
    originate(conn, async_=False)
    assert completed(reply(conn, QUEUED))[0].result is None
    conn.send(actions.Originate(channel="Local/1@x", application="Wait", async_=True))
    (done,) = completed(reply(conn, QUEUED.replace("t-1", "t-2")))
    assert done.success and done.result is None


def test_async_is_read_as_asterisk_reads_it() -> None:
    conn = connected()
    conn.send(amiproto.Action("originate", Channel="Local/1@x", Async=" Yes"), wait_for_result=True)
    assert completed(reply(conn, QUEUED)) == []


def test_the_action_timeout_covers_the_wait() -> None:
    conn = connected()
    originate(conn, timeout=30, now=0.0)
    reply(conn, QUEUED)
    conn.handle_timer(30.0)
    (done,) = completed(drain(conn))
    assert done.timed_out and not done.complete and not done.success and done.response is not None
    assert [type(item).__name__ for item in reply(conn, SUCCESS)] == ["OriginateResponse"]


def test_end_of_file_completes_the_wait() -> None:
    conn = connected()
    originate(conn)
    reply(conn, QUEUED)
    conn.receive_data(b"")
    done, closed = drain(conn)
    assert isinstance(done, amiproto.ActionCompleted) and not done.complete and not done.success
    assert isinstance(closed, amiproto.ConnectionClosed) and closed.pending == ("t-1",)


def test_get_without_a_response_gives_the_default() -> None:
    done = amiproto.ActionCompleted("x", amiproto.Action("Ping"), None, complete=False, timed_out=True)
    assert done.get("Ping", "none") == "none" and not done.success

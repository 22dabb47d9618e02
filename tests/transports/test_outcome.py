"""The one boundary where core results become exceptions (_shared/_outcome)."""

from __future__ import annotations

import errno
import os

import pytest

import amiproto
from amiproto_transports._shared import Options
from amiproto_transports._shared._outcome import connect_error, outcome

from ..helpers import connected, reply


def completed_list(max_list_events: int, items: int) -> amiproto.ActionCompleted:
    """The ActionCompleted of a Status list of ``items`` items, closed or not."""
    conn = connected(max_list_events=max_list_events)
    conn.send(amiproto.Action("Status"))
    text = "Response: Success\nActionID: t-1\nEventList: start\n\n"
    text += "".join(f"Event: Status\nActionID: t-1\nChannel: C{i}\n\n" for i in range(items))
    text += "Event: StatusComplete\nActionID: t-1\nEventList: Complete\n\n"
    return next(i for i in reply(conn, text) if isinstance(i, amiproto.ActionCompleted))


def test_a_list_given_up_raises_list_too_long() -> None:
    with pytest.raises(amiproto.ListTooLong, match=r"Status \(t-1\) was given up after 2 list items"):
        outcome(completed_list(max_list_events=2, items=3))


def test_a_list_within_the_limit_passes_through() -> None:
    done = completed_list(max_list_events=3, items=3)
    assert outcome(done) is done


def test_a_connection_that_ended_is_still_connection_lost() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping"))
    conn.receive_data(b"")
    done = next(i for i in conn.next_events() if isinstance(i, amiproto.ActionCompleted))
    with pytest.raises(amiproto.ConnectionLost):
        outcome(done)


def test_a_result_not_waited_out_says_the_action_was_accepted() -> None:
    conn = connected()
    originate = amiproto.Action("Originate", Channel="Local/1@x", Application="Wait", Async="true")
    conn.send(originate, timeout=1.0, now=0.0, wait_for_result=True)
    reply(conn, "Response: Success\nActionID: t-1\nMessage: Originate successfully queued\n\n")
    conn.handle_timer(1.0)
    done = next(i for i in conn.next_events() if isinstance(i, amiproto.ActionCompleted))
    with pytest.raises(amiproto.ActionTimeout, match=r"Originate \(t-1\) was accepted, but its result"):
        outcome(done)


def test_a_list_cut_by_its_timeout_got_no_answer_in_time() -> None:
    conn = connected()
    conn.send(amiproto.Action("Status"), timeout=1.0, now=0.0)
    reply(conn, "Response: Success\nActionID: t-1\nEventList: start\n\n")
    conn.handle_timer(1.0)
    done = next(i for i in conn.next_events() if isinstance(i, amiproto.ActionCompleted))
    with pytest.raises(amiproto.ActionTimeout, match=r"Status \(t-1\) got no answer in time"):
        outcome(done)


REFUSED = os.strerror(errno.ECONNREFUSED)  # the system's words: "Connection refused" on Linux


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        (TimeoutError(), "no connection within 1.5 s (timed out)"),
        (OSError(), "OSError"),
        (OSError(errno.ECONNREFUSED, ""), f"[Errno {errno.ECONNREFUSED}] ({REFUSED})"),
        (
            OSError(errno.ECONNREFUSED, "Connect call failed ('pbx', 5039)"),  # as asyncio says it
            f"[Errno {errno.ECONNREFUSED}] Connect call failed ('pbx', 5039) ({REFUSED})",
        ),
        (ConnectionRefusedError(errno.ECONNREFUSED, REFUSED), f"[Errno {errno.ECONNREFUSED}] {REFUSED}"),
    ],
)
def test_a_failed_connect_always_says_why(cause: BaseException, reason: str) -> None:
    error = connect_error(Options("pbx", 5039, timeout=1.5), cause)
    assert isinstance(error, amiproto.ConnectFailed) and isinstance(error, ConnectionError)
    assert str(error) == f"cannot connect to pbx:5039: {reason}"

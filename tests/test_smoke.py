from __future__ import annotations

import pytest

import amiproto

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def test_ping_round_trip() -> None:
    conn = amiproto.Connection(action_id_prefix="t")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    greeting = conn.next_event()
    assert isinstance(greeting, amiproto.Greeting)
    assert greeting.version == "11.0.0"
    assert conn.send(amiproto.Action("Ping")) == b"Action: Ping\r\nActionID: t-1\r\n\r\n"
    conn.receive_data(b"Response: Success\r\nActionID: t-1\r\nPing: Pong\r\n\r\n")
    response = conn.next_event()
    assert isinstance(response, amiproto.Response) and response.success
    done = conn.next_event()
    assert isinstance(done, amiproto.ActionCompleted) and done.response is response
    assert conn.next_event() is amiproto.NEED_DATA

"""Per-connection and total bounds, sans-IO: lines, actions, unfinished input, output, queued actions."""

from __future__ import annotations

import pytest

from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._events import make_event
from amiproto_transports.simulator._limits import LINE_TOO_LONG, TOO_MANY_LINES, Limits, LineReader
from amiproto_transports.simulator._session import Session
from amiproto_transports.simulator._world import World

LOGIN = b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n"


def world(**limits: int) -> World:
    users = users_from_mapping({"admin": ("wordpass", "all", "all")})
    return World(users, start=0.0, wall_offset=0.0, limits=Limits(**limits))


def test_line_reader_passes_whole_lines_and_marks_long_ones() -> None:
    reader = LineReader(Limits(max_line=8))
    out = b"".join(reader.feed(bytes([byte])) for byte in b"A: 1\r\nB: 123456789\r\nC: 2\r\n\r\n")
    assert out == b"A: 1\r\n" + LINE_TOO_LONG + b"\r\nC: 2\r\n\r\n"
    assert reader.pending == 0
    assert reader.feed(b"A: 12345") == b""
    assert reader.pending == 8
    reader.feed(b"X" * 100_000)  # dropped as it comes: nothing more held
    assert reader.pending == 0


def test_line_reader_marks_too_many_lines_once() -> None:
    reader = LineReader(Limits(max_lines=2))
    out = reader.feed(b"A: 1\nB: 2\nC: 3\nD: 4\n\nE: 5\n\n")
    assert out == b"A: 1\nB: 2\n" + TOO_MANY_LINES + b"\r\n\r\nE: 5\n\r\n"


def test_an_unfinished_action_is_bounded_per_connection() -> None:
    shared = world(max_line=100, max_lines=10)
    session = Session(shared, 0.0)
    for _ in range(1000):
        session.receive_data(b"X: " + b"y" * 50 + b"\r\n", 0.0)
    assert not session.closing
    assert shared.input_total <= 12 * 102
    session.receive_data(b"\r\n", 0.0)
    assert b"Too many lines" in session.data_to_send(0.0)
    assert shared.input_total == 0


def test_the_connection_that_goes_over_the_total_is_closed() -> None:
    shared = world(max_total_input=1000)
    first, second = Session(shared, 0.0), Session(shared, 0.0)
    first.receive_data(b"X: " + b"y" * 600 + b"\r\n", 0.0)
    assert shared.input_total > 600
    second.receive_data(b"X: " + b"y" * 600 + b"\r\n", 0.0)
    assert second.closing and "unfinished input" in (second.close_reason or "")
    assert not first.closing
    first.connection_lost()
    second.connection_lost()
    assert shared.input_total == 0


def test_a_client_that_does_not_read_is_closed_past_the_output_bound() -> None:
    shared = world(max_output=10_000)
    session = Session(shared, 0.0)
    session.receive_data(LOGIN, 0.0)
    for index in range(200):
        shared.emit(make_event("UserEvent", "user,all", [("UserEvent", "x"), ("N", str(index) * 20)]))
        shared.dispatch()
    assert session.closing and "waiting to be read" in (session.close_reason or "")
    assert session.data_to_send(0.0) == b""


def test_actions_queued_behind_a_synchronous_originate_are_bounded() -> None:
    shared = world(max_queued_actions=5)
    session = Session(shared, 0.0)
    session.receive_data(LOGIN, 0.0)
    session.hold()
    session.receive_data(b"Action: Ping\r\n\r\n" * 5, 0.0)
    assert not session.closing
    session.receive_data(b"Action: Ping\r\n\r\n", 0.0)
    assert session.closing and "synchronous Originate" in (session.close_reason or "")


def test_login_timeout_and_waiting_limit() -> None:
    shared = world(max_unauthenticated=1)
    waiting = Session(shared, 0.0)
    assert waiting.next_deadline() == 30.0
    refused = Session(shared, 0.0)
    assert refused.closing and refused.data_to_send(0.0) == b""
    shared.advance(29.9)
    assert not waiting.closing
    shared.advance(30.0)
    assert waiting.closing and "no login" in (waiting.close_reason or "")


@pytest.mark.parametrize("bad", [{"auth_timeout": 0}, {"max_line": 0}, {"max_unauthenticated": 0}])
def test_limits_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        Limits(**bad)  # type: ignore[arg-type]


def test_an_answer_over_the_output_bound_sends_none_of_its_tail() -> None:
    """The list that went over was cut, and the rest of it was still queued: the client
    got list items without their Response, then the end of the connection."""
    shared = world(max_output=2000)
    session = Session(shared, 0.0)
    session.receive_data(LOGIN, 0.0)
    session.data_to_send(0.0)
    session.receive_data(b"Action: ShowDialPlan\r\nActionID: d\r\n\r\n", 0.0)
    assert session.closing and "waiting to be read" in (session.close_reason or "")
    assert session.data_to_send(0.0) == b""

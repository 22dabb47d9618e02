"""One connection never harms the others, on every runner: hostile input, a crash, limits, filters."""

from __future__ import annotations

import logging
import socket
import time

import pytest

import amiproto
from amiproto_transports.simulator import Simulator
from amiproto_transports.simulator._session import Session

from .amiclient import AmiClient, read_raw
from .serving import RUNNERS, serving

LOGIN = b"Action: Login\r\nActionID: 1\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n"
GREETING = b"Asterisk Call Manager/11.0.0\r\n"


def still_serving(address: tuple[str, int], steady: AmiClient) -> None:
    """The client connected all along still gets answers, and a new connection is accepted."""
    assert steady.action("Ping").success
    with AmiClient(address) as fresh:
        assert fresh.login(auth="plain").success
        assert fresh.action("Ping").success


def user_event(*lines: bytes) -> bytes:
    return b"Action: UserEvent\r\nActionID: 2\r\nUserEvent: x\r\n" + b"".join(lines) + b"\r\n"


HOSTILE = {
    # Asterisk reads each line as a C string: it ends at the NUL.
    "nul_in_action_id_before_login": (
        b"Action: Ping\r\nActionID: a\x00b\r\n\r\n",
        b"Response: Error\r\nActionID: a\r\nMessage: Permission denied\r\n\r\n",
    ),
    "superscript_priority": (
        LOGIN
        + "Action: Originate\r\nActionID: 2\r\nChannel: Local/echo@default\r\n"
        "Exten: echo\r\nPriority: \u00b2\r\n\r\n".encode(),
        b"Response: Error\r\nActionID: 2\r\nMessage: Invalid priority\r\n\r\n",
    ),
    "superscript_cause": (
        LOGIN + "Action: Hangup\r\nActionID: 2\r\nChannel: SIP/none\r\nCause: \u00b3\r\n\r\n".encode(),
        b"Response: Error\r\nActionID: 2\r\nMessage: No such channel\r\n\r\n",
    ),
    "nul_in_user_event_value": (
        LOGIN + user_event(b"Foo: a\x00b\r\n"),
        b"UserEvent: x\r\nActionID: 2\r\nFoo: a\r\n\r\n",
    ),
    # Asterisk copies a UserEvent's other lines as they came.
    "header_name_with_trailing_space": (
        LOGIN + user_event(b"Foo : b\r\n"),
        b"UserEvent: x\r\nActionID: 2\r\nFoo : b\r\n\r\n",
    ),
    "bare_cr_in_action_id": (
        b"Action: Ping\r\nActionID: a\rb\r\n\r\n",
        b"Response: Error\r\nMessage: Failed to parse message: a header holds a bare CR\r\n\r\n",
    ),
    "line_too_long": (
        b"Action: Ping\r\nActionID: 7\r\nJunk: " + b"x" * 5000 + b"\r\n\r\n",
        b"Response: Error\r\nActionID: 7\r\nMessage: Failed to parse message: line too long\r\n\r\n",
    ),
    "too_many_lines": (
        b"Action: Ping\r\nActionID: 8\r\n" + b"X: y\r\n" * 300 + b"\r\n",
        b"Response: Error\r\nActionID: 8\r\nMessage: Too many lines in message or allocation failure\r\n\r\n",
    ),
}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_answered_and_harms_no_one(runner: str, case: str) -> None:
    send, answer = HOSTILE[case]
    sim = Simulator()
    with serving(sim, runner) as address, AmiClient(address) as steady:
        assert steady.login(auth="plain").success
        raw = read_raw(address, send, answer)
        assert answer in raw
        still_serving(address, steady)


@pytest.mark.parametrize("runner", RUNNERS)
def test_after_a_parse_error_the_same_connection_goes_on(runner: str) -> None:
    sim = Simulator()
    with serving(sim, runner) as address:
        long_line = b"Action: Ping\r\nActionID: 7\r\nJunk: " + b"x" * 3000 + b"\r\n\r\n"
        raw = read_raw(address, long_line + b"Action: Ping\r\nActionID: 9\r\n\r\n", b"ActionID: 9")
        assert b"line too long" in raw
        assert b"Response: Error\r\nActionID: 9\r\nMessage: Permission denied\r\n\r\n" in raw


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_crashing_session_closes_only_its_connection(
    runner: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    handle = Session._handle

    def buggy(self: Session, action: amiproto.ReceivedAction) -> None:
        if action.name == "Boom":
            raise RuntimeError("a bug in a handler")
        handle(self, action)

    monkeypatch.setattr(Session, "_handle", buggy)
    lines: list[str] = []
    sim = Simulator(log=lines.append)
    with (
        caplog.at_level(logging.ERROR, logger="amiproto.simulator"),
        serving(sim, runner) as address,
        AmiClient(address) as steady,
    ):
        assert steady.login(auth="plain").success
        raw = read_raw(address, b"Action: Boom\r\nActionID: 1\r\n\r\n", b"\x00never")
        assert raw == GREETING  # closed without an answer
        still_serving(address, steady)
    assert any("a bug in a handler" in (record.exc_text or "") for record in caplog.records)
    assert any("internal error" in line for line in lines)


# -- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_client_that_does_not_log_in_is_closed_after_the_timeout(runner: str) -> None:
    sim = Simulator(auth_timeout=0.3)
    with serving(sim, runner) as address, AmiClient(address) as steady:
        assert steady.login(auth="plain").success
        with socket.create_connection(address, timeout=5) as idle:
            started = time.monotonic()
            data = b""
            while chunk := idle.recv(4096):
                data += chunk
            assert data == GREETING
            assert time.monotonic() - started >= 0.2  # closed by the timeout, not at once
        time.sleep(0.4)
        still_serving(address, steady)  # logged in: no timeout


@pytest.mark.parametrize("runner", RUNNERS)
def test_connections_waiting_to_log_in_are_limited(runner: str) -> None:
    sim = Simulator(max_unauthenticated=2)
    with serving(sim, runner) as address:
        waiting = [socket.create_connection(address, timeout=5) for _ in range(2)]
        try:
            for sock in waiting:
                assert sock.recv(4096) == GREETING
            with socket.create_connection(address, timeout=5) as refused:
                assert refused.recv(4096) == b""  # closed before the greeting, as Asterisk does
            waiting[0].sendall(LOGIN)
            assert b"Authentication accepted" in waiting[0].recv(4096)
            with AmiClient(address) as fresh:  # a place is free again
                assert fresh.login(auth="plain").success
        finally:
            for sock in waiting:
                sock.close()


# -- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_catastrophic_filter_does_not_stall_the_others(runner: str) -> None:
    sim = Simulator()
    with serving(sim, runner) as address, AmiClient(address) as filtered, AmiClient(address) as other:
        assert filtered.login(auth="plain").success
        assert other.login(auth="plain").success
        added = filtered.action("Filter", Operation="Add", Filter="(a+)+$")
        assert added.success
        # With a backtracking matcher this event alone would take longer than the test's timeout.
        other.action("UserEvent", UserEvent="Trap", Text="a" * 60 + "!")
        assert other.action("Ping").success
        assert other.wait_event("UserEvent").get("Text") == "a" * 60 + "!"
        assert filtered.action("Ping").success
        assert not [event for event in filtered.events if event.name == "UserEvent"]

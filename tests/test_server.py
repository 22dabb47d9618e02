"""ServerConnection: the server side of the framing, for the simulator and proxies."""

from __future__ import annotations

import pytest

import amiproto

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def actions_of(
    server: amiproto.ServerConnection,
) -> list[amiproto.ReceivedAction | amiproto.ConnectionClosed]:
    found: list[amiproto.ReceivedAction | amiproto.ConnectionClosed] = []
    while (item := server.next_action()) is not amiproto.NEED_DATA:
        assert isinstance(item, (amiproto.ReceivedAction, amiproto.ConnectionClosed))
        found.append(item)
    return found


def test_actions_in_any_chunks_then_end_of_file() -> None:
    server = amiproto.ServerConnection()
    data = b"Action: Ping\r\nActionID: 1\r\n\r\nAction: Login\nUsername: admin\nSecret: pw\n\n"
    for index in range(len(data)):
        server.receive_data(data[index : index + 1])
    ping, login = actions_of(server)
    assert isinstance(ping, amiproto.ReceivedAction) and isinstance(login, amiproto.ReceivedAction)
    assert (ping.name, ping.action_id, ping.raw) == ("Ping", "1", b"Action: Ping\r\nActionID: 1\r\n\r\n")
    assert (login.name, login.action_id, login.get("username")) == ("Login", None, "admin")
    server.receive_data(b"")
    (closed,) = actions_of(server)
    assert isinstance(closed, amiproto.ConnectionClosed)
    assert server.next_action() is amiproto.NEED_DATA  # closed once, then nothing more


def test_lines_without_a_colon_are_kept() -> None:
    server = amiproto.ServerConnection()
    server.receive_data(b"Action: Command\r\nCommand: core show uptime\r\ngarbage\r\n\r\n")
    (action,) = actions_of(server)
    assert isinstance(action, amiproto.ReceivedAction)
    assert action.unparsed == ("garbage",) and action.get("Command") == "core show uptime"


def test_an_action_cut_by_end_of_file_is_marked_truncated() -> None:
    server = amiproto.ServerConnection()
    server.receive_data(b"Action: Ping\r\nActionID: 1\r\n")
    server.receive_data(b"")
    action, closed = actions_of(server)
    assert isinstance(action, amiproto.ReceivedAction) and action.truncated
    assert isinstance(closed, amiproto.ConnectionClosed)


def test_greeting_and_replies() -> None:
    server = amiproto.ServerConnection()
    assert server.greeting() == b"Asterisk Call Manager/11.0.0\r\n"
    assert server.greeting("Proxy", "1.0") == b"Proxy/1.0\r\n"
    assert server.format([("Response", "Success"), ("Ping", "Pong")]) == (
        b"Response: Success\r\nPing: Pong\r\n\r\n"
    )


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("Response", "Success\r\nEvent: Injected")],
        [("Bad:Name", "x")],
        [("Response", 1)],
    ],
)
def test_replies_that_would_break_the_framing_are_refused(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(amiproto.LocalProtocolError):
        amiproto.format_message(pairs)


def test_a_client_reads_what_the_server_writes() -> None:
    server = amiproto.ServerConnection()
    client = amiproto.Connection()
    client.receive_data(server.greeting())
    assert isinstance(client.next_event(), amiproto.Greeting)
    server.receive_data(client.send(amiproto.Action("Ping", ActionID="p")))
    (ping,) = actions_of(server)
    assert isinstance(ping, amiproto.ReceivedAction)
    client.receive_data(
        server.format([("Response", "Success"), ("ActionID", ping.action_id or ""), ("Ping", "Pong")])
    )
    response, done = client.next_event(), client.next_event()
    assert isinstance(response, amiproto.Response) and response.get("Ping") == "Pong"
    assert isinstance(done, amiproto.ActionCompleted) and done.success


def test_values_the_encoding_cannot_carry_are_refused_as_misuse() -> None:
    server = amiproto.ServerConnection()
    for pairs in ([("Response", "Success"), ("Message", "bad \ud800")], [("Bad\udfffName", "x")]):
        with pytest.raises(amiproto.LocalProtocolError, match="cannot be encoded in utf-8"):
            server.format(pairs)
        with pytest.raises(amiproto.LocalProtocolError, match="cannot be encoded"):
            amiproto.format_message(pairs)
    with pytest.raises(amiproto.LocalProtocolError, match="ascii"):
        amiproto.format_message([("Message", "caf\u00e9")], "ascii")
    # An escaped byte read from a client goes back out as that byte.
    escaped = b"\xe9".decode("utf-8", "surrogateescape")
    assert amiproto.format_message([("Message", escaped)]) == b"Message: \xe9\r\n\r\n"


@pytest.mark.parametrize("bad", ["x\r\nEvent: Forged", "\0", "\ud800"])
def test_greeting_parts_are_checked(bad: str) -> None:
    server = amiproto.ServerConnection()
    with pytest.raises(amiproto.LocalProtocolError):
        server.greeting(name=bad)
    with pytest.raises(amiproto.LocalProtocolError):
        server.greeting(version=bad)

"""The state table is total: every (state, input) pair moves or raises LocalProtocolError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto._state import TRANSITIONS, Input, State, transition

LIVE = [State.AWAITING_GREETING, State.LOGGING_IN, State.READY, State.CLOSING]
TERMINAL = [State.CLOSED, State.ERROR]


@given(st.sampled_from(list(State)), st.sampled_from(list(Input)))
def test_every_pair_moves_or_raises(state: State, event: Input) -> None:
    try:
        after = transition(state, event)
    except amiproto.LocalProtocolError:
        assert (state, event) not in TRANSITIONS
    else:
        assert isinstance(after, State) and TRANSITIONS[state, event] is after


def test_server_caused_inputs_are_allowed_wherever_bytes_can_arrive() -> None:
    remote = [
        Input.GREETING,
        Input.MESSAGE,
        Input.LOGIN_ACCEPTED,
        Input.LOGIN_REJECTED,
        Input.GOODBYE,
        Input.END_OF_FILE,
        Input.PEER_DEAD,
        Input.REMOTE_ERROR,
    ]
    for state in LIVE:
        for event in remote:
            assert (state, event) in TRANSITIONS


@pytest.mark.parametrize("state", TERMINAL)
def test_terminal_states_refuse_everything(state: State) -> None:
    for event in Input:
        with pytest.raises(amiproto.LocalProtocolError):
            transition(state, event)


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(["Ping", "Login", "Logoff", "Challenge", "Status"])),
        st.tuples(
            st.just("data"),
            st.sampled_from(
                [
                    b"Asterisk Call Manager/11.0.0\r\n",
                    b"Response: Success\r\nActionID: t-1\r\nMessage: Authentication accepted\r\n\r\n",
                    b"Response: Error\r\nActionID: t-2\r\n\r\n",
                    b"Response: Goodbye\r\nActionID: t-3\r\n\r\n",
                    b"Response: Success\r\nActionID: t-4\r\nEventList: start\r\n\r\n",
                    b"Event: X\r\nActionID: t-4\r\nEventList: Complete\r\n\r\n",
                    b"Event: Y\r\n",
                    b"\r\n",
                    b"garbage",
                    b"",
                ]
            ),
        ),
        st.tuples(st.just("timer"), st.floats(0, 100)),
        st.tuples(st.just("login"), st.sampled_from(["md5", "plain"])),
    ),
    max_size=30,
)


@given(OPERATIONS)
def test_random_use_only_raises_protocol_errors(operations: list[tuple[str, object]]) -> None:
    """Whatever the program and the server do, the core raises nothing but its own errors."""
    conn = amiproto.Connection(action_id_prefix="t", keepalive_interval=10)
    completed: set[str] = set()
    for kind, arg in operations:
        try:
            if kind == "send":
                conn.send(amiproto.Action(str(arg)), timeout=5, now=1.0)
            elif kind == "login":
                conn.login("u", "s", auth=str(arg), now=1.0)
            elif kind == "data":
                assert isinstance(arg, bytes)
                conn.receive_data(arg, now=2.0)
            else:
                assert isinstance(arg, float)
                conn.handle_timer(arg)
            while (item := conn.next_event()) is not amiproto.NEED_DATA:
                if isinstance(item, amiproto.ActionCompleted):
                    assert item.action_id not in completed
                    completed.add(item.action_id)
        except amiproto.ProtocolError:
            assert conn.state in (State.CLOSED, State.ERROR) or kind in ("send", "login")
        assert conn.state in State
        if conn.state in TERMINAL:
            assert conn.pending_action_ids == [] or conn.state is State.ERROR

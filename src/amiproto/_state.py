"""The connection's states and the rules that move between them.

The rules are data: ``TRANSITIONS`` maps (state, input) to the next state. A
pair that is not in the table is not allowed, and ``transition()`` raises
``LocalProtocolError`` for it: only the program can cause such a pair (by
sending after close, say), because every input the server can cause is allowed
in every state where bytes may still arrive.

``READY`` means "the greeting is in and actions may flow"; whether a login has
succeeded is a separate fact (``Connection.authenticated``), since AMI lets a
program send actions before login (the server answers them with an error).
"""

from __future__ import annotations

import enum

from ._errors import LocalProtocolError

__all__ = ["Input", "State", "TRANSITIONS", "transition"]


class State(enum.Enum):
    """Where a connection is in its life; ``Connection.state`` says which."""

    AWAITING_GREETING = "awaiting greeting"
    LOGGING_IN = "logging in"
    READY = "ready"
    CLOSING = "closing"
    CLOSED = "closed"
    ERROR = "error"


class Input(enum.Enum):
    GREETING = "greeting"  # the banner arrived
    MESSAGE = "message"  # any other message arrived
    SEND = "send"  # the program sent an action
    SEND_LOGIN = "send login"  # the program sent Login or Challenge
    LOGIN_ACCEPTED = "login accepted"
    LOGIN_REJECTED = "login rejected"
    SEND_LOGOFF = "send logoff"
    GOODBYE = "goodbye"  # the server said Response: Goodbye
    END_OF_FILE = "end of file"
    PEER_DEAD = "peer dead"  # keepalive got no answer in time
    REMOTE_ERROR = "remote error"  # the server broke the protocol (limits)


_S, _I = State, Input

TRANSITIONS: dict[tuple[State, Input], State] = {
    (_S.AWAITING_GREETING, _I.GREETING): _S.READY,
    (_S.AWAITING_GREETING, _I.MESSAGE): _S.READY,  # servers without a banner
    (_S.AWAITING_GREETING, _I.SEND): _S.AWAITING_GREETING,
    (_S.AWAITING_GREETING, _I.SEND_LOGIN): _S.LOGGING_IN,
    (_S.AWAITING_GREETING, _I.LOGIN_ACCEPTED): _S.READY,
    (_S.AWAITING_GREETING, _I.LOGIN_REJECTED): _S.READY,
    (_S.LOGGING_IN, _I.GREETING): _S.LOGGING_IN,
    (_S.LOGGING_IN, _I.MESSAGE): _S.LOGGING_IN,
    (_S.LOGGING_IN, _I.SEND): _S.LOGGING_IN,
    (_S.LOGGING_IN, _I.SEND_LOGIN): _S.LOGGING_IN,
    (_S.LOGGING_IN, _I.LOGIN_ACCEPTED): _S.READY,
    (_S.LOGGING_IN, _I.LOGIN_REJECTED): _S.READY,
    (_S.READY, _I.GREETING): _S.READY,
    (_S.READY, _I.MESSAGE): _S.READY,
    (_S.READY, _I.SEND): _S.READY,
    (_S.READY, _I.SEND_LOGIN): _S.LOGGING_IN,
    (_S.READY, _I.LOGIN_ACCEPTED): _S.READY,
    (_S.READY, _I.LOGIN_REJECTED): _S.READY,
    (_S.CLOSING, _I.GREETING): _S.CLOSING,
    (_S.CLOSING, _I.MESSAGE): _S.CLOSING,
    (_S.CLOSING, _I.SEND): _S.CLOSING,
    (_S.CLOSING, _I.SEND_LOGIN): _S.CLOSING,
    (_S.CLOSING, _I.LOGIN_ACCEPTED): _S.CLOSING,
    (_S.CLOSING, _I.LOGIN_REJECTED): _S.CLOSING,
}
for _state in (_S.AWAITING_GREETING, _S.LOGGING_IN, _S.READY, _S.CLOSING):
    TRANSITIONS[_state, _I.SEND_LOGOFF] = _S.CLOSING
    TRANSITIONS[_state, _I.GOODBYE] = _S.CLOSING
    TRANSITIONS[_state, _I.END_OF_FILE] = _S.CLOSED
    TRANSITIONS[_state, _I.PEER_DEAD] = _S.CLOSED
    TRANSITIONS[_state, _I.REMOTE_ERROR] = _S.ERROR


def transition(state: State, event: Input) -> State:
    """The state after ``event`` in ``state``; ``LocalProtocolError`` if not allowed."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise LocalProtocolError(f"cannot {event.value} when the connection is {state.value}") from None

"""amiproto: a sans-IO implementation of the Asterisk Manager Interface (AMI)."""

# The generated catalogue: importing it registers the typed event classes.
from . import actions, events
from ._accel import use_speedups
from ._actions import Action
from ._connection import Connection, Item
from ._errors import (
    ActionTimeout,
    AMIError,
    AuthenticationError,
    ConnectionLost,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from ._headers import Headers
from ._messages import (
    NEED_DATA,
    ActionCompleted,
    ConnectionClosed,
    Event,
    Greeting,
    LoginResult,
    Message,
    NeedData,
    Response,
    UnknownMessage,
)
from ._server import ReceivedAction, ServerConnection, format_message
from ._state import State

__version__ = "0.1.0"

__all__ = [
    "NEED_DATA",
    "AMIError",
    "Action",
    "ActionCompleted",
    "ActionTimeout",
    "AuthenticationError",
    "Connection",
    "ConnectionClosed",
    "ConnectionLost",
    "Event",
    "Greeting",
    "Headers",
    "Item",
    "LocalProtocolError",
    "LoginResult",
    "Message",
    "NeedData",
    "ProtocolError",
    "ReceivedAction",
    "RemoteProtocolError",
    "Response",
    "ServerConnection",
    "State",
    "UnknownMessage",
    "__version__",
    "actions",
    "events",
    "format_message",
    "use_speedups",
]

"""amiproto: a sans-IO implementation of the Asterisk Manager Interface (AMI)."""

from typing import TYPE_CHECKING

from ._accel import use_speedups
from ._actions import Action
from ._connection import Connection, Item
from ._errors import (
    ActionTimeout,
    AMIError,
    AuthenticationError,
    ConnectFailed,
    ConnectionLost,
    ListTooLong,
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

if TYPE_CHECKING:
    from . import actions, events
else:
    # The generated catalogue loads on first use: the core builds typed events
    # without it (see _registry), and `import amiproto` stays cheap for the CLI.
    # Hidden from type checkers, which would otherwise accept any attribute.
    def __getattr__(name: str) -> object:
        if name in ("actions", "events"):
            import importlib  # noqa: PLC0415 - only when the catalogue is first used

            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "NEED_DATA",
    "AMIError",
    "Action",
    "ActionCompleted",
    "ActionTimeout",
    "AuthenticationError",
    "Connection",
    "ConnectionClosed",
    "ConnectFailed",
    "ConnectionLost",
    "Event",
    "Greeting",
    "Headers",
    "Item",
    "ListTooLong",
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

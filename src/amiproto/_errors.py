"""The exception family. Everything the package raises on purpose is an AMIError."""

from __future__ import annotations

__all__ = [
    "AMIError",
    "ActionTimeout",
    "AuthenticationError",
    "ConnectFailed",
    "ConnectionLost",
    "ListTooLong",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
]


class AMIError(Exception):
    """Base of every error amiproto raises on purpose."""


class ProtocolError(AMIError):
    """The AMI conversation cannot go on as it stands."""


class LocalProtocolError(ProtocolError):
    """The program misused the connection (bad header, send after close, ...)."""


class RemoteProtocolError(ProtocolError):
    """The server sent bytes the core refuses (a message over the size limit, ...)."""


class AuthenticationError(AMIError):
    """Login was refused by the server."""


class ActionTimeout(AMIError):
    """An action got no complete answer before its timeout."""


class ConnectionLost(AMIError):
    """The connection ended while something was still waiting on it."""


class ConnectFailed(ConnectionLost, ConnectionError):
    """The connection could not be made (refused, unreachable, timed out, TLS handshake).

    Both an ``AMIError`` (a ``ConnectionLost``, as it always was) and the standard
    library's ``ConnectionError`` (so an ``OSError``), so that ``except OSError`` around
    a connect, as for any other socket library, catches it too. The message names the
    address and the reason.
    """


class ListTooLong(AMIError):
    """A list action brought more events than ``max_list_events``; it was given up.

    The connection goes on: the rest of the list arrives as ordinary events.
    """

"""Everything a client's ``connect()`` takes, in one value."""

from __future__ import annotations

import os
import ssl as _ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ._backoff import Backoff
from ._callbacks import Callback
from ._limits import DEFAULT_MAX_LIST_EVENTS, DEFAULT_QUEUE_SIZE, SEND_HIGH_WATER

if TYPE_CHECKING:
    from amiproto.live import PBX

__all__ = ["ENVIRONMENT", "Callbacks", "Options", "environment_credentials_apply"]

Callbacks = Mapping[Any, Callback]
"""What ``connect(callbacks=...)`` takes: ``{key: callback}``, each key one that
``register_callback`` takes (``CallbackKey``). Typed Any because a Mapping's key type is
invariant: a ``dict[type[FullyBooted], ...]`` is no ``Mapping[CallbackKey, ...]``. A bad key
is a TypeError at ``connect()``, as it is at ``register_callback``."""

DEFAULT_PORT = 5038

ENVIRONMENT = {"host": "AMI_HOST", "port": "AMI_PORT", "username": "AMI_USERNAME", "secret": "AMI_SECRET"}
"""The variables ``connect()`` reads for each of these arguments when it is not given."""


def environment_credentials_apply(host: str | None, environment_host: str | None) -> bool:
    """Whether ``AMI_PORT``, ``AMI_USERNAME`` and ``AMI_SECRET`` go with a connection to
    ``host``: they belong to ``AMI_HOST`` (``environment_host``), so not to another host
    named in the code, a profile or ``--host``, lest one server's secret go to another."""
    return host is None or environment_host is None or host == environment_host


@dataclass(frozen=True)
class Options:
    """Everything ``connect()`` takes, in one place for the three clients."""

    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    secret: str | None = field(default=None, repr=False)
    auth: str = "md5"
    events: bool | str | None = True
    timeout: float | None = 10.0
    ssl: Any = None
    """An ``ssl.SSLContext``; True: ``ssl.create_default_context()`` (verifying); None or False:
    no TLS. Any because trio and asyncio type it differently."""
    server_hostname: str | None = None
    keepalive: float | None = None
    keepalive_timeout: float | None = None
    reconnect: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    trace: bool = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    max_send_buffer: int = SEND_HIGH_WATER
    """Bytes of actions that may wait unsent before a new one waits for room (see ``_limits``)."""
    max_list_events: int = DEFAULT_MAX_LIST_EVENTS
    """Events one list action may collect; past it the action raises ``amiproto.ListTooLong``
    and the rest of its list arrives as ordinary events."""
    retry_refused_login: bool = False
    """With ``reconnect``: retry, with the backoff, a re-login the server refused
    (``Response: Error``) instead of giving up. A re-login that got no answer is always retried."""
    callbacks: Callbacks | None = None
    """Callbacks registered before anything is sent, as ``register_callback(key, callback)``
    for each item: they see the events that come right after the login (``FullyBooted``)."""
    live: bool | PBX = False
    """Keep a live model of the PBX current (``client.live``): True for a new ``PBX()``,
    or the ``PBX`` to keep (``PBX(history=N)``); False for none."""

    def __post_init__(self) -> None:
        if self.ssl is True:
            object.__setattr__(self, "ssl", _ssl.create_default_context())
        elif self.ssl is False:
            object.__setattr__(self, "ssl", None)
        if self.max_list_events < 1:
            raise ValueError(f"max_list_events must be at least 1, not {self.max_list_events}")
        if not isinstance(self.live, bool):
            from amiproto.live import PBX  # noqa: PLC0415 - the live model only for those who want one

            if not isinstance(self.live, PBX):
                raise TypeError(f"live is True, False or an amiproto.live.PBX; not {self.live!r}")
        if self.max_send_buffer < 1:
            raise ValueError(f"max_send_buffer must be at least 1, not {self.max_send_buffer}")

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Options:
        """The options of one ``connect()`` call, given its parameters by name.

        Each client's ``connect()`` spells its signature out for its readers and
        passes ``locals()`` here as its first statement, so the arguments are named
        once. The names must be exactly the fields: a parameter one side lacks is a
        TypeError on the first call, not a silently ignored option. ``backoff`` None
        means the default ``Backoff()``. ``host``, ``port``, ``username`` and
        ``secret`` None are read from ``ENVIRONMENT`` (an argument given always wins),
        except that a host given that is not ``AMI_HOST`` reads none of them: they
        describe another server, whose secret must not go to this one. No host
        anywhere is a TypeError, like a missing argument.
        """
        names = {f.name for f in fields(cls)}
        if arguments.keys() != names:
            unknown = sorted(arguments.keys() - names)
            missing = sorted(names - arguments.keys())
            raise TypeError(f"connect() parameters differ from Options: unknown {unknown}, missing {missing}")
        values = dict(arguments)
        if values["backoff"] is None:
            values["backoff"] = Backoff()
        if environment_credentials_apply(values["host"], os.environ.get(ENVIRONMENT["host"]) or None):
            for name, variable in ENVIRONMENT.items():
                if values[name] is None:
                    values[name] = os.environ.get(variable) or None
        if values["host"] is None:
            raise TypeError(f"connect() needs a host: pass host= or set {ENVIRONMENT['host']}")
        values["port"] = _port(values["port"])
        return cls(**values)


def _port(port: int | str | None) -> int:
    """The port argument, or the environment's text of it (``AMI_PORT``), or the default."""
    if port is None:
        return DEFAULT_PORT
    if isinstance(port, str):
        try:
            return int(port)
        except ValueError:
            raise ValueError(f"{ENVIRONMENT['port']} is not a port number: {port!r}") from None
    return port

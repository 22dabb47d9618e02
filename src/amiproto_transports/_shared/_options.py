"""Everything a client's ``connect()`` takes, in one value."""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ._backoff import Backoff
from ._limits import DEFAULT_MAX_LIST_EVENTS, DEFAULT_QUEUE_SIZE, SEND_HIGH_WATER

__all__ = ["Options"]


@dataclass(frozen=True)
class Options:
    """Everything ``connect()`` takes, in one place for the three clients."""

    host: str
    port: int = 5038
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

    def __post_init__(self) -> None:
        if self.ssl is True:
            object.__setattr__(self, "ssl", _ssl.create_default_context())
        elif self.ssl is False:
            object.__setattr__(self, "ssl", None)
        if self.max_list_events < 1:
            raise ValueError(f"max_list_events must be at least 1, not {self.max_list_events}")
        if self.max_send_buffer < 1:
            raise ValueError(f"max_send_buffer must be at least 1, not {self.max_send_buffer}")

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Options:
        """The options of one ``connect()`` call, given its parameters by name.

        Each client's ``connect()`` spells its signature out for its readers and
        passes ``locals()`` here as its first statement, so the arguments are named
        once. The names must be exactly the fields: a parameter one side lacks is a
        TypeError on the first call, not a silently ignored option. ``backoff`` None
        means the default ``Backoff()``.
        """
        names = {f.name for f in fields(cls)}
        if arguments.keys() != names:
            unknown = sorted(arguments.keys() - names)
            missing = sorted(names - arguments.keys())
            raise TypeError(f"connect() parameters differ from Options: unknown {unknown}, missing {missing}")
        values = dict(arguments)
        if values["backoff"] is None:
            values["backoff"] = Backoff()
        return cls(**values)

"""A trio AMI client over the amiproto core (``pip install 'amiproto[trio]'``).

Use::

    import trio

    import amiproto
    from amiproto_transports.trio import connect

    async def main() -> None:
        async with connect("127.0.0.1", 5038, username="admin", secret="wordpass") as client:
            result = await client.send_action(amiproto.actions.CoreShowChannels(), timeout=5)
            print(result.success, len(result.events))
            async for event in client.events(timeout=0.5):  # ends after 0.5 s of silence
                print(event.name)

    trio.run(main)

``submit`` returns a ``Pending`` (``await pending.get()``); callbacks may be
plain functions or async ones. ``help(connect)`` lists the options.

How it works
------------
``async with connect(...) as client`` starts four tasks in a nursery of the
client's own: a reader (feeds the core, wakes waiters, reconnects when asked
to), a writer (the only task that awaits a write to the stream, so a cancelled
caller can never leave half an action on the wire), a timer (sleeps in a cancel
scope whose deadline is moved to the core's next deadline after every change)
and a dispatcher. Callbacks run in arrival order: in the reader's task, right
after their batch was read, until one returns an awaitable; the dispatcher task
awaits it and runs the rest (``InlineFirst``), so the reader never waits for a
callback.

Bytes are queued for the writer in the order the core produced them (while it
is idle, a burst's first bytes go straight to a plain socket). What is unsent
is bounded (``max_send_buffer``): over it, ``send_action`` waits for room at
most its timeout, and ``submit`` raises ``ActionTimeout`` at once; either way
the action is queued whole or not at all. ``close()`` waits at most
``CLOSE_GRACE`` for its Logoff, then aborts. When the connection is lost,
bytes not yet written are dropped: they are never sent on a new one. The reader-to-dispatcher queue is bounded
(``queue_size``); on overflow the oldest queued messages are dropped and
counted in ``client.dropped_events``. Times are on trio's clock
(``trio.current_time()``). The body is shared with the asyncio client
(``_async``); this module binds it to trio (``_async._trio``).
"""

from __future__ import annotations

import contextlib
import logging
import ssl as _ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from amiproto import Action, ActionCompleted

try:
    import trio as _trio  # noqa: F401 (only to say what to install when it is missing)
except ModuleNotFoundError as missing:  # pragma: no cover (tested in a subprocess)
    raise ModuleNotFoundError(
        "amiproto_transports.trio needs trio: pip install amiproto[trio]", name="trio"
    ) from missing

from ._async import SharedClient
from ._async._trio import Pending, TrioBackend
from ._shared import (
    DEFAULT_MAX_LIST_EVENTS,
    DEFAULT_QUEUE_SIZE,
    SEND_HIGH_WATER,
    AsyncClient,
    Backoff,
    Callbacks,
    Options,
)

__all__ = ["Client", "Pending", "connect"]

log = logging.getLogger("amiproto.trio")

Pending.__module__ = __name__  # where users find it


class Client(SharedClient[Pending[Any]]):
    """A trio AMI client. Make one with ``connect()``; see the module docstring."""

    def __init__(self, options: Options) -> None:
        super().__init__(options, TrioBackend, log)

    def submit(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> Pending[ActionCompleted]:
        """Send ``action`` now, without a task; ``await pending.get()`` returns or raises as
        ``send_action`` would (``wait_for_result`` as there). Many ``submit`` calls in a row
        pipeline actions cheaply.

        An answer nobody waits for any more is dropped when it comes (or its timeout passes).

        While more than ``max_send_buffer`` bytes wait unsent (the server reads slowly),
        it cannot wait for room: it raises ``ActionTimeout`` at once, with nothing queued,
        as ``send_action`` would after waiting ``timeout``; pace a burst with
        ``send_action``, or retry later.
        """
        return self._submit(action, timeout, wait_for_result)[1]


@contextlib.asynccontextmanager
async def connect(
    host: str | None = None,
    port: int | None = None,
    *,
    username: str | None = None,
    secret: str | None = None,
    auth: str = "md5",
    events: bool | str | None = True,
    timeout: float | None = 10.0,
    ssl: _ssl.SSLContext | bool | None = None,
    server_hostname: str | None = None,
    keepalive: float | None = None,
    keepalive_timeout: float | None = None,
    reconnect: bool = False,
    backoff: Backoff | None = None,
    trace: bool = False,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    max_send_buffer: int = SEND_HIGH_WATER,
    max_list_events: int = DEFAULT_MAX_LIST_EVENTS,
    retry_refused_login: bool = False,
    callbacks: Callbacks | None = None,
    live: bool | PBX = False,
) -> AsyncIterator[Client]:
    """``async with connect(...) as client``: connect, log in when ``username`` is given,
    and close (Logoff first) on exit. Options as in ``amiproto_transports.sync.connect``;
    ``host``, ``port``, ``username`` and ``secret`` not given are read from ``AMI_HOST``,
    ``AMI_PORT``, ``AMI_USERNAME`` and ``AMI_SECRET``."""
    options = Options.from_arguments(locals())  # first: locals() is exactly the parameters
    async with Client(options)._connected(options.username, options.secret, auth, events, timeout) as client:
        yield client


if TYPE_CHECKING:
    from amiproto.live import PBX

    def _check(client: Client) -> AsyncClient:
        return client

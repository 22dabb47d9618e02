"""What the sync, asyncio and trio clients share, written once, one concern per module.

The core (``amiproto.Connection``) makes every protocol decision; these modules hold
the glue that is the same in every I/O world. None of them touches a socket, a
thread, a task or a clock (the live model's wall-clock times come from the function
``Session`` is given, ``time.time`` by default).

- ``_protocol``: ``AMIClient``, the typing Protocol every client is checked against;
- ``_callbacks``: ``CallbackRegistry``, which callbacks a message goes to and in what order,
  and ``run_callbacks`` / ``run_callbacks_sync``, the dispatch step of the async and sync clients;
- ``_dispatcher``: ``InlineFirst``, where an async client's callbacks run: in the reader's
  task until one must be awaited, then in the dispatcher task;
- ``_queue``: ``DropOldest``, the bounded reader-to-consumer queue and its overflow policy,
  and ``HoldBack``, the sync client's, which can hold back what does not fit instead;
- ``_options``: ``Options``, what ``connect()`` takes;
- ``_limits``: the sizes and limits the clients share (queue size, read size, eager writes,
  the send buffer, the close grace);
- ``_backoff``: ``Backoff``, the jittered delays between reconnect attempts;
- ``_notices``: the synthetic ``Disconnected`` and ``Reconnected`` events;
- ``_session``: ``Session``, the core plus the adapter's waiters, turned into ``Batch``es,
  and with ``live`` the live model fed where items are routed, and its snapshots;
- ``_outcome``: the one place where core results become exceptions;
- ``_trace``: the redacted wire trace.
"""

from ._backoff import Backoff
from ._callbacks import (
    Callback,
    CallbackKey,
    CallbackRegistry,
    Delivered,
    Unregister,
    run_callbacks,
    run_callbacks_sync,
)
from ._dispatcher import InlineFirst
from ._limits import (
    CLOSE_GRACE,
    DEFAULT_MAX_LIST_EVENTS,
    DEFAULT_QUEUE_SIZE,
    EAGER_BYTES,
    RECV_SIZE,
    SEND_HIGH_WATER,
    SMALL_RECV_SIZE,
    next_recv_size,
)
from ._notices import Disconnected, Reconnected
from ._options import Callbacks, Options
from ._outcome import connect_error, login_outcome, outcome
from ._protocol import AMIClient, AsyncClient, SyncClient
from ._queue import DropOldest, HoldBack
from ._session import Batch, Session
from ._trace import WIRE_LOGGER, redact, trace

__all__ = [
    "CLOSE_GRACE",
    "DEFAULT_MAX_LIST_EVENTS",
    "DEFAULT_QUEUE_SIZE",
    "EAGER_BYTES",
    "RECV_SIZE",
    "SEND_HIGH_WATER",
    "SMALL_RECV_SIZE",
    "WIRE_LOGGER",
    "AMIClient",
    "AsyncClient",
    "Backoff",
    "Batch",
    "Callback",
    "CallbackKey",
    "CallbackRegistry",
    "Delivered",
    "Disconnected",
    "DropOldest",
    "HoldBack",
    "InlineFirst",
    "Callbacks",
    "Options",
    "Reconnected",
    "Session",
    "SyncClient",
    "Unregister",
    "connect_error",
    "login_outcome",
    "next_recv_size",
    "outcome",
    "redact",
    "run_callbacks",
    "run_callbacks_sync",
    "trace",
]

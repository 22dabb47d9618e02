"""The clients' sizes and limits, named once for the three of them.

Each is a bound on a buffer or queue, or a size the benchmarks tuned; where the
sync and async clients differ, the constant says why.
"""

from __future__ import annotations

from amiproto import _accel
from amiproto._connection import DEFAULT_MAX_LIST_EVENTS

__all__ = [
    "CLOSE_GRACE",
    "DEFAULT_MAX_LIST_EVENTS",
    "DEFAULT_QUEUE_SIZE",
    "EAGER_BYTES",
    "RECV_SIZE",
    "SEND_HIGH_WATER",
    "SMALL_RECV_SIZE",
    "TRACE_LINE_LIMIT",
    "next_recv_size",
]

DEFAULT_QUEUE_SIZE = 10_000
"""Messages the reader may queue for the callbacks before the oldest are dropped (``queue_size``)."""

RECV_SIZE = 1024 * 1024 if _accel.speedups is not None else 128 * 1024
"""Bytes asked of one read: 1 MiB with the core's C speedups, 128 KiB in pure Python.
asyncio's protocol also pauses reading while this much waits unread by the reader task,
so one burst never buffers more than one read's worth.

Each read that frees room in the socket makes the kernel send a window update, and on a
busy connection the server's next segments then go out on the reader's CPU, in the read:
over loopback the read took 23% of a C client's time at 128 KiB, 12% at 1 MiB
(bench_clients.py, events; a profile of its ``socket + core`` row). Not more: at 2 MiB
the sync client's reader thread page-faulted on most reads. In pure Python not
more than 128 KiB: a read's events (about 350 of the recording's in 128 KiB) are alive
together until their callbacks ran, and past about 700 new objects the garbage collector
runs in mid-parse; the C core's events are hidden from the collector, so their number per
read costs nothing."""

SMALL_RECV_SIZE = 64 * 1024
"""Bytes asked of a read after one that did not fill its buffer (see ``next_recv_size``)."""


def next_recv_size(asked: int, received: int) -> int:
    """The size of the next read, after one that asked ``asked`` bytes and got ``received``.

    ``RECV_SIZE`` only while reads fill their buffer (a busy server), else
    ``SMALL_RECV_SIZE``: a read allocates what it asks for, and an allocation of 128 KiB or
    more is a fresh memory mapping (mapped, shrunk to what came, unmapped: three system
    calls per read, seen with strace), which a quiet server's small reads, most of all the
    answers to actions one at a time, paid for nothing."""
    return RECV_SIZE if received >= asked else SMALL_RECV_SIZE


EAGER_BYTES = 2048
"""Queued bytes from which a burst of actions is written at once, without waiting for the
writer's next turn, so that the server (another process) starts on the first ones."""

SEND_HIGH_WATER = 1024 * 1024
"""The default ``max_send_buffer``: bytes of actions queued for the socket and not yet written
(the client's own buffer, the asyncio transport's, the chunk a writer is sending). An action
is queued whole only while fewer are waiting, so at most this plus one action waits; over
it, ``send_action`` (and the sync ``submit``) wait for room at most their timeout, then raise
``ActionTimeout`` with nothing queued; the async ``submit()``, which cannot wait, raises it at
once. Bytes the client makes by itself (keepalive Ping, the MD5 login's second step, filters
re-applied after a reconnect) never wait: they are few and the reader must not block."""

CLOSE_GRACE = 2.0
"""Seconds ``close()`` waits for the Logoff answer (and so for unsent bytes ahead of it)
before it aborts the connection, dropping what is unsent. The sync client then waits at
most as long again for its threads (a callback that blocks is left to finish on its own)."""

TRACE_LINE_LIMIT = 64 * 1024
"""Bytes of an unfinished received line the wire trace holds back until its end arrives (it
redacts whole lines only). A longer line is shown up to there, redacted as it stands, and
the rest of it is not shown at all: it could continue a credential."""

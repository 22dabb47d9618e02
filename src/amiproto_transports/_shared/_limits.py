"""The clients' sizes and limits, named once for the three of them.

Each is a bound on a buffer or queue, or a size the benchmarks tuned; where the
sync and async clients differ, the constant says why.
"""

from __future__ import annotations

__all__ = ["DEFAULT_QUEUE_SIZE", "EAGER_BYTES", "RECV_SIZE", "SEND_HIGH_WATER"]

DEFAULT_QUEUE_SIZE = 10_000
"""Messages the reader may queue for the callbacks before the oldest are dropped (``queue_size``)."""

RECV_SIZE = 256 * 1024
"""Bytes asked of one read. asyncio's protocol also pauses reading while this much waits
unread by the reader task, so one burst never buffers more than one read's worth."""

EAGER_BYTES = 2048
"""Queued bytes from which a burst of actions is written at once, without waiting for the
writer's next turn, so that the server (another process) starts on the first ones."""

SEND_HIGH_WATER = 1024 * 1024
"""Bytes queued for the socket beyond which a sync caller waits for the writer. The async
clients wait instead for each ``send_action``'s answer, which needs its bytes sent first;
their ``submit()`` cannot wait, so a burst of it is bounded only by the program."""

"""Transports over the amiproto core: sync socket, asyncio and trio clients, and a simulator.

The clients live in ``amiproto_transports.sync``, ``.asyncio`` and ``.trio``; the
names here are the ones all three share.
"""

from ._shared import AMIClient, AsyncClient, Backoff, Disconnected, Reconnected, SyncClient

__all__ = ["AMIClient", "AsyncClient", "Backoff", "Disconnected", "Reconnected", "SyncClient"]

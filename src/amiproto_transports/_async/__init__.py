"""The asyncio and trio clients' shared body, written once against a small backend.

- ``_base``: ``Backend``, what the shared client asks of an async library;
- ``_client``: ``SharedClient``, the client itself (waiters, reading, reconnecting,
  dispatching), and ``Events``, the iterator ``events()`` returns;
- ``_asyncio``, ``_trio``: the two backends.

``amiproto_transports.asyncio`` and ``amiproto_transports.trio`` bind a backend and
are the modules users import.
"""

from ._base import Backend, Waiter, Wakeup
from ._client import Events, SharedClient

__all__ = ["Backend", "Events", "SharedClient", "Waiter", "Wakeup"]

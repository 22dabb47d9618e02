"""What the shared async client asks of an async library: the backend interface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol, TypeVar

from .._shared import Options

__all__ = ["Backend", "Waiter", "Wakeup"]

W = TypeVar("W", bound="Waiter")
Task = Callable[[], Coroutine[Any, Any, None]]


class Waiter(Protocol):
    """An answer to come: ``asyncio.Future`` or trio's ``Pending``."""

    def done(self) -> bool: ...

    def set_result(self, value: Any, /) -> None: ...

    def set_exception(self, error: BaseException, /) -> None: ...


class Wakeup(Protocol):
    """A wake-up call between tasks; ``set`` before anybody waits is kept until the next ``wait``."""

    def set(self) -> None: ...

    async def wait(self, deadline: float | None = None) -> bool:
        """Forget an earlier ``set``; wait for the next one (True) or the deadline (False)."""
        ...


class Backend(Protocol[W]):
    """One client's link to its async library and its current connection.

    Made by the client with two calls back into it: ``on_timer()`` once the
    deadline last armed has passed, and ``on_write_failed(reason)`` when a write
    fails outside the reader's view. Writes never await: ``write`` queues bytes in
    the order given and they leave whole; ``abort`` drops what is still queued, so
    bytes made for a dead connection never reach the next one.
    """

    errors: tuple[type[BaseException], ...]
    """What ``read`` (and the Logoff in ``close``) raise when the connection fails."""

    now: Callable[[], float]
    """The library's clock, the one every deadline is on."""

    waiter: Callable[[], W]
    """A new waiter for one answer."""

    result: Callable[[W], Awaitable[Any]]
    """What to await for a waiter's result (or its exception)."""

    def __init__(
        self, options: Options, on_timer: Callable[[], None], on_write_failed: Callable[[str], None]
    ) -> None: ...

    def wakeup(self) -> Wakeup: ...

    async def sleep(self, seconds: float) -> None: ...

    def arm(self, deadline: float | None) -> None:
        """Call ``on_timer`` at ``deadline`` (None: never), in place of the deadline armed before."""

    def arm_before(self, deadline: float) -> None:
        """``arm(deadline)`` if it comes before the deadline armed now."""

    async def open(self) -> None:
        """Connect; the new connection replaces the old one. Raises ``ConnectionLost``."""

    def reading(self) -> AbstractContextManager[object]:
        """Around the reads of one connection: ``abort`` ends it, with or without an error."""

    def read(self) -> Awaitable[bytes]:
        """The next bytes; ``b""`` at end of file."""

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the current connection without awaiting (dropped after ``abort``)."""

    def has_room(self) -> bool:
        """True unless more than ``options.max_send_buffer`` bytes wait unsent (after
        ``abort``: True, so that a caller meets the lost connection instead)."""

    async def wait_for_room(self, deadline: float | None) -> bool:
        """Wait until ``has_room()`` may have become true (False: ``deadline`` passed first)."""

    def abort(self) -> None:
        """End the current connection now: drop the queued bytes, and end ``reading``."""

    async def aclose(self) -> None:
        """Release the current connection (after ``abort``)."""

    def running(
        self, tasks: Mapping[str, Task], close: Callable[[], Awaitable[None]]
    ) -> AbstractAsyncContextManager[None]:
        """Run ``tasks`` (by name) beside the block, ``close()`` when it ends."""

    async def stop(self) -> None:
        """In ``close``: cancel the tasks (never the one calling)."""

"""The one shape every client has, as a typing Protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

from amiproto import Action, ActionCompleted, Event, LoginResult, Message, Response

from ._callbacks import Callback, CallbackKey, Unregister

if TYPE_CHECKING:
    from amiproto.live import PBX, Change

__all__ = ["AMIClient", "AsyncClient", "ChangeT", "MessageT", "SyncClient"]

MessageT = TypeVar("MessageT", bound=Message)
"""The message class a callback registered under a class receives (the overloads of
``register_callback``: a class gives that class, a name or ``""`` gives ``Event``,
None gives ``Response``)."""

ChangeT = TypeVar("ChangeT", bound="Change")
"""The change class a live callback registered under a class receives."""

SendT_co = TypeVar("SendT_co", covariant=True)
LoginT_co = TypeVar("LoginT_co", covariant=True)
EventsT_co = TypeVar("EventsT_co", covariant=True)
CloseT_co = TypeVar("CloseT_co", covariant=True)
WaitT_co = TypeVar("WaitT_co", covariant=True)


class AMIClient(Protocol[SendT_co, LoginT_co, EventsT_co, CloseT_co, WaitT_co]):
    """The one shape of every client. The type parameters are what the blocking
    methods return: the results themselves for the sync client, awaitables of
    them for asyncio and trio (an ``async def`` method returns a coroutine)."""

    @property
    def dropped_events(self) -> int: ...

    @overload
    def register_callback(
        self, key: type[MessageT], callback: Callable[[MessageT], object]
    ) -> Unregister: ...
    @overload
    def register_callback(self, key: str, callback: Callable[[Event], object]) -> Unregister: ...
    @overload
    def register_callback(self, key: None, callback: Callable[[Response], object]) -> Unregister: ...
    def register_callback(self, key: CallbackKey, callback: Callback) -> Unregister: ...

    @property
    def live(self) -> PBX: ...

    @overload
    def register_live_callback(
        self, kind: type[ChangeT], callback: Callable[[ChangeT], object]
    ) -> Unregister: ...
    @overload
    def register_live_callback(self, kind: None, callback: Callable[[Change], object]) -> Unregister: ...
    def register_live_callback(self, kind: type[Any] | None, callback: Callback) -> Unregister: ...

    def send_action(
        self, action: Action, timeout: float | None = None, *, wait_for_result: bool = False
    ) -> SendT_co: ...

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str = "md5",
        events: bool | str | None = True,
        timeout: float | None = None,
    ) -> LoginT_co: ...

    def events(self, timeout: float | None = None) -> EventsT_co: ...

    def is_connected(self) -> bool: ...

    def close(self) -> CloseT_co: ...

    def wait_closed(self) -> WaitT_co: ...


SyncClient = AMIClient[ActionCompleted, LoginResult, Iterator[Event], None, bool]
"""The blocking client's surface (``amiproto_transports.sync.Client``)."""

AsyncClient = AMIClient[
    Awaitable[ActionCompleted], Awaitable[LoginResult], AsyncIterator[Event], Awaitable[None], Awaitable[None]
]
"""The asyncio and trio clients' surface: the same names, awaited."""

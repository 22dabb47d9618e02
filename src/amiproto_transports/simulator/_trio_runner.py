"""Running the simulator as trio tasks (imported only when trio is wanted)."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable

import trio  # type: ignore[import-untyped,unused-ignore]  # trio 0.22 ships no py.typed

from ._runners import IDLE_WAKE, READ_SIZE, Log, addr, pieces, report_closed, report_crash, timeout_for
from ._session import Session
from ._world import World

__all__ = ["serve_trio"]


@contextlib.asynccontextmanager
async def serve_trio(
    world: World, host: str, port: int, log: Log | None = None
) -> AsyncIterator[tuple[tuple[str, int], Callable[[], None]]]:
    """Serve with trio inside a nursery; yields the address and a cancel function."""
    wakers: set[Callable[[], None]] = set()

    def wake_all() -> None:
        try:
            world.dispatch()
        except Exception:
            report_crash(log, None, "event delivery")
        for wake in list(wakers):
            wake()

    async def handle(stream: trio.SocketStream) -> None:
        # One connection's failure must not reach serve_tcp's nursery, which
        # would take the listener and every other connection down with it.
        session: Session | None = None
        try:
            remote = addr(stream.socket.getpeername())
            session = Session(world, time.monotonic(), local=address, remote=remote)
            await serve_one(stream, session, remote)
        except Exception:
            report_crash(log, session, "a connection task")
        finally:
            if session is not None:
                report_closed(log, session)
                session.connection_lost()
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.aclose()

    async def serve_one(stream: trio.SocketStream, session: Session, remote: tuple[str, int]) -> None:
        if log is not None:
            log(f"connection from {remote[0]}:{remote[1]}")
        state = {"event": trio.Event()}
        scopes: list[trio.CancelScope] = []  # the connection's nursery, once open

        def wake() -> None:
            state["event"].set()
            if session.abandoned:
                for scope in scopes:
                    scope.cancel()  # a send_all that waits for a client that does not read

        wakers.add(wake)

        async def reader() -> None:
            while not session.closing:
                try:
                    data = await stream.receive_some(READ_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    data = b""
                session.receive_data(data, time.monotonic())
                wake_all()
                if not data:
                    return

        try:
            async with trio.open_nursery() as conn_nursery:
                scopes.append(conn_nursery.cancel_scope)
                conn_nursery.start_soon(reader)
                while True:
                    now = time.monotonic()
                    data = session.data_to_send(now)
                    if data:
                        for piece in pieces(world, data):
                            await stream.send_all(piece)
                        continue
                    if session.closing:
                        break
                    state["event"] = trio.Event()
                    if session.wants_write(time.monotonic()):
                        continue
                    deadline = session.next_deadline()
                    with trio.move_on_after(IDLE_WAKE if deadline is None else max(deadline - now, 0)):
                        await state["event"].wait()
                conn_nursery.cancel_scope.cancel()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            wakers.discard(wake)

    async def tick() -> None:
        while True:
            try:
                world.advance(time.monotonic())
            except Exception:
                report_crash(log, None, "the timers")
            wake_all()
            await trio.sleep(timeout_for(world, time.monotonic()))

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, handle, port, host=host))
        address = addr(listeners[0].socket.getsockname())
        nursery.start_soon(tick)
        try:
            yield address, nursery.cancel_scope.cancel
        finally:
            nursery.cancel_scope.cancel()

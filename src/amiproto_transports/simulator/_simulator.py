"""The public ``Simulator``: configuration, faults, and the three ways to run it."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ._config import DEFAULT_USERS, User, parse_manager_conf, read_from_disk, users_from_mapping
from ._limits import Limits
from ._replay import Recording, load_recording
from ._runners import AsyncioServer, ThreadServer
from ._world import Fault, World

__all__ = ["Simulator"]

DEFAULT_LIMITS = Limits()


class Simulator:
    """An AMI server that behaves like the Asterisk 22 of the recordings, on loopback.

    ``users`` maps a name to ``(secret, read classes, write classes)``;
    ``manager_conf`` (a path to an Asterisk ``manager.conf``) overrides it; it is
    read as Asterisk reads it (``#include`` files next to it, templates, each
    user's ``eventfilter`` lines, see ``_confparse``); an unreadable file raises
    ``OSError``, a malformed one ``ManagerConfError``, and what Asterisk would
    only warn about goes to ``log``.
    Without either, the one user is ``admin``/``wordpass`` with all rights.
    GetConfig and ListCategories serve that manager.conf (or one written for
    ``users``) and the recorded server's extensions.conf and queues.conf.
    ``calls_per_second`` makes it originate ``Local/echo@default`` calls at that
    rate for as long as it runs. ``replay`` (an ``.rx`` or ``.rx.gz`` file)
    streams that recording's events to every client once it has logged in, at
    ``replay_rate`` events per second, or as fast as the socket takes them when
    ``replay_rate`` is None. ``write_each_message`` sends each message in a
    write of its own, as Asterisk does, rather than all that is due in one: a
    client then reads answers in many small segments.

    A client has ``auth_timeout`` seconds (default 30, Asterisk's ``authtimeout``)
    to log in, and at most ``max_unauthenticated`` connections (default 50,
    Asterisk's ``authlimit``) may wait to: one more is closed before the greeting.
    Other bounds are fixed (see ``_limits.Limits``): an action line holds at most
    1024 bytes and an action 128 lines (over them the client gets Asterisk's
    ``Failed to parse message: line too long`` or ``Too many lines in message``
    error and goes on); unfinished actions of all connections together hold at
    most 32 MiB and a client that does not read at most 64 MiB of answers and
    events, past which that connection is closed. Event filters (``Filter``, in
    the classic and the ``MatchCriteria`` form, see ``_eventfilter``) and
    Hangup's ``/regex/`` are POSIX extended regular expressions matched in time
    linear in the text (see ``_filters``), so no client can stall the others.
    Bad input from one client never harms another: an unexpected error closes
    that connection only and is logged to the ``amiproto.simulator`` logger.

    Run it with ``running()`` (a background thread), ``running_asyncio()`` or
    ``running_trio()``; each yields ``(host, port)``. One Simulator runs one
    server at a time; make several Simulators to run several.
    """

    def __init__(
        self,
        users: Mapping[str, tuple[str, str, str]] | None = None,
        *,
        manager_conf: str | Path | None = None,
        calls_per_second: float | None = None,
        replay: str | Path | None = None,
        replay_rate: float | None = None,
        log: Callable[[str], None] | None = None,
        auth_timeout: float = DEFAULT_LIMITS.auth_timeout,
        max_unauthenticated: int = DEFAULT_LIMITS.max_unauthenticated,
        write_each_message: bool = False,
    ) -> None:
        self._manager_conf: str | None = None
        self.write_each_message = write_each_message
        warnings: list[str] = []
        if manager_conf is not None:
            self._manager_conf = Path(manager_conf).read_text(encoding="utf-8")
            self.users: dict[str, User] = parse_manager_conf(
                self._manager_conf, str(manager_conf), read=read_from_disk, warnings=warnings
            )
        else:
            self.users = users_from_mapping(DEFAULT_USERS if users is None else users)
        if calls_per_second is not None and calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        if replay_rate is not None and replay_rate <= 0:
            raise ValueError("replay_rate must be positive")
        self.limits = dataclasses.replace(
            DEFAULT_LIMITS, auth_timeout=auth_timeout, max_unauthenticated=max_unauthenticated
        )
        self.calls_per_second = calls_per_second
        self.replay_rate = replay_rate
        self._recording: Recording | None = None if replay is None else load_recording(replay)
        self._log = log
        if log is not None:
            for warning in warnings:  # what Asterisk would log while loading manager.conf
                log(f"manager.conf: {warning}")
        self._fault: Fault | None = None
        self._world: World | None = None
        self._stop: Callable[[], None] | None = None
        self._lock = threading.Lock()

    # -- state shared with the running server --------------------------------------

    def _new_world(self) -> World:
        now = time.monotonic()
        world = World(
            self.users,
            start=now,
            wall_offset=time.time() - now,
            replay=self._recording,
            replay_rate=self.replay_rate,
            manager_conf=self._manager_conf,
            limits=self.limits,
            write_each_message=self.write_each_message,
        )
        world.fault = self._fault
        if self.calls_per_second is not None:
            world.pbx.now = now
            world.pbx.start_load(self.calls_per_second)
        return world

    def _claim(self, world: World, stop: Callable[[], None]) -> None:
        with self._lock:
            if self._world is not None:
                raise RuntimeError("this Simulator is already running; create another one")
            self._world, self._stop = world, stop

    def _release(self) -> None:
        with self._lock:
            self._world = self._stop = None

    def set_fault(self, kind: str | None, **options: Any) -> None:
        """Misbehave on every connection from now on; ``set_fault(None)`` clears it.

        Kinds: ``close_mid_list`` (on the next list action, send the Response and
        the first item, then close), ``stall`` (read but never answer again),
        ``garbage`` (send ``data``, by default ``b"\\x00\\xffgarbage line\\r\\n\\r\\n"``,
        before each answer), ``oversized`` (answer the next action with one message
        of ``size`` bytes), ``bare_lf`` (LF line endings in everything sent),
        ``cut_at_eof`` (send half of the next answer, then close). The one-shot
        kinds fire once on each connection.
        """
        self._fault = None if kind is None else Fault(kind, options)
        world = self._world
        if world is not None:
            world.fault = self._fault

    @property
    def connections(self) -> int:
        """How many clients are connected now."""
        world = self._world
        return 0 if world is None else len(world.sessions)

    def stop(self) -> None:
        """Stop the running server, if any; idempotent."""
        stop = self._stop
        if stop is not None:
            stop()

    # -- runners ---------------------------------------------------------------------

    @contextlib.contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, int]]:
        """Serve from a background thread; yields ``(host, port)`` and stops on exit."""
        world = self._new_world()
        server = ThreadServer(world, host, port, self._log)
        self._claim(world, server.stop)
        try:
            server.start()
            yield server.address
        finally:
            server.stop()
            self._release()

    @contextlib.asynccontextmanager
    async def running_asyncio(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[tuple[str, int]]:
        """Serve as asyncio tasks on the running loop; yields ``(host, port)``."""
        world = self._new_world()
        server = AsyncioServer(world, self._log)
        self._claim(world, server.close)
        try:
            yield await server.start(host, port)
        finally:
            await server.aclose()
            self._release()

    @contextlib.asynccontextmanager
    async def running_trio(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[tuple[str, int]]:
        """Serve as trio tasks in a nursery of their own; yields ``(host, port)``."""
        # trio is optional: import it only for those who run under it.
        from ._trio_runner import serve_trio  # noqa: PLC0415

        world = self._new_world()
        async with serve_trio(world, host, port, self._log) as (address, cancel):
            self._claim(world, cancel)
            try:
                yield address
            finally:
                self._release()

    def serve_forever(
        self, host: str = "127.0.0.1", port: int = 5038, ready: Callable[[str, int], None] | None = None
    ) -> None:
        """Serve in the foreground (from a thread) until interrupted or ``stop()``."""
        with self.running(host, port) as (bound_host, bound_port):
            if ready is not None:
                ready(bound_host, bound_port)
            stopped = threading.Event()
            previous = self._stop

            def stop() -> None:
                if previous is not None:
                    previous()
                stopped.set()

            self._stop = stop
            try:
                while not stopped.wait(0.2):
                    pass
            finally:
                self._stop = previous

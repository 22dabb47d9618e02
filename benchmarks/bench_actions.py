"""The clients' CPU per action: pipelined Pings, beside a raw socket, in one run.

    python benchmarks/bench_actions.py [--rounds 7] [--pings 20000]
    python benchmarks/bench_actions.py --host 127.0.0.1 --port 5038 --username U --secret S

What is measured is the client's own CPU: ``time.process_time()`` of this process
(every thread of it: the sync client's reader, writer and callers alike) over the
Pings, divided by their number. The server runs in another process, the
simulator in a subprocess by default (``--write-each-message``: each answer in a
write of its own, as Asterisk sends them), or any server on loopback given with
``--host``/``--port``, so its work is not counted; the connect and the login are
not either. Wall time per Ping is printed beside it, for information: it waits
for the server too. So is the part of the CPU time that Python's cyclic garbage
collector ran (``gc.callbacks``): it grows with the objects that each action
keeps alive while in flight, the framework's tasks and futures as well as ours.

The baseline is a raw socket in this process that writes the same Pings (each
with its own ActionID, ``WINDOW`` in one ``sendall``) and counts the answers as
whole messages come: the least any client can do. Then each client, in its way
of having many actions in flight (``WINDOW`` at a time, each window awaited
before the next): ``submit()`` on each client, its answers awaited in order
(``asyncio.gather`` would add a callback and a loop turn per Future, asyncio's
own cost and not the client's: about 1.4 µs per Ping on our machine); ``send_action`` from ``WINDOW``
concurrent tasks on asyncio and trio; ``send_action`` from ``THREADS`` threads
on the sync client, each waiting for its answer before the next. The core alone
(``Connection.send`` and the answers fed back from memory, no socket) is shown
too: it is the floor of every client, which adds its socket and its waiters.
So are the frameworks alone: a task per action on asyncio and on trio, and
``THREADS`` threads handing each action to one answering thread, each waiter
parked and woken with no socket and no AMI. A row that gives each action its own
task or thread costs at least the core alone plus its framework alone; the report
says whether its goal lies above that floor.

The runs take turns in ``--rounds`` rounds. A row's ratio is the median over the
rounds of its CPU per Ping over the raw socket's in the same round, so that a
shared machine's slow spells fall on both alike; the middle half of those
per-round ratios follows, then the goal of issue 17 for that row. Compare the
ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import trio
from bench_clients import simulator

import amiproto
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client

WINDOW = 400  # Pings in flight at once (and tasks, for send_action on asyncio and trio)
THREADS = 8  # threads calling the sync client's send_action
TIMEOUT = 10.0  # every Ping's timeout, and every wait's


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    username: str
    secret: str


@dataclass(frozen=True)
class Cost:
    """One run: CPU seconds of this process, wall seconds, and the seconds Python's
    cyclic garbage collector ran (part of the CPU), over its Pings."""

    cpu: float
    wall: float
    collecting: float = 0.0


class _CollectorClock:
    """Adds up the time the cyclic garbage collector runs, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started


@contextmanager
def timed(out: list[Cost]) -> Iterator[None]:
    gc.collect()
    collector = _CollectorClock()
    gc.callbacks.append(collector)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        yield
    finally:
        gc.callbacks.remove(collector)
    out.append(Cost(time.process_time() - cpu, time.perf_counter() - wall, collector.total))


def windows(pings: int) -> int:
    return max(1, pings // WINDOW)


# -- the baseline ----------------------------------------------------------------------


def raw_socket(server: Server, pings: int) -> Cost:
    """Pings written ``WINDOW`` at a time in one ``sendall``; answers counted as whole
    messages come (found with ``bytearray.find``, as any reader must)."""
    out: list[Cost] = []
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray()

    def next_message() -> bytes:
        searched = 0
        while (end := buffer.find(b"\r\n\r\n", searched)) < 0:
            searched = max(0, len(buffer) - 3)
            data = sock.recv(256 * 1024)
            if not data:
                raise ConnectionError("the server closed the connection")
            buffer.extend(data)
        message = bytes(buffer[: end + 4])
        del buffer[: end + 4]
        return message

    try:
        sock.sendall(
            f"Action: Login\r\nActionID: login\r\nUsername: {server.username}\r\n"
            f"Secret: {server.secret}\r\nEvents: off\r\n\r\n".encode()
        )
        while b"ActionID: login" not in (message := next_message()):
            pass
        if b"Success" not in message:
            raise RuntimeError("raw socket: the login was refused")
        answer = b"Response: Success\r\nActionID: raw-"
        with timed(out):
            for window in range(windows(pings)):
                first = window * WINDOW
                sock.sendall(
                    b"".join(
                        b"Action: Ping\r\nActionID: raw-%d\r\n\r\n" % n for n in range(first, first + WINDOW)
                    )
                )
                answered = 0
                while answered < WINDOW:
                    answered += next_message().startswith(answer)
    finally:
        sock.close()
    return out[0]


# -- the core alone ----------------------------------------------------------------------


def core_alone(server: Server, pings: int) -> Cost:
    """What every client does on top of: ``Connection.send`` for each Ping, the server's
    answers (made beforehand, in the simulator's words) fed back in one piece per window,
    and every item drained with ``next_events()``. No socket, no server: the floor of
    any client built on the core. ``server`` is not used."""
    out: list[Cost] = []
    conn = amiproto.Connection(action_id_prefix="core")
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    conn.next_events()
    count = windows(pings)
    answers = [
        b"".join(
            b"Response: Success\r\nActionID: core-%d\r\nPing: Pong\r\nTimestamp: 1700000000.123456\r\n\r\n"
            % n
            for n in range(window * WINDOW + 1, (window + 1) * WINDOW + 1)
        )
        for window in range(count)
    ]
    clock = time.monotonic
    with timed(out):
        for window in range(count):
            now = clock()
            for _ in range(WINDOW):
                conn.send(amiproto.Action("Ping"), timeout=TIMEOUT, now=now)
            conn.receive_data(answers[window], now=now)
            answered = 0
            for item in conn.next_events():
                if isinstance(item, amiproto.ActionCompleted):
                    answered += item.success
            if answered != WINDOW:
                raise RuntimeError(f"core alone: {answered} of {WINDOW} Pings answered")
            conn.next_deadline()
    return out[0]


# -- the clients -------------------------------------------------------------------------


def _sync_connect(server: Server) -> sync_client.Client:
    return sync_client.connect(server.host, server.port, **_login(server))


def sync_submit(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    with _sync_connect(server) as client, timed(out):
        for _ in range(windows(pings)):
            futures = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
            if not all(future.result(TIMEOUT).success for future in futures):
                raise RuntimeError("sync: a Ping failed")
    return out[0]


def _in_threads(work: Callable[[], None], who: str) -> None:
    """``work`` in ``THREADS`` threads at once, until all end; raises the first failure,
    or if one still runs after 60 s."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        if thread.is_alive():
            raise RuntimeError(f"{who}: a thread still runs after 60 s")
    if failures:
        raise failures[0]


def sync_threads(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    each = windows(pings) * WINDOW // THREADS
    with _sync_connect(server) as client:

        def work() -> None:
            for _ in range(each):
                if not client.send_action(amiproto.Action("Ping")).success:
                    raise RuntimeError("sync: a Ping failed")

        with timed(out):
            _in_threads(work, "sync")
    return out[0]


def _aio_connect(server: Server) -> AbstractAsyncContextManager[aio_client.Client]:
    return aio_client.connect(server.host, server.port, **_login(server))


def _login(server: Server) -> dict[str, Any]:
    """What every client's ``connect`` is given besides the address, alike for all."""
    return {"username": server.username, "secret": server.secret, "events": False, "timeout": TIMEOUT}


async def asyncio_submit(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    async with _aio_connect(server) as client:
        with timed(out):
            for _ in range(windows(pings)):
                futures = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
                for future in futures:  # in order, as the trio and sync rows wait
                    if not (await future).success:
                        raise RuntimeError("asyncio: a Ping failed")
    return out[0]


async def asyncio_tasks(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    async with _aio_connect(server) as client:
        with timed(out):
            for _ in range(windows(pings)):
                results = await asyncio.gather(
                    *(client.send_action(amiproto.Action("Ping")) for _ in range(WINDOW))
                )
                if not all(r.success for r in results):
                    raise RuntimeError("asyncio: a Ping failed")
    return out[0]


def _trio_connect(server: Server) -> AbstractAsyncContextManager[trio_client.Client]:
    return trio_client.connect(server.host, server.port, **_login(server))


async def trio_submit(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    async with _trio_connect(server) as client:
        with timed(out):
            for _ in range(windows(pings)):
                pending = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
                for answer in pending:
                    if not (await answer.get()).success:
                        raise RuntimeError("trio: a Ping failed")
    return out[0]


async def trio_tasks(server: Server, pings: int) -> Cost:
    out: list[Cost] = []
    async with _trio_connect(server) as client:

        async def ping() -> None:
            if not (await client.send_action(amiproto.Action("Ping"))).success:
                raise RuntimeError("trio: a Ping failed")

        with timed(out):
            for _ in range(windows(pings)):
                async with trio.open_nursery() as nursery:
                    for _ in range(WINDOW):
                        nursery.start_soon(ping)
    return out[0]


# -- the frameworks alone ---------------------------------------------------------------
# What a task or a thread per action costs on its own, with no socket, no server and no
# AMI: each action's waiter is parked and then woken from outside, in windows as above.
# Any client built on the core that gives each action its own task or thread pays this
# too, so the core alone plus this is the least such a row can cost (its "floor" below).


def asyncio_alone(server: Server, pings: int) -> Cost:
    """``WINDOW`` coroutines gathered, each awaiting a Future that is set from outside."""

    async def run() -> Cost:
        loop = asyncio.get_running_loop()
        out: list[Cost] = []
        with timed(out):
            for _ in range(windows(pings)):
                futures: list[asyncio.Future[bool]] = [loop.create_future() for _ in range(WINDOW)]

                async def wait(future: asyncio.Future[bool]) -> bool:
                    return await future

                async def answer(futures: list[asyncio.Future[bool]]) -> None:
                    for future in futures:
                        future.set_result(True)

                # The waits first, so that each is parked when its answer comes.
                results = await asyncio.gather(*(wait(f) for f in futures), answer(futures))
                if not all(results[:-1]):
                    raise RuntimeError("asyncio alone: a wait failed")
        return out[0]

    return asyncio.run(run())


def trio_alone(server: Server, pings: int) -> Cost:
    """``WINDOW`` tasks started in a nursery, each parked until rescheduled from outside."""

    async def run() -> Cost:
        out: list[Cost] = []
        with timed(out):
            for _ in range(windows(pings)):
                parked: list[trio.lowlevel.Task] = []

                async def wait(parked: list[trio.lowlevel.Task]) -> None:
                    parked.append(trio.lowlevel.current_task())
                    await trio.lowlevel.wait_task_rescheduled(lambda _: trio.lowlevel.Abort.FAILED)

                async with trio.open_nursery() as nursery:
                    for _ in range(WINDOW):
                        nursery.start_soon(wait, parked)
                    while len(parked) < WINDOW:
                        await trio.lowlevel.checkpoint()
                    for task in parked:
                        trio.lowlevel.reschedule(task)
        return out[0]

    return trio.run(run)


def threads_alone(server: Server, pings: int) -> Cost:
    """``THREADS`` threads, each handing its action to one answering thread and waiting on
    a lock until it answers: the reader's part of the sync client, with no socket."""
    out: list[Cost] = []
    each = windows(pings) * WINDOW // THREADS
    asked: list[threading.Lock] = []
    arrived = threading.Condition()
    stopping = False

    def answer() -> None:
        while True:
            with arrived:
                while not asked and not stopping:
                    arrived.wait(TIMEOUT)
                if stopping and not asked:
                    return
                batch = asked[:]
                asked.clear()
            for waiting in batch:
                waiting.release()

    def work() -> None:
        for _ in range(each):
            waiting = threading.Lock()
            waiting.acquire()
            with arrived:
                asked.append(waiting)
                arrived.notify()
            if not waiting.acquire(timeout=TIMEOUT):
                raise RuntimeError("threads alone: no answer in time")

    answerer = threading.Thread(target=answer)
    answerer.start()
    try:
        with timed(out):
            _in_threads(work, "threads alone")
    finally:
        with arrived:
            stopping = True
            arrived.notify()
        answerer.join(TIMEOUT)
    return out[0]


# -- the table ---------------------------------------------------------------------------

Run = Callable[[Server, int], Cost]
BASELINE = "raw socket"

# Row -> (how, the run, issue 17's goal: at most this many times the raw socket's CPU).
ROWS: dict[str, tuple[str, Run, float | None]] = {
    BASELINE: (f"sendall, {WINDOW} in flight", raw_socket, None),
    "core alone": ("no socket, no server", core_alone, None),
    "asyncio submit()": (f"{WINDOW} in flight", lambda s, n: asyncio.run(asyncio_submit(s, n)), 1.3),
    "trio submit()": (f"{WINDOW} in flight", lambda s, n: trio.run(trio_submit, s, n), 1.3),
    "sync submit()": (f"{WINDOW} in flight", sync_submit, 1.6),
    "asyncio send_action": (f"{WINDOW} concurrent tasks", lambda s, n: asyncio.run(asyncio_tasks(s, n)), 2.0),
    "trio send_action": (f"{WINDOW} concurrent tasks", lambda s, n: trio.run(trio_tasks, s, n), 2.0),
    "sync send_action": (f"{THREADS} threads", sync_threads, 3.0),
    "asyncio tasks alone": (f"{WINDOW} tasks, no socket", asyncio_alone, None),
    "trio tasks alone": (f"{WINDOW} tasks, no socket", trio_alone, None),
    "threads alone": (f"{THREADS} threads, no socket", threads_alone, None),
}

# A row with a task or thread per action -> what that costs alone (see above).
FRAMEWORK_ALONE = {
    "asyncio send_action": "asyncio tasks alone",
    "trio send_action": "trio tasks alone",
    "sync send_action": "threads alone",
}


def measure(server: Server, pings: int, rounds: int, names: list[str]) -> dict[str, list[Cost]]:
    costs: dict[str, list[Cost]] = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            costs[name].append(ROWS[name][1](server, pings))
    return costs


def ratio_text(base: list[Cost], mine: list[Cost]) -> tuple[float, str]:
    """The median over rounds of this row's CPU over the baseline's in the same round,
    and that median with the middle half of the per-round ratios."""
    ratios = [m.cpu / b.cpu for b, m in zip(base, mine, strict=True)]
    median = statistics.median(ratios)
    if len(ratios) < 4:
        return median, f"{median:.2f}x"
    low, _, high = statistics.quantiles(ratios, n=4)
    return median, f"{median:.2f}x ({low:.2f}-{high:.2f})"


def report(costs: dict[str, list[Cost]], pings: int) -> None:
    done = windows(pings) * WINDOW
    base = costs[BASELINE]
    print(f"{done} Pings a run, {WINDOW} in flight; client CPU (process_time) per Ping, the median over")
    print(f"{len(base)} interleaved rounds; x raw: the median of per-round ratios (their middle half)")
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    header = f"{'':22} {'in flight':<20} {'CPU µs':>7} {'GC µs':>6} {'wall µs':>8} {'x raw':>20} {'goal':>7}"
    print(header)
    print("-" * len(header))
    for name, runs in costs.items():
        how, _, goal = ROWS[name]
        cpu = statistics.median(c.cpu for c in runs) / done * 1e6
        wall = statistics.median(c.wall for c in runs) / done * 1e6
        collecting = statistics.median(c.collecting for c in runs) / done * 1e6
        if name == BASELINE:
            ratio, text, goal_text = 1.0, "", ""
        elif goal is None:
            ratio, text = ratio_text(base, runs)
            goal_text = "(floor)" if name == "core alone" else "(part)"
        else:
            ratio, text = ratio_text(base, runs)
            goal_text = f"<={goal:.1f}x" + (" ok" if ratio <= goal else " NO")
        print(f"{name:22} {how:<20} {cpu:7.1f} {collecting:6.2f} {wall:8.1f} {text:>20} {goal_text:>7}")
    if "core alone" in costs:
        floor, _ = ratio_text(base, costs["core alone"])
        print(
            f"The core alone costs {floor:.1f}x the raw socket: no client built on it can go below"
            " that; a goal under it is out of reach whatever the client does."
        )
        for name, alone in FRAMEWORK_ALONE.items():
            if name in costs and alone in costs:
                floor = statistics.median(
                    (core.cpu + framework.cpu) / raw.cpu
                    for raw, core, framework in zip(base, costs["core alone"], costs[alone], strict=True)
                )
                goal = ROWS[name][2]
                verdict = "out of reach here" if goal is not None and floor > goal else "within reach"
                print(
                    f"{name}: the core alone plus {alone} cost {floor:.1f}x the raw socket,"
                    f" the least it can cost; its goal <={goal}x is {verdict}."
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--pings", type=int, default=20_000, help=f"per run, a multiple of {WINDOW}")
    parser.add_argument("--host", help="a server on loopback instead of the simulator")
    parser.add_argument("--port", type=int, default=5038)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--secret", default="wordpass")
    parser.add_argument("--only", action="append", choices=list(ROWS), help="these rows (and the baseline)")
    args = parser.parse_args()
    fixed = (BASELINE, "core alone")
    wanted = set(args.only or ROWS)
    wanted |= {FRAMEWORK_ALONE[name] for name in wanted if name in FRAMEWORK_ALONE}
    names = [*fixed, *(name for name in ROWS if name not in fixed and name in wanted)]
    if args.host is not None:
        server = Server(args.host, args.port, args.username, args.secret)
        costs = measure(server, args.pings, args.rounds, names)
    else:
        # One write per answer, as Asterisk writes them: what the raw socket and the
        # clients then read is many small segments, as from a real server.
        with simulator(None, "--write-each-message") as (host, port):
            costs = measure(Server(host, port, "admin", "wordpass"), args.pings, args.rounds, names)
    report(costs, args.pings)


if __name__ == "__main__":
    main()

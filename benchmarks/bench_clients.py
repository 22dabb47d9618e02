"""Clients against the core alone: events delivered to a callback, and pipelined round trips.

    python benchmarks/bench_clients.py [--runs 9] [--pings 10000] [--part events|round-trips] [--no-pin]

The simulator runs in subprocesses (so it does not share the clients' GIL); the
runs are interleaved in rounds (core, then each client, then again). Rates are the
best of ``--runs``; a ratio is the median over the rounds of the client's rate over
the core alone's in the same round, so that a noisy machine's slow spells fall on
both sides alike, followed by the middle half of those per-round ratios (first to
third quartile), which shows how much the machine moved. Compare the ratios, not
the absolute numbers.

Events (issue 17's goal 3: every client at least ``EVENTS_GOAL`` times the core
alone's rate). Both sides get the same bytes: the events of
src/amiproto_transports/data/load_120calls.rx.gz that carry no ActionID, 32
times over (245,312 events, 94 MB), so that the login and the connection's start
weigh little beside the stream, and a run lasts long enough (a few tenths of a
second) that a shared machine's brief slow spells average out.
- core alone: a greeting, then those bytes fed to a ``Connection`` in 256 KiB
  chunks (the first one ``RECV_SIZE`` long, see below), every item taken with
  ``next_events()``, each ``Event`` handed to a callback that counts it;
- a client: the simulator replays those bytes over loopback as fast as the
  socket takes them once the client has logged in; a callback registered under
  ``""`` counts them. Clients read ``RECV_SIZE`` bytes at a time: 1 MiB with the
  C speedups, 128 KiB in pure Python (see its docstring for why).
Both are timed from the first event's callback to the last's (``Counter``), so
that neither the login nor the connection's start counts in a rate of events.
The first event's callback comes once the first chunk or read is parsed, so that
parse is outside the span: the core alone's first chunk is as long as a client's
first read, so that both leave out the same work (with 256 KiB, 1 MiB reads
left out three quarters of a MiB more of a client's work than of the core's).
The rate is wall time; the CPU this process spent per event over the same span
(every thread of it) is printed beside it, and the ratio of those too: the
simulator sends faster than any reader parses (the line under the table: a
socket that only counts the bytes takes them several times faster than the core
alone parses them), so a client's wall rate is its own work, and the CPU figures
agree with it. That holds when the simulator never takes a client's CPU, which
the core alone does not share with any sender: on Linux with two CPUs or more,
the replaying simulator runs on the last one and the events rows (the core alone
too) on the others, unless ``--no-pin``. Unpinned, the scheduler at times ran
the sync client's reader thread on the simulator's CPU, and its wall rate fell
by up to a fifth in those rounds while its CPU per event stayed the same.
Two rows without a client show what any client pays for the socket:
``socket + core``, one thread that ``recv``s ``RECV_SIZE`` bytes at a time and
does what the core alone does with them (the floor of a client), and the byte
counter.

Round trips. Both sides do the same thing in the same rhythm: send ``WINDOW``
Pings (each with a 10 s timeout), wait until all of them are answered, repeat.
The server's work is in both timings, because the window waits for it:
- core alone: ``Connection.send`` for each Ping, the server side framed with
  ``ServerConnection`` and answered with ``format_message`` in the simulator's
  exact Ping answer (Response, ActionID, Ping, Timestamp), fed back and drained
  with ``next_events()`` until every Ping has its ``ActionCompleted``; the next
  deadline is asked once per window, as the clients ask it once per read;
- a client: the same Pings over loopback to the simulator (whose per-action work,
  with permission checks, is a little more than ``ServerConnection`` alone), in
  each client's way of having many actions in flight, named in the table:
  ``submit()`` (a Future, or trio's ``Pending``, per action; no thread or task)
  or one task per ``send_action`` (asyncio and trio), which adds the event
  loop's cost of a task to every action.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

import amiproto
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client
from amiproto_transports._shared import RECV_SIZE

DATA = Path(__file__).resolve().parent.parent / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"
CHUNK = 256 * 1024
REPLAYS = 32  # times the recording's events are replayed in one run
EVENTS_GOAL = 0.8  # issue 17, goal 3: a client's events rate over the core alone's, at least
WINDOW = 200  # actions in flight at once
TIMEOUT = 10.0  # every Ping's timeout, on both sides
STARTUP_TIMEOUT = 30.0  # for the simulator to say where it listens


def replay_events() -> bytes:
    """The bytes the simulator replays: the recording's events without an ActionID,
    ``REPLAYS`` times."""
    conn = amiproto.Connection()
    conn.receive_data(gzip.decompress(DATA.read_bytes()))
    conn.receive_data(b"")
    out = []
    while True:
        item = conn.next_event()
        if isinstance(item, amiproto.Event):
            if item.action_id is None and not item.truncated:
                out.append(item.raw)
        elif item is amiproto.NEED_DATA or isinstance(item, amiproto.ConnectionClosed):
            return b"".join(out) * REPLAYS


# -- core alone ------------------------------------------------------------------------


def core_events(blob: bytes, expected: int | None = None) -> tuple[int, Span]:
    """The events in ``blob`` and the span from the first one's callback to the last's."""
    counter = Counter(expected)
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    callback = counter.callback
    # The first chunk is a client's first read: its parse is outside the span on both sides.
    starts = [0, *range(RECV_SIZE, len(blob), CHUNK)]
    for start, end in zip(starts, [*starts[1:], len(blob)], strict=True):
        conn.receive_data(blob[start:end], now=0.0)
        for item in conn.next_events():
            if isinstance(item, amiproto.Event):
                callback(item)
    return counter.count, counter.span()


def core_round_trips(total: int) -> float:
    client = amiproto.Connection()
    server = amiproto.ServerConnection()
    client.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    client.next_events()
    clock = time.monotonic
    started = time.perf_counter()
    done = 0
    while done < total:
        now = clock()
        wire = b"".join(client.send(amiproto.Action("Ping"), timeout=TIMEOUT, now=now) for _ in range(WINDOW))
        server.receive_data(wire)
        replies = []
        while True:
            action = server.next_action()
            if not isinstance(action, amiproto.ReceivedAction):
                break
            pairs = [("Response", "Success"), ("ActionID", action.action_id or "")]
            pairs += [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]
            replies.append(amiproto.format_message(pairs))
        client.receive_data(b"".join(replies), now=clock())
        answered = 0
        while answered < WINDOW:
            for item in client.next_events():
                if isinstance(item, amiproto.ActionCompleted):
                    assert item.success
                    answered += 1
        client.next_deadline()
        done += answered
    return time.perf_counter() - started


# -- the simulator in a subprocess -----------------------------------------------------


@contextmanager
def simulator(replay: bytes | None, *options: str, cpus: set[int] | None = None) -> Iterator[tuple[str, int]]:
    """A simulator in a subprocess, replaying ``replay`` (a stream of events) if given,
    with these command-line ``options``, on these ``cpus`` if given (Linux)."""
    folder = tempfile.TemporaryDirectory()
    command = [sys.executable, "-m", "amiproto_transports.simulator", "--port", "0", *options]
    if replay is not None:
        path = Path(folder.name) / "replay.rx"
        path.write_bytes(b"Asterisk Call Manager/11.0.0\r\n" + replay)
        command += ["--replay", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    if cpus is not None:
        os.sched_setaffinity(process.pid, cpus)  # before it starts any thread
    try:
        assert process.stdout is not None
        # Bounded: a simulator that fails to start must not hang the benchmark.
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(STARTUP_TIMEOUT):
                raise RuntimeError(f"the simulator did not start in {STARTUP_TIMEOUT:.0f} s")
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator ended at start (exit status {process.wait(5)})")
        address = line.rsplit(" ", 1)[-1].strip()
        host, _, port = address.rpartition(":")
        yield host, int(port)
    finally:
        process.terminate()
        process.wait(5)
        folder.cleanup()


# -- the clients: events ---------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """From the first event's callback to the last's: wall seconds, and CPU seconds of
    this process (every thread of it)."""

    wall: float
    cpu: float


class Counter:
    """The callback of every events run, core alone and clients alike, so that all pay
    the same per event: it counts, notes when the first and the ``expected``-th event
    came, and then calls ``done``. Timing from the first event leaves out the login
    and the connection's start, which are not part of a rate of events."""

    def __init__(self, expected: int | None, done: Callable[[], object] = lambda: None) -> None:
        self.count = 0
        self.expected = expected
        self.first = self.last = 0.0
        self.first_cpu = self.last_cpu = 0.0
        self._done = done

    def callback(self, event: amiproto.Event) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
            self.first_cpu = time.process_time()
        if self.count == self.expected:
            self.last = time.perf_counter()
            self.last_cpu = time.process_time()
            self._done()

    def elapsed(self) -> float:
        """Seconds from the first event to the ``expected``-th (or to now)."""
        return (self.last or time.perf_counter()) - self.first

    def span(self) -> Span:
        """``elapsed()``, with the CPU seconds of the same span."""
        return Span(self.elapsed(), (self.last_cpu or time.process_time()) - self.first_cpu)


def socket_and_core(address: tuple[str, int], expected: int) -> Span:
    """The floor of a client: one thread that reads the socket ``RECV_SIZE`` bytes at a
    time and does with them what the core alone does with its chunks. No login: the
    simulator replays to whoever sends it anything."""
    counter = Counter(expected)
    callback = counter.callback
    conn = amiproto.Connection()
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n")
        while counter.count < expected:
            data = sock.recv(RECV_SIZE)
            if not data:
                raise RuntimeError(f"socket + core: only {counter.count} of {expected} events")
            conn.receive_data(data, now=0.0)
            for item in conn.next_events():
                if isinstance(item, amiproto.Event):
                    callback(item)
    return counter.span()


def bytes_only(address: tuple[str, int], size: int) -> float:
    """Seconds a reader that only counts bytes takes to receive ``size`` bytes of the
    replay (from its first read): how fast the simulator sends."""
    with socket.create_connection(address, timeout=60) as sock:
        sock.sendall(b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\n\r\n")
        got = 0
        started = 0.0
        while got < size:
            data = sock.recv(256 * 1024)
            if not data:
                raise RuntimeError(f"bytes only: {got} of {size} bytes")
            if not started:
                started = time.perf_counter()
            got += len(data)
        return time.perf_counter() - started


def sync_events(address: tuple[str, int], expected: int) -> Span:
    done = threading.Event()
    counter = Counter(expected, done.set)
    with sync_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        client.login("admin", "wordpass")
        if not done.wait(60):
            raise RuntimeError(f"sync: only {counter.count} of {expected} events")
    return counter.span()


async def asyncio_events(address: tuple[str, int], expected: int) -> Span:
    done = asyncio.Event()
    counter = Counter(expected, done.set)
    async with aio_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        await client.login("admin", "wordpass")
        await asyncio.wait_for(done.wait(), 60)
    return counter.span()


async def trio_events(address: tuple[str, int], expected: int) -> Span:
    done = trio.Event()
    counter = Counter(expected, done.set)
    async with trio_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        await client.login("admin", "wordpass")
        with trio.fail_after(60):
            await done.wait()
    return counter.span()


# -- the clients: round trips ------------------------------------------------------------

Measure = Callable[[], float]


def sync_submit(address: tuple[str, int], total: int) -> float:
    with sync_client.connect(*address, username="admin", secret="wordpass", timeout=TIMEOUT) as client:
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            futures = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
            assert all(future.result(TIMEOUT).success for future in futures)
        return time.perf_counter() - started


async def asyncio_submit(address: tuple[str, int], total: int) -> float:
    async with aio_client.connect(*address, username="admin", secret="wordpass", timeout=TIMEOUT) as client:
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            futures = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
            assert all(r.success for r in await asyncio.gather(*futures))
        return time.perf_counter() - started


async def asyncio_tasks(address: tuple[str, int], total: int) -> float:
    async with aio_client.connect(*address, username="admin", secret="wordpass", timeout=TIMEOUT) as client:
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            results = await asyncio.gather(
                *(client.send_action(amiproto.Action("Ping")) for _ in range(WINDOW))
            )
            assert all(r.success for r in results)
        return time.perf_counter() - started


async def trio_submit(address: tuple[str, int], total: int) -> float:
    async with trio_client.connect(*address, username="admin", secret="wordpass", timeout=TIMEOUT) as client:
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            pending = [client.submit(amiproto.Action("Ping")) for _ in range(WINDOW)]
            for answer in pending:
                assert (await answer.get()).success
        return time.perf_counter() - started


async def trio_tasks(address: tuple[str, int], total: int) -> float:
    async with trio_client.connect(*address, username="admin", secret="wordpass", timeout=TIMEOUT) as client:

        async def ping() -> None:
            assert (await client.send_action(amiproto.Action("Ping"))).success

        started = time.perf_counter()
        for _ in range(total // WINDOW):
            async with trio.open_nursery() as nursery:
                for _ in range(WINDOW):
                    nursery.start_soon(ping)
        return time.perf_counter() - started


def split_cpus() -> tuple[set[int], set[int]] | None:
    """The events part's CPUs, on Linux with two or more: (the replaying simulator's,
    this process's); None: no split."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    return {allowed[-1]}, set(allowed[:-1])


@contextmanager
def on_cpus(cpus: set[int] | None) -> Iterator[None]:
    """This thread (and the threads it starts) on ``cpus`` meanwhile, if given."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


EventsMeasure = Callable[[], Span]
CORE = "core alone (in memory)"
FLOOR = "socket + core (no client)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pings", type=int, default=10_000)
    parser.add_argument("--part", choices=["events", "round-trips"], help="only this table")
    parser.add_argument(
        "--no-pin", action="store_true", help="events: leave the simulator and the clients on any CPU"
    )
    args = parser.parse_args()
    split = None if args.no_pin else split_cpus()
    sender_cpus, reader_cpus = split if split is not None else (None, None)
    blob = replay_events()
    expected, _ = core_events(blob)
    pings = max(WINDOW, args.pings // WINDOW * WINDOW)

    # Row name -> events measure; row name -> (how its round trips pipeline, measure).
    events: dict[str, EventsMeasure] = {}
    round_trips: dict[str, tuple[str, Measure]] = {}
    spans: dict[str, list[Span]] = {}
    times: dict[str, list[float]] = {}
    sender: list[float] = []  # the byte counter's seconds, per round
    with simulator(blob, cpus=sender_cpus) as replay, simulator(None) as plain:
        if args.part != "round-trips":
            events[CORE] = lambda: core_events(blob, expected)[1]
            events[FLOOR] = lambda: socket_and_core(replay, expected)
            events["sync"] = lambda: sync_events(replay, expected)
            events["asyncio"] = lambda: asyncio.run(asyncio_events(replay, expected))
            events["trio"] = lambda: trio.run(trio_events, replay, expected)
        if args.part != "events":
            round_trips[CORE] = ("Connection.send", lambda: core_round_trips(pings))
            round_trips["sync"] = ("submit()", lambda: sync_submit(plain, pings))
            round_trips["asyncio"] = ("submit()", lambda: asyncio.run(asyncio_submit(plain, pings)))
            round_trips["asyncio "] = (
                "send_action, task each",
                lambda: asyncio.run(asyncio_tasks(plain, pings)),
            )
            round_trips["trio"] = ("submit()", lambda: trio.run(trio_submit, plain, pings))
            round_trips["trio "] = ("send_action, task each", lambda: trio.run(trio_tasks, plain, pings))
        for _ in range(args.runs):
            with on_cpus(reader_cpus):
                for name, measure in events.items():
                    spans.setdefault(name, []).append(measure())
                if events:
                    sender.append(bytes_only(replay, len(blob) - 4096))  # all but the last few events
            for name, (_, rt_measure) in round_trips.items():
                times.setdefault(name, []).append(rt_measure())

    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if events:
        placed = (
            "any CPU"
            if split is None
            else f"CPUs {sorted(reader_cpus or ())}, the simulator {sorted(sender_cpus or ())}"
        )
        print(f"events: this process on {placed}")
    if events:
        print_events(spans, sender, expected, len(blob), args.runs)
    if round_trips:
        print_round_trips(round_trips, times, pings, args.runs)


def print_events(
    spans: dict[str, list[Span]], sender: list[float], expected: int, size: int, runs: int
) -> None:
    print()
    print(f"Events: {expected} replayed events ({size / 1e6:.1f} MB) to one callback, {runs} rounds.")
    print("events/s: the best run; x core: the median over the rounds of the row's rate over the core")
    print("alone's in the same round (its middle half); CPU: this process's CPU per event, the median,")
    print(f"and the same ratio on it. Goal (issue 17): every client at least {EVENTS_GOAL:.1f}x the core.")
    header = f"{'':26} {'events/s':>10} {'x core':>16} {'goal':>9}   {'CPU µs/ev':>9} {'x core':>16}"
    print(header)
    print("-" * len(header))
    core = spans[CORE]
    for name, runs_of in spans.items():
        rate = (expected - 1) / min(span.wall for span in runs_of)
        cpu = statistics.median(span.cpu for span in runs_of) / (expected - 1) * 1e6
        if name == CORE:
            wall_text = cpu_text = goal_text = ""
        else:
            ratio, wall_text = paired_ratio([c.wall for c in core], [r.wall for r in runs_of])
            _, cpu_text = paired_ratio([c.cpu for c in core], [r.cpu for r in runs_of])
            met = " ok" if ratio >= EVENTS_GOAL else " NO"
            goal_text = "" if name == FLOOR else f">={EVENTS_GOAL:.1f}x{met}"
        print(f"{name:26} {rate:10.0f} {wall_text:>16} {goal_text:>9}   {cpu:9.3f} {cpu_text:>16}")
    ratios = [c.wall / s for c, s in zip(core, sender, strict=True)]
    print(
        f"The simulator sends {size / statistics.median(sender) / 1e6:.0f} MB/s to a reader that only"
        f" counts the bytes: {statistics.median(ratios):.1f}x the rate the core alone parses them."
    )


def print_round_trips(
    round_trips: dict[str, tuple[str, Measure]], times: dict[str, list[float]], pings: int, runs: int
) -> None:
    print()
    print(f"Round trips: {pings} Pings, {WINDOW} in flight, {runs} interleaved rounds; per s: the best run;")
    print("x core: the median over the rounds of the row's rate over the core alone's (its middle half)")
    header = f"{'':24} {'round trips via':<24} {'per s':>8} {'x core':>16}"
    print(header)
    print("-" * len(header))
    for name, (how, _) in round_trips.items():
        rate = pings / min(times[name])
        ratio_text = "" if name == CORE else paired_ratio(times[CORE], times[name])[1]
        print(f"{name.strip():24} {how:<24} {rate:8.0f} {ratio_text:>16}")


def paired_ratio(core_times: list[float], client_times: list[float]) -> tuple[float, str]:
    """The median over rounds of core time / client time (= client rate / core rate),
    and that median with the first to the third quartile of those ratios.

    Pairing each client run with the core run of its own round, minutes apart at most,
    keeps a slow spell of a shared machine from landing on one side only."""
    ratios = [core / client for core, client in zip(core_times, client_times, strict=True)]
    median = statistics.median(ratios)
    if len(ratios) < 4:
        return median, f"{median:.2f}"
    low, _, high = statistics.quantiles(ratios, n=4)
    return median, f"{median:.2f} ({low:.2f}-{high:.2f})"


if __name__ == "__main__":
    main()

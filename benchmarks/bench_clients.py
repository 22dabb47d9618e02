"""Clients against the core alone: events delivered to a callback, and pipelined round trips.

    python benchmarks/bench_clients.py [--runs 9] [--pings 10000]

The simulator runs in subprocesses (so it does not share the clients' GIL); the
runs are interleaved in rounds (core, then each client, then again). Rates are the
best of ``--runs``; a ratio is the median over the rounds of the client's rate over
the core alone's in the same round, so that a noisy machine's slow spells fall on
both sides alike, followed by the middle half of those per-round ratios (first to
third quartile), which shows how much the machine moved. Compare the ratios, not
the absolute numbers.

Events. Both sides get the same bytes: the events of
src/amiproto_transports/data/load_120calls.rx.gz that carry no ActionID, 32
times over (245,312 events, 94 MB), so that the login and the connection's start
weigh little beside the stream, and a run lasts long enough (a few tenths of a
second) that a shared machine's brief slow spells average out.
- core alone: a greeting, then those bytes fed to a ``Connection`` in 256 KiB
  chunks, every item taken with ``next_events()``, each ``Event`` handed to a
  callback that counts it;
- a client: the simulator replays those bytes over loopback as fast as the
  socket takes them once the client has logged in; a callback registered under
  ``""`` counts them.
Both are timed from the first event's callback to the last's (``Counter``), so
that neither the login nor the connection's start counts in a rate of events.

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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trio

import amiproto
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync as sync_client
from amiproto_transports import trio as trio_client

DATA = Path(__file__).resolve().parent.parent / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"
CHUNK = 256 * 1024
REPLAYS = 32  # times the recording's events are replayed in one run
WINDOW = 200  # actions in flight at once
TIMEOUT = 10.0  # every Ping's timeout, on both sides


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


def core_events(blob: bytes, expected: int | None = None) -> tuple[int, float]:
    """The events in ``blob`` and the seconds from the first one's callback to the last's."""
    counter = Counter(expected)
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    callback = counter.callback
    for start in range(0, len(blob), CHUNK):
        conn.receive_data(blob[start : start + CHUNK], now=0.0)
        for item in conn.next_events():
            if isinstance(item, amiproto.Event):
                callback(item)
    return counter.count, counter.elapsed()


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
def simulator(replay: bytes | None, *options: str) -> Iterator[tuple[str, int]]:
    """A simulator in a subprocess, replaying ``replay`` (a stream of events) if given,
    with these command-line ``options``."""
    folder = tempfile.TemporaryDirectory()
    command = [sys.executable, "-m", "amiproto_transports.simulator", "--port", "0", *options]
    if replay is not None:
        path = Path(folder.name) / "replay.rx"
        path.write_bytes(b"Asterisk Call Manager/11.0.0\r\n" + replay)
        command += ["--replay", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        address = line.rsplit(" ", 1)[-1].strip()
        host, _, port = address.rpartition(":")
        yield host, int(port)
    finally:
        process.terminate()
        process.wait(5)
        folder.cleanup()


# -- the clients: events ---------------------------------------------------------------


class Counter:
    """The callback of every events run, core alone and clients alike, so that all pay
    the same per event: it counts, notes when the first and the ``expected``-th event
    came, and then calls ``done``. Timing from the first event leaves out the login
    and the connection's start, which are not part of a rate of events."""

    def __init__(self, expected: int | None, done: Callable[[], object] = lambda: None) -> None:
        self.count = 0
        self.expected = expected
        self.first = self.last = 0.0
        self._done = done

    def callback(self, event: amiproto.Event) -> None:
        self.count += 1
        if self.count == 1:
            self.first = time.perf_counter()
        if self.count == self.expected:
            self.last = time.perf_counter()
            self._done()

    def elapsed(self) -> float:
        """Seconds from the first event to the ``expected``-th (or to now)."""
        return (self.last or time.perf_counter()) - self.first


def sync_events(address: tuple[str, int], expected: int) -> float:
    done = threading.Event()
    counter = Counter(expected, done.set)
    with sync_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        client.login("admin", "wordpass")
        if not done.wait(60):
            raise RuntimeError(f"sync: only {counter.count} of {expected} events")
    return counter.elapsed()


async def asyncio_events(address: tuple[str, int], expected: int) -> float:
    done = asyncio.Event()
    counter = Counter(expected, done.set)
    async with aio_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        await client.login("admin", "wordpass")
        await asyncio.wait_for(done.wait(), 60)
    return counter.elapsed()


async def trio_events(address: tuple[str, int], expected: int) -> float:
    done = trio.Event()
    counter = Counter(expected, done.set)
    async with trio_client.connect(*address, timeout=10) as client:
        client.register_callback("", counter.callback)
        await client.login("admin", "wordpass")
        with trio.fail_after(60):
            await done.wait()
    return counter.elapsed()


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pings", type=int, default=10_000)
    args = parser.parse_args()
    blob = replay_events()
    expected, _ = core_events(blob)
    pings = max(WINDOW, args.pings // WINDOW * WINDOW)

    # Row name -> (how its round trips pipeline, events measure or None, round-trip measure).
    rows: dict[str, tuple[str, Measure | None, Measure]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    with simulator(blob) as replay, simulator(None) as plain:
        rows["core alone (in memory)"] = (
            "Connection.send",
            lambda: core_events(blob, expected)[1],
            lambda: core_round_trips(pings),
        )
        rows["sync"] = ("submit()", lambda: sync_events(replay, expected), lambda: sync_submit(plain, pings))
        rows["asyncio"] = (
            "submit()",
            lambda: asyncio.run(asyncio_events(replay, expected)),
            lambda: asyncio.run(asyncio_submit(plain, pings)),
        )
        rows["asyncio "] = ("send_action, task each", None, lambda: asyncio.run(asyncio_tasks(plain, pings)))
        rows["trio"] = (
            "submit()",
            lambda: trio.run(trio_events, replay, expected),
            lambda: trio.run(trio_submit, plain, pings),
        )
        rows["trio "] = ("send_action, task each", None, lambda: trio.run(trio_tasks, plain, pings))
        for _ in range(args.runs):
            for name, (_, events, round_trips) in rows.items():
                if events is not None:
                    times.setdefault((name, "ev"), []).append(events())
                times.setdefault((name, "rt"), []).append(round_trips())

    print(f"{expected} replayed events ({len(blob) / 1e6:.1f} MB); {pings} Pings, {WINDOW} in flight;")
    print(f"rates: the best of {args.runs} interleaved rounds; x core: the median over the rounds of")
    print("the client's rate over the core alone's in the same round, then its middle half")
    print()
    header = f"{'':24} {'events/s':>10} {'x core':>16}   {'round trips via':<24} {'per s':>8} {'x core':>16}"
    print(header)
    print("-" * len(header))
    core = "core alone (in memory)"
    for name, (how, events, _) in rows.items():
        rt = pings / min(times[(name, "rt")])
        if events is None:
            ev_text = f"{'':10} {'':16}"
        else:
            ev = (expected - 1) / min(times[(name, "ev")])
            ev_text = f"{ev:10.0f} {paired_ratio(times[(core, 'ev')], times[(name, 'ev')]):>16}"
        rt_ratio = paired_ratio(times[(core, "rt")], times[(name, "rt")])
        print(f"{name.strip():24} {ev_text}   {how:<24} {rt:8.0f} {rt_ratio:>16}")


def paired_ratio(core_times: list[float], client_times: list[float]) -> str:
    """The median over rounds of core time / client time (= client rate / core rate),
    then the first to the third quartile of those ratios.

    Pairing each client run with the core run of its own round, minutes apart at most,
    keeps a slow spell of a shared machine from landing on one side only."""
    ratios = [core / client for core, client in zip(core_times, client_times, strict=True)]
    median = f"{statistics.median(ratios):.2f}"
    if len(ratios) < 4:
        return median
    low, _, high = statistics.quantiles(ratios, n=4)
    return f"{median} ({low:.2f}-{high:.2f})"


if __name__ == "__main__":
    main()

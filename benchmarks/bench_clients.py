"""Clients against the core alone: events delivered to a callback, and pipelined round trips.

    python benchmarks/bench_clients.py [--runs 3] [--pings 4000]

The simulator runs in a subprocess (so it does not share the clients' GIL) and
replays src/amiproto_transports/data/load_120calls.rx.gz over loopback as fast as
the socket takes it. "core alone" does the same work in memory in this process:
the replayed events fed to a Connection in 256 KiB chunks and handed to a
callback; for round trips, Pings through the core and the server-side framing
(ServerConnection, format_message) with no sockets. Best of ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import subprocess
import sys
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
WINDOW = 200  # actions in flight at once


def replay_events() -> bytes:
    """The bytes the simulator replays: the recording's events without an ActionID."""
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
            return b"".join(out)


# -- core alone ------------------------------------------------------------------------


def core_events(blob: bytes) -> tuple[int, float]:
    count = 0

    def callback(event: amiproto.Event) -> None:
        nonlocal count
        count += 1

    started = time.perf_counter()
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    for start in range(0, len(blob), CHUNK):
        conn.receive_data(blob[start : start + CHUNK], now=0.0)
        while True:
            item = conn.next_event()
            if item is amiproto.NEED_DATA:
                break
            if isinstance(item, amiproto.Event):
                callback(item)
    return count, time.perf_counter() - started


def core_round_trips(total: int) -> float:
    client = amiproto.Connection()
    server = amiproto.ServerConnection()
    client.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    client.next_event()
    started = time.perf_counter()
    done = 0
    while done < total:
        wire = b"".join(client.send(amiproto.Action("Ping"), timeout=10, now=0.0) for _ in range(WINDOW))
        server.receive_data(wire)
        replies = []
        while True:
            action = server.next_action()
            if not isinstance(action, amiproto.ReceivedAction):
                break
            replies.append(
                amiproto.format_message(
                    [("Response", "Success"), ("ActionID", action.action_id or ""), ("Ping", "Pong")]
                )
            )
        client.receive_data(b"".join(replies), now=0.0)
        while True:
            item = client.next_event()
            if item is amiproto.NEED_DATA:
                break
            if isinstance(item, amiproto.ActionCompleted):
                done += 1
    return time.perf_counter() - started


# -- the simulator in a subprocess -----------------------------------------------------


@contextmanager
def simulator(replay: bool) -> Iterator[tuple[str, int]]:
    command = [sys.executable, "-m", "amiproto_transports.simulator", "--port", "0"]
    if replay:
        command += ["--replay", str(DATA)]
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


# -- the clients -----------------------------------------------------------------------


def sync_events(address: tuple[str, int], expected: int) -> float:
    done = threading.Event()
    count = 0

    def callback(event: amiproto.Event) -> None:
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    client = sync_client.connect(*address, timeout=10)
    client.register_callback("", callback)
    started = time.perf_counter()
    client.login("admin", "wordpass")
    if not done.wait(60):
        raise RuntimeError(f"sync: only {count} of {expected} events")
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def sync_round_trips(address: tuple[str, int], total: int, threads: int = 4) -> float:
    """``threads`` threads, each keeping WINDOW / threads Pings in flight with submit()."""
    with sync_client.connect(*address, username="admin", secret="wordpass", timeout=10) as client:
        share = WINDOW // threads

        def work() -> None:
            for _ in range(total // WINDOW):
                futures = [client.submit(amiproto.Action("Ping")) for _ in range(share)]
                for future in futures:
                    assert future.result(10).success

        workers = [threading.Thread(target=work) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return time.perf_counter() - started


async def asyncio_events(address: tuple[str, int], expected: int) -> float:
    done = asyncio.Event()
    count = 0

    def callback(event: amiproto.Event) -> None:
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    async with aio_client.connect(*address, timeout=10) as client:
        client.register_callback("", callback)
        started = time.perf_counter()
        await client.login("admin", "wordpass")
        await asyncio.wait_for(done.wait(), 60)
        return time.perf_counter() - started


async def asyncio_round_trips(address: tuple[str, int], total: int) -> float:
    async with aio_client.connect(*address, username="admin", secret="wordpass", timeout=10) as client:
        started = time.perf_counter()
        for _ in range(total // WINDOW):
            results = await asyncio.gather(
                *(client.send_action(amiproto.Action("Ping")) for _ in range(WINDOW))
            )
            assert all(r.success for r in results)
        return time.perf_counter() - started


async def trio_events(address: tuple[str, int], expected: int) -> float:
    done = trio.Event()
    count = 0

    def callback(event: amiproto.Event) -> None:
        nonlocal count
        count += 1
        if count >= expected:
            done.set()

    async with trio_client.connect(*address, timeout=10) as client:
        client.register_callback("", callback)
        started = time.perf_counter()
        await client.login("admin", "wordpass")
        with trio.fail_after(60):
            await done.wait()
        return time.perf_counter() - started


async def trio_round_trips(address: tuple[str, int], total: int) -> float:
    async with trio_client.connect(*address, username="admin", secret="wordpass", timeout=10) as client:

        async def ping() -> None:
            assert (await client.send_action(amiproto.Action("Ping"))).success

        started = time.perf_counter()
        for _ in range(total // WINDOW):
            async with trio.open_nursery() as nursery:
                for _ in range(WINDOW):
                    nursery.start_soon(ping)
        return time.perf_counter() - started


def best(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pings", type=int, default=4000)
    args = parser.parse_args()
    blob = replay_events()
    expected, _ = core_events(blob)
    pings = args.pings // WINDOW * WINDOW

    rows: list[tuple[str, float, float]] = []
    core_ev = best(args.runs, lambda: core_events(blob)[1])
    core_rt = best(args.runs, lambda: core_round_trips(pings))
    rows.append(("core alone (in memory)", expected / core_ev, pings / core_rt))

    with simulator(replay=True) as address:
        sync_ev = best(args.runs, lambda: sync_events(address, expected))
        aio_ev = best(args.runs, lambda: asyncio.run(asyncio_events(address, expected)))
        trio_ev = best(args.runs, lambda: trio.run(trio_events, address, expected))
    with simulator(replay=False) as address:
        sync_rt = best(args.runs, lambda: sync_round_trips(address, pings))
        aio_rt = best(args.runs, lambda: asyncio.run(asyncio_round_trips(address, pings)))
        trio_rt = best(args.runs, lambda: trio.run(trio_round_trips, address, pings))
    rows.append(("sync client", expected / sync_ev, pings / sync_rt))
    rows.append(("asyncio client", expected / aio_ev, pings / aio_rt))
    rows.append(("trio client", expected / trio_ev, pings / trio_rt))

    print(
        f"{expected} replayed events ({len(blob) / 1e6:.1f} MB), {pings} pipelined Pings ({WINDOW} in flight)"
    )
    print(f"{'':24} {'events/s':>10} {'x core':>7} {'round trips/s':>14} {'x core':>7}")
    base_ev, base_rt = rows[0][1], rows[0][2]
    for name, ev, rt in rows:
        print(f"{name:24} {ev:10.0f} {ev / base_ev:7.2f} {rt:14.0f} {rt / base_rt:7.2f}")


if __name__ == "__main__":
    main()

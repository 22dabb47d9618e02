"""The clients over loopback: the recording's events to a callback, and pipelined Pings.

The simulator runs in a subprocess (``bench_clients.simulator``), so that it does
not share the clients' GIL. Our clients run as ``bench_clients.py`` runs them;
panoramisk and the raw socket as ``peer_clients`` does, in the same shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial

import trio
from bench_clients import (
    WINDOW,
    asyncio_events,
    asyncio_submit,
    simulator,
    sync_events,
    sync_submit,
    trio_events,
    trio_submit,
)

from amiproto_transports.benchmark import DATA_FILE
from amiproto_transports.simulator._replay import load_recording

from .peer_clients import panoramisk_events, panoramisk_pings, raw_socket_pings
from .peer_readers import Peer
from .results import Chart, Column, Row, Section
from .rounds import Failures, Run, best, interleaved, paired_ratio

__all__ = ["events", "pings", "replay_blob"]

Address = tuple[str, int]
PANORAMISK = "panoramisk"


def replay_blob(messages: int | None, replays: int) -> tuple[bytes, int]:
    """What the simulator replays, and how many events that is: the recording's events
    (the ones it replays, from its own loader) among its first ``messages``, ``replays`` times."""
    recording = load_recording(DATA_FILE)
    count = len(recording) if messages is None else min(messages, len(recording))
    return recording.blob[: recording.offsets[count]] * replays, count * replays


def _panoramisk_row(peers: Sequence[Peer]) -> Row | None:
    peer = next((peer for peer in peers if peer.name == PANORAMISK), None)
    if peer is None:
        return None
    version = peer.version()
    return Row(f"panoramisk {version} (Manager)" if version else "panoramisk", failure=peer.missing())


def _measure(
    rounds: int, rows: dict[str, tuple[Row, Callable[[], float]]], work: float
) -> dict[str, list[float]]:
    """Interleaved rounds of every row that can run; its rate is ``work`` over its best time."""
    runs: dict[str, Run] = {name: run for name, (row, run) in rows.items() if row.failure is None}
    failures: Failures = {}
    times = interleaved(rounds, runs, failures)
    for name, (row, _) in rows.items():
        row.failure = row.failure or failures.get(name)
        seconds = best(times.get(name, []))
        if row.failure is None and seconds is not None:
            row.seconds["run"] = times[name]
            row.cells["rate"] = work / seconds
    return times


def events(messages: int | None, replays: int, rounds: int, peers: Sequence[Peer]) -> Section:
    blob, expected = replay_blob(messages, replays)
    rows: dict[str, tuple[Row, Callable[[], float]]] = {}
    with simulator(blob) as address:
        # Wall seconds of each: what panoramisk's runs give too.
        rows["sync"] = (Row("amiproto sync client"), lambda: sync_events(address, expected).wall)
        rows["asyncio"] = (
            Row("amiproto asyncio client"),
            lambda: asyncio.run(asyncio_events(address, expected)).wall,
        )
        rows["trio"] = (Row("amiproto trio client"), lambda: trio.run(trio_events, address, expected).wall)
        panoramisk = _panoramisk_row(peers)
        if panoramisk is not None:
            rows[PANORAMISK] = (panoramisk, partial(panoramisk_events, address, expected))
        # Events are timed from the first to the last: one fewer interval than events.
        times = _measure(rounds, rows, expected - 1)
    reference = times.get(PANORAMISK, [])
    for name, (row, _) in rows.items():
        if "rate" in row.cells:
            row.cells["x_panoramisk"] = paired_ratio(reference, times[name])
    notes = [
        f"{expected:,} events ({len(blob) / 1e6:.1f} MB) replayed by the simulator over loopback to one",
        "catch-all callback that counts them, timed from the first event to the last;",
        "x panoramisk: the row's rate over panoramisk's, median over rounds paired.",
    ]
    return Section(
        key="events",
        title="Events end to end: the recording replayed to a catch-all callback",
        columns=[Column("rate", "events/s", "{:,.0f}"), Column("x_panoramisk", "x panoramisk", "{:.2f}x")],
        rows=[row for row, _ in rows.values()],
        chart=Chart("x_panoramisk", "events/s, x panoramisk's (higher is faster)", reference=1.0),
        notes=notes,
    )


def pings(total: int, rounds: int, peers: Sequence[Peer]) -> Section:
    total = max(WINDOW, total // WINDOW * WINDOW)
    rows: dict[str, tuple[Row, Callable[[], float]]] = {}
    with simulator(None) as address:
        rows["raw"] = (Row("raw socket (sendall, bytes.find)"), partial(raw_socket_pings, address, total))
        rows["sync"] = (Row("amiproto sync client, submit()"), partial(sync_submit, address, total))
        rows["asyncio"] = (
            Row("amiproto asyncio client, submit()"),
            lambda: asyncio.run(asyncio_submit(address, total)),
        )
        rows["trio"] = (Row("amiproto trio client, submit()"), partial(trio.run, trio_submit, address, total))
        panoramisk = _panoramisk_row(peers)
        if panoramisk is not None:
            rows[PANORAMISK] = (panoramisk, partial(panoramisk_pings, address, total))
        times = _measure(rounds, rows, total)
    for name, (row, _) in rows.items():
        if "rate" in row.cells:
            row.cells["x_raw"] = paired_ratio(times["raw"], times[name])
    return Section(
        key="pings",
        title=f"Pipelined Pings against the simulator ({total:,} a run, {WINDOW} in flight)",
        columns=[Column("rate", "round trips/s", "{:,.0f}"), Column("x_raw", "x raw socket", "{:.2f}x")],
        rows=[row for row, _ in rows.values()],
        chart=Chart("x_raw", "round trips/s, x a raw socket's (higher is faster)", reference=1.0),
        notes=[
            f"Each run sends {WINDOW} Pings, waits for all their answers, and again; the raw socket",
            "writes them in one sendall and finds the answers with bytearray.find, no parsing.",
            "x raw socket: the row's rate over the raw socket's, median over rounds paired.",
        ],
    )

"""The parsers in memory: rates on the recording, memory held per message, one large message.

Every library gets the same bytes in the same segments: the committed recording
cut in 4 KiB segments, or one Command-like answer cut in 1448-byte TCP segments.
Our core runs through ``amiproto_transports.benchmark``'s workloads; the other
libraries through their own reading paths (``peer_readers``).
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc
from collections.abc import Callable, Sequence
from functools import partial

from amiproto import _accel
from amiproto._server import GREETING
from amiproto_transports.benchmark import (
    chunks_of,
    core_full,
    core_routing,
    feed_large,
    in_pure_python,
    large_message_chunks,
    memory_per_message,
    naive,
)

from .peer_readers import Peer, TimeBoxExceeded
from .results import Chart, Column, Row, Section
from .rounds import Failures, Run, best, counted, describe, interleaved, paired_ratio

__all__ = ["SEGMENT", "large_message", "memory", "parsers", "peer_rows", "recording_slice"]

SEGMENT = 4096  # bytes that arrive at once from the recording

NAIVE = "naive baseline (split, partition)"
CORE_C = "amiproto core, C: all headers"
CORE_C_ROUTING = "amiproto core, C: name and ActionID"
CORE_PY = "amiproto core, pure Python: all headers"
CORE_PY_ROUTING = "amiproto core, pure Python: name and ActionID"
NOT_BUILT = "the C speedups are not built"


def recording_slice(data: bytes, messages: int | None) -> bytes:
    """The recording's first ``messages`` messages (all of it for None)."""
    if messages is None:
        return data
    end = 0
    for _ in range(messages):
        found = data.find(b"\r\n\r\n", end)
        if found < 0:
            return data
        end = found + 4
    return data[:end]


def peer_rows(peers: Sequence[Peer]) -> dict[str, Row]:
    """A row for every library, named with its version; a missing one already failed."""
    rows = {}
    for peer in peers:
        version = peer.version()
        rows[peer.name] = Row(f"{peer.name} {version}" if version else peer.name, failure=peer.missing())
    return rows


def _count(peer: Peer, segments: Sequence[bytes]) -> int:
    count = 0

    def keep(message: object) -> None:
        nonlocal count
        count += 1

    peer.run(segments, keep)
    return count


def _core_reference() -> str:
    return CORE_C if _accel.speedups is not None else CORE_PY


def parsers(data: bytes, rounds: int, peers: Sequence[Peer]) -> Section:
    segments = chunks_of(data, SEGMENT)
    expected = core_full(segments)
    events = core_routing(segments)
    runs: dict[str, Run] = {NAIVE: counted(lambda: naive(data), expected)}
    rows = {name: Row(name) for name in (NAIVE, CORE_C, CORE_C_ROUTING, CORE_PY, CORE_PY_ROUTING)}
    if _accel.speedups is not None:
        runs[CORE_C] = counted(lambda: core_full(segments), expected)
        runs[CORE_C_ROUTING] = counted(lambda: core_routing(segments), events, "events")
    else:
        rows[CORE_C].failure = rows[CORE_C_ROUTING].failure = NOT_BUILT
    runs[CORE_PY] = counted(in_pure_python(lambda: core_full(segments)), expected)
    runs[CORE_PY_ROUTING] = counted(in_pure_python(lambda: core_routing(segments)), events, "events")
    libraries = peer_rows(peers)
    for peer in peers:
        if libraries[peer.name].failure is None:
            runs[peer.name] = counted(partial(_count, peer, segments), expected)
    rows.update(libraries)

    failures: Failures = {}
    times = interleaved(rounds, runs, failures)
    reference = times[_core_reference()]
    for name, row in rows.items():
        if name in failures:
            row.failure = failures[name]
        seconds = best(times.get(name, []))
        if row.failure is not None or seconds is None:
            continue
        row.seconds["recording"] = times[name]
        row.cells = {
            "rate": (events if name in (CORE_C_ROUTING, CORE_PY_ROUTING) else expected) / seconds,
            "megabytes": len(data) / 1e6 / seconds,
            "x_naive": paired_ratio(times[NAIVE], times[name]),
            "core_x": None if name == _core_reference() else paired_ratio(times[name], reference),
        }
    return Section(
        key="parsers",
        title=f"Parsing the recording ({len(data) / 1e6:.1f} MB, {expected} messages, "
        f"{SEGMENT}-byte segments)",
        columns=[
            Column("rate", "msg/s", "{:,.0f}"),
            Column("megabytes", "MB/s", "{:.1f}"),
            Column("x_naive", "x naive", "{:.2f}x"),
            Column("core_x", "core is", "{:.1f}x"),
        ],
        rows=list(rows.values()),
        chart=Chart("x_naive", "rate, x the naive baseline's (higher is faster)", reference=1.0),
        notes=[
            "x naive: the row's rate over the naive baseline's, median over rounds paired;",
            f"core is: how many times the row's rate the core's ({_core_reference()}) is, the same way;",
            "name and ActionID rows count the events only (routing programs); every library is",
            f"checked to return the core's {expected} messages.",
        ],
    )


def _held_per_message(build: Callable[[Callable[[object], None]], None], expected: int) -> float:
    """Bytes still allocated per message once ``build`` has made and kept them all."""
    kept: list[object] = []
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        build(kept.append)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    if len(kept) != expected:
        raise ValueError(f"returned {len(kept)} messages, where the core returns {expected}")
    return used / len(kept)


def memory(data: bytes, peers: Sequence[Peer]) -> Section:
    segments = chunks_of(data, SEGMENT)
    expected = core_full(segments)
    naive_bytes, lazy_bytes, parsed_bytes = memory_per_message(data)
    rows = [
        Row(NAIVE.replace("baseline", "dict of str"), {"bytes": naive_bytes}),
        Row("amiproto Message, as it comes", {"bytes": lazy_bytes}),
        Row("amiproto Message, headers looked up", {"bytes": parsed_bytes}),
    ]
    for peer, row in zip(peers, peer_rows(peers).values(), strict=True):
        if row.failure is None:
            try:
                row.cells["bytes"] = _held_per_message(partial(peer.run, segments), expected)
            except Exception as error:
                row.failure = describe(error)
        rows.append(row)
    for row in rows:
        if "bytes" in row.cells and row.cells["bytes"] is not None:
            row.cells["x_naive"] = row.cells["bytes"] / naive_bytes
    return Section(
        key="memory",
        title="Memory held per message of the recording (tracemalloc)",
        columns=[Column("bytes", "bytes/msg", "{:,.0f}"), Column("x_naive", "x naive", "{:.2f}x")],
        rows=rows,
        chart=Chart("x_naive", "bytes held per message, x a dict of str (lower is smaller)", reference=1.0),
        notes=[
            "What stays allocated once every message is made and kept: the objects a library",
            "hands over, with whatever they keep alive (amiproto keeps each message's bytes).",
        ],
    )


def _exponent(small: int, large: int, small_seconds: float, large_seconds: float) -> float | None:
    """k in time ~ size^k, from two sizes' times; None when the sizes do not differ."""
    if large <= small or small_seconds <= 0:
        return None
    return math.log(large_seconds / small_seconds) / math.log(large / small)


def _verdict(exponent: float | None) -> str:
    """The nearer of linear and quadratic, when it is near."""
    if exponent is None:
        return ""
    if abs(exponent - 1) <= 0.25:
        return "linear"
    return "quadratic" if abs(exponent - 2) <= 0.25 else "between linear and quadratic"


def _feed_peer(
    peer: Peer, segments: Sequence[bytes], time_box: float, stops: dict[str, TimeBoxExceeded]
) -> int:
    """Messages ``peer`` makes of ``segments``; stopped at ``time_box``, noted in ``stops``."""
    count = 0

    def keep(message: object) -> None:
        nonlocal count
        count += 1

    try:
        peer.run(segments, keep, deadline=time.perf_counter() + time_box)
    except TimeBoxExceeded as stop:
        stops[peer.name] = stop
        raise
    return count


def large_message(sizes: tuple[int, int], rounds: int, time_box: float, peers: Sequence[Peer]) -> Section:
    small, large = sizes
    # First, while the heap is fresh (see bench_core.py): a buffer that grows to
    # megabytes is reallocated differently in a fragmented heap.
    chunks = {size: large_message_chunks(size) for size in sizes}
    segments = {size: [GREETING, *chunks[size]] for size in sizes}
    c_row = Row("amiproto core, C", failure=None if _accel.speedups is not None else NOT_BUILT)
    feeds: dict[str, tuple[Row, dict[int, Callable[[], int]]]] = {
        "core C": (c_row, {size: partial(feed_large, chunks[size]) for size in sizes}),
        "core Python": (
            Row("amiproto core, pure Python"),
            {size: in_pure_python(partial(feed_large, chunks[size])) for size in sizes},
        ),
    }
    # One dict of stops a size: a library stopped on the small message is stopped on both.
    stops: dict[int, dict[str, TimeBoxExceeded]] = {size: {} for size in sizes}
    for peer, row in zip(peers, peer_rows(peers).values(), strict=True):
        feeds[peer.name] = (
            row,
            {size: partial(_feed_peer, peer, segments[size], time_box, stops[size]) for size in sizes},
        )

    runs: dict[str, Run] = {}
    for name, (row, feed_by_size) in feeds.items():
        if row.failure is None:
            for size, feed in feed_by_size.items():
                runs[f"{name}@{size}"] = counted(feed, 1)
    failures: Failures = {}
    times = interleaved(rounds, runs, failures)
    for name, (row, _) in feeds.items():
        if row.failure is not None:
            continue
        small_name, large_name = f"{name}@{small}", f"{name}@{large}"
        small_stop, large_stop = stops[small].get(name), stops[large].get(name)
        failed = [
            f"{size >> 10} KiB: {failures[run]}"
            for size, run, stop in ((small, small_name, small_stop), (large, large_name, large_stop))
            if run in failures and stop is None
        ]
        if failed:
            row.failure = failed[0]
            continue
        row.seconds = {str(small): times[small_name], str(large): times[large_name]}
        small_seconds, large_seconds = best(times[small_name]), best(times[large_name])
        if small_seconds is None or small_stop is not None:
            row.note = f"stopped: over {time_box:g} s for {small >> 10} KiB"
            continue
        row.cells["small_ms"] = small_seconds * 1e3
        if large_stop is None and large_seconds is not None:
            row.cells["large_ms"] = large_seconds * 1e3
            exponent = _exponent(small, large, small_seconds, large_seconds)
            row.note = _verdict(exponent)
        elif large_stop is not None:
            # Stopped part-way: the bytes read by then, and the time, give the exponent.
            read = large * large_stop.fed // large_stop.total
            exponent = _exponent(small, read, small_seconds, large_stop.seconds)
            row.note = f"stopped at {large_stop.seconds:.1f} s, {large_stop.fed / large_stop.total:.0%} read"
            row.note = f"{_verdict(exponent)}; {row.note}" if exponent is not None else row.note
        else:
            exponent = None
        row.cells["exponent"] = exponent
    rows = [row for row, _ in feeds.values()]
    return Section(
        key="large",
        title=f"One large Command answer, in 1448-byte segments ({small >> 10} KiB and {large >> 10} KiB)",
        columns=[
            Column("small_ms", f"{small >> 10} KiB ms", "{:,.1f}"),
            Column("large_ms", f"{large >> 10} KiB ms", "{:,.1f}"),
            Column("exponent", "time ~ size^", "{:.2f}"),
        ],
        rows=rows,
        chart=Chart(
            "exponent", "time grows as size^k (1 = linear, 2 = quadratic)", reference=1.0, notes=True
        ),
        notes=[
            f"k from the two sizes' best times; a library still reading after {time_box:g} s is stopped,",
            "and its k comes from the bytes it had read by then.",
        ],
    )

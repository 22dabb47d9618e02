"""The core benchmark's workloads, shared by ``benchmarks/bench_core.py`` and ``amiproto bench``.

Every run parses the committed recording of a real Asterisk 22 (load_120calls:
3.3 MB, 8,515 messages). The baseline is a naive parser: split on CRLF CRLF,
then each message on CRLF, then each line on ": ", into a dict of str. The core
runs feed the same bytes in chunks, reading every header of every message, or
only the name and ActionID of each event (a program that routes events).
Runs take turns, round after round, so that a busy machine's load falls on all
of them alike; a ratio is the median over the rounds of the two runs' ratio in
the same round (``paired_ratios``), and ``interleaved_best`` keeps each run's
best time.
"""

from __future__ import annotations

import gc
import gzip
import statistics
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from pathlib import Path

import amiproto
from amiproto import _accel
from amiproto._server import GREETING

__all__ = [
    "BASELINE",
    "DATA_FILE",
    "chunks_of",
    "core_full",
    "core_routing",
    "in_pure_python",
    "interleaved_best",
    "interleaved_rounds",
    "large_message_chunks",
    "feed_large",
    "load",
    "memory_per_message",
    "naive",
    "paired_ratios",
    "workloads",
]

DATA_FILE = Path(__file__).resolve().parent / "data" / "load_120calls.rx.gz"
BASELINE = "naive baseline (split/partition)"
Workload = Callable[[], int]


def load() -> bytes:
    return gzip.decompress(DATA_FILE.read_bytes())


def naive(data: bytes) -> int:
    """The baseline: split on CRLF CRLF, then lines, then ': ', into dicts of str."""
    count = 0
    for block in data.split(b"\r\n\r\n"):
        if not block:
            continue
        message = {}
        for line in block.split(b"\r\n"):
            name, _, value = line.partition(b": ")
            message[name.decode()] = value.decode()
        count += 1
    return count


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def core_full(chunks: list[bytes]) -> int:
    """Every header of every message read once."""
    conn = amiproto.Connection()
    count = 0
    message_type = amiproto.Message
    consume = deque[tuple[str, str]](maxlen=0).extend
    for chunk in chunks:
        conn.receive_data(chunk)
        for item in conn.next_events():
            if isinstance(item, message_type):
                # Materialise every (name, value) pair once, at C speed.
                consume(item.headers)
                count += 1
    return count


def core_routing(chunks: list[bytes]) -> int:
    """A program that only routes on the event name and the ActionID."""
    conn = amiproto.Connection()
    count = 0
    event_type = amiproto.Event
    for chunk in chunks:
        conn.receive_data(chunk)
        for item in conn.next_events():
            if isinstance(item, event_type):
                _ = item.name, item.action_id
                count += 1
    return count


def in_pure_python(run: Workload) -> Workload:
    """``run`` with the core's C speedups switched off while it runs."""

    def pure() -> int:
        _accel.use_speedups(False)
        try:
            return run()
        finally:
            _accel.use_speedups(True)

    return pure


def workloads(data: bytes) -> dict[str, Workload]:
    """The throughput runs, by label, the baseline first; the core runs with its C
    speedups when they are built, and in pure Python."""
    small, large = chunks_of(data, 4096), chunks_of(data, 65536)
    core_runs: dict[str, Workload] = {
        "all headers, 4 KiB chunks": lambda: core_full(small),
        "all headers, 64 KiB chunks": lambda: core_full(large),
        "name+action_id, 4 KiB": lambda: core_routing(small),
        "name+action_id, 64 KiB": lambda: core_routing(large),
    }
    runs: dict[str, Workload] = {BASELINE: lambda: naive(data)}
    if _accel.speedups is not None:
        runs.update({f"core (C speedups), {label}": run for label, run in core_runs.items()})
    runs.update({f"core (pure Python), {label}": in_pure_python(run) for label, run in core_runs.items()})
    return runs


def interleaved_rounds(
    repeat: int,
    runs: dict[str, Workload],
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, list[tuple[float, int]]]:
    """Each run's (seconds, count) in each of ``repeat`` rounds. In a round every run
    takes its turn, in the reverse order every other round, so that what the machine
    does meanwhile, and what one run leaves to the next, weighs on all of them alike."""
    rounds: dict[str, list[tuple[float, int]]] = {label: [] for label in runs}
    total = repeat * len(runs)
    done = 0
    for round_ in range(1, repeat + 1):
        order = list(runs.items())
        if round_ % 2 == 0:
            order.reverse()
        for label, run_once in order:
            if progress is not None:
                progress(f"round {round_}/{repeat}: {label}", done / total)
            gc.collect()
            start = time.perf_counter()
            count = run_once()
            rounds[label].append((time.perf_counter() - start, count))
            done += 1
    if progress is not None:
        progress("done", 1.0)
    return rounds


def interleaved_best(
    repeat: int,
    runs: dict[str, Workload],
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, tuple[float, int]]:
    """Best (seconds, count) of each run, the runs taking turns ``repeat`` times."""
    return {label: min(times) for label, times in interleaved_rounds(repeat, runs, progress).items()}


def paired_ratios(rounds: dict[str, list[tuple[float, int]]], reference: str) -> dict[str, float]:
    """Each run's speed in x ``reference``: the median over the rounds of the
    reference's seconds over the run's in the same round (``interleaved_rounds``)."""
    base = [seconds for seconds, _ in rounds[reference]]
    return {
        label: statistics.median(ref / seconds for ref, (seconds, _) in zip(base, times, strict=True))
        for label, times in rounds.items()
    }


def large_message_chunks(size: int) -> list[bytes]:
    """One Command-like response of about ``size`` bytes, cut in 1448-byte TCP segments."""
    line = b"Output: " + b"x" * 70 + b"\r\n"
    message = b"Response: Success\r\nActionID: big\r\n" + line * (size // len(line)) + b"\r\n"
    return chunks_of(message, 1448)


def feed_large(chunks: list[bytes]) -> int:
    conn = amiproto.Connection(max_message_size=64 << 20, max_buffer_size=128 << 20)
    conn.receive_data(GREETING)
    conn.next_event()
    found = 0
    for chunk in chunks:
        conn.receive_data(chunk)
        found += conn.next_event() is not amiproto.NEED_DATA
    return found


def memory_per_message(data: bytes) -> tuple[float, float, float]:
    """Bytes held per message: the naive dicts, core messages as they come, and the
    same with their headers parsed and looked up once."""
    blocks = [b for b in data.split(b"\r\n\r\n") if b]

    def held(build: Callable[[], list[object]]) -> float:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return used / len(kept)

    def dicts() -> list[object]:
        out: list[object] = []
        for block in blocks:
            message = {}
            for line in block.split(b"\r\n"):
                name, _, value = line.partition(b": ")
                message[name.decode()] = value.decode()
            out.append(message)
        return out

    def messages(parse: bool) -> list[object]:
        conn = amiproto.Connection()
        conn.receive_data(data)
        out: list[object] = []
        for item in conn.next_events():
            if isinstance(item, amiproto.Message):
                if parse:
                    item.get("ActionID")
                out.append(item)
        return out

    return held(dicts), held(lambda: messages(False)), held(lambda: messages(True))

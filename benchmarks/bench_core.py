"""Core parser benchmark on committed real Asterisk 22 traffic.

Run: python benchmarks/bench_core.py [--repeat N]

Prints messages/s and MB/s for a naive baseline and for the core, measured in
the same run, and the ratios the project's goals are stated in.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import sys
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from pathlib import Path

import amiproto

DATA_FILE = Path(__file__).resolve().parent.parent / "src/amiproto_transports/data/load_120calls.rx.gz"


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


def interleaved_best(repeat: int, runs: dict[str, Callable[[], int]]) -> dict[str, tuple[float, int]]:
    """Best time of each run, the runs taking turns so that a shared machine's
    changing load falls on all of them alike."""
    best = {label: (float("inf"), 0) for label in runs}
    for _ in range(repeat):
        for label, func in runs.items():
            gc.collect()
            start = time.perf_counter()
            count = func()
            seconds = time.perf_counter() - start
            if seconds < best[label][0]:
                best[label] = (seconds, count)
    return best


def large_message(size: int) -> bytes:
    line = b"Output: " + b"x" * 70 + b"\r\n"
    return b"Response: Success\r\nActionID: big\r\n" + line * (size // len(line)) + b"\r\n"


def feed_large(chunks: list[bytes]) -> int:
    conn = amiproto.Connection(max_message_size=64 << 20, max_buffer_size=128 << 20)
    found = 0
    for chunk in chunks:
        conn.receive_data(chunk)
        found += conn.next_event() is not amiproto.NEED_DATA
    return found


def memory_per_message(data: bytes) -> tuple[float, float]:
    """Bytes held per message: core objects (headers parsed) vs the naive dicts."""
    blocks = [b for b in data.split(b"\r\n\r\n") if b]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    dicts = []
    for block in blocks:
        message = {}
        for line in block.split(b"\r\n"):
            name, _, value = line.partition(b": ")
            message[name.decode()] = value.decode()
        dicts.append(message)
    naive_bytes = tracemalloc.get_traced_memory()[0] - before
    del dicts
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    conn = amiproto.Connection()
    conn.receive_data(data)
    kept = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        if isinstance(item, amiproto.Message):
            kept.append(item)
    core_bytes = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return naive_bytes / len(blocks), core_bytes / len(kept)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is kept")
    args = parser.parse_args()
    data = load()
    megabytes = len(data) / 1e6
    small, large = chunks_of(data, 4096), chunks_of(data, 65536)
    runs: dict[str, Callable[[], int]] = {
        "naive baseline (split/partition)": lambda: naive(data),
        "core, all headers, 4 KiB chunks": lambda: core_full(small),
        "core, all headers, 64 KiB chunks": lambda: core_full(large),
        "core, name+action_id, 4 KiB": lambda: core_routing(small),
        "core, name+action_id, 64 KiB": lambda: core_routing(large),
    }
    best = interleaved_best(args.repeat, runs)
    base_time, base_count = best["naive baseline (split/partition)"]
    print(f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {base_count} messages; best of {args.repeat}")
    print(f"{'run':<34}{'msg/s':>12}{'MB/s':>9}{'x baseline':>12}")
    for label, (seconds, count) in best.items():
        ratio = base_time / seconds
        print(f"{label:<34}{count / seconds:>12,.0f}{megabytes / seconds:>9.1f}{ratio:>11.2f}x")
    one_mib = chunks_of(large_message(1 << 20), 1448)
    four_mib = chunks_of(large_message(4 << 20), 1448)
    sizes = interleaved_best(
        args.repeat, {"1": lambda: feed_large(one_mib), "4": lambda: feed_large(four_mib)}
    )
    one, four = sizes["1"][0], sizes["4"][0]
    print(
        f"one message in 1448-byte chunks: 1 MiB {one * 1e3:.1f} ms, 4 MiB {four * 1e3:.1f} ms "
        f"({four / one:.2f}x; linear is 4x)"
    )
    naive_mem, core_mem = memory_per_message(data)
    print(
        f"memory held per message: naive dict {naive_mem:,.0f} B, core Message {core_mem:,.0f} B "
        f"({core_mem / naive_mem:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

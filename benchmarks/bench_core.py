"""Core parser benchmark on committed real Asterisk 22 traffic.

Run: python benchmarks/bench_core.py [--repeat N]

Prints messages/s and MB/s for a naive baseline and for the core, measured in
the same run, and the ratios the project's goals are stated in, each beside its
goal. The runs take turns in every round; a ratio is the median over the rounds
of the two runs' ratio in the same round, and a rate comes from the run's median
time. The workloads live in ``amiproto_transports.benchmark`` (``amiproto
bench`` runs the same).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys

import amiproto
from amiproto import _accel
from amiproto_transports.benchmark import (
    BASELINE,
    DATA_FILE,
    feed_large,
    interleaved_best,
    interleaved_rounds,
    large_message_chunks,
    load,
    memory_per_message,
    paired_ratios,
    workloads,
)

# The goals of issue 17, in x the naive baseline, by run.
GOALS = {
    "core (C speedups), all headers, 64 KiB chunks": 3.0,
    "core (C speedups), all headers, 4 KiB chunks": 2.5,
    "core (C speedups), name+action_id, 64 KiB": 8.0,
    "core (pure Python), all headers, 64 KiB chunks": 0.7,
}
MEMORY_GOAL = 1000  # bytes held per message with its headers parsed


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="rounds of paired runs (default 9)")
    args = parser.parse_args()
    data = load()
    megabytes = len(data) / 1e6
    # First, while the heap is fresh: the throughput runs leave it fragmented, and
    # that changes how a buffer that grows to megabytes is reallocated.
    one_mib, four_mib = large_message_chunks(1 << 20), large_message_chunks(4 << 20)
    sizes = interleaved_best(
        args.repeat, {"1": lambda: feed_large(one_mib), "4": lambda: feed_large(four_mib)}
    )
    one, four = sizes["1"][0], sizes["4"][0]
    rounds = interleaved_rounds(args.repeat, workloads(data))
    ratios = paired_ratios(rounds, BASELINE)
    count = rounds[BASELINE][0][1]
    print(
        f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {count} messages; {args.repeat} rounds, "
        "each ratio the median of the rounds' paired ratios"
    )
    print(f"{'run':<48}{'msg/s':>11}{'MB/s':>8}{'x baseline':>12}   goal")
    for label, times in rounds.items():
        seconds = statistics.median(time for time, _ in times)
        goal = GOALS.get(label)
        beside = "" if goal is None else f"   >= {goal}x: {verdict(ratios[label] >= goal)}"
        print(
            f"{label:<48}{count / seconds:>11,.0f}{megabytes / seconds:>8.1f}{ratios[label]:>11.2f}x{beside}"
        )
    built = _accel.speedups is not None
    print(
        f"below, the core runs {'with the C speedups' if built else 'in pure Python (C speedups not built)'}"
    )
    print(
        f"one message in 1448-byte chunks: 1 MiB {one * 1e3:.1f} ms, 4 MiB {four * 1e3:.1f} ms "
        f"({four / one:.2f}x; linear is 4x)"
    )
    naive_bytes, lazy_bytes, parsed_bytes = memory_per_message(data)
    print(
        f"memory held per message: naive dict {naive_bytes:,.0f} B; core message {lazy_bytes:,.0f} B "
        f"as it comes ({lazy_bytes / naive_bytes:.2f}x), {parsed_bytes:,.0f} B with headers parsed "
        f"({parsed_bytes / naive_bytes:.2f}x)   < {MEMORY_GOAL:,} B: {verdict(parsed_bytes < MEMORY_GOAL)}"
    )
    event = amiproto.Event(b"Event: Newchannel\r\nChannel: PJSIP/1-0000001\r\n\r\n")
    one_call = type(amiproto.Message.headers.fget).__name__ == "builtin_function_or_method"  # type: ignore[attr-defined]
    untracked = not gc.is_tracked(event.headers)
    print(
        f"headers parsed in one C call: {'yes' if one_call else 'no'}; parsed Headers hidden from the "
        f"cyclic GC: {'yes' if untracked else 'no'}   goal: {verdict(one_call and untracked)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

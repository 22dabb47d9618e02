"""Core parser benchmark on committed real Asterisk 22 traffic.

Run: python benchmarks/bench_core.py [--repeat N]

Prints messages/s and MB/s for a naive baseline and for the core, measured in
the same run, and the ratios the project's goals are stated in. The workloads
live in ``amiproto_transports.benchmark`` (``amiproto bench`` runs the same).
"""

from __future__ import annotations

import argparse
import sys

from amiproto import _accel
from amiproto_transports.benchmark import (
    BASELINE,
    DATA_FILE,
    feed_large,
    interleaved_best,
    large_message_chunks,
    load,
    memory_per_message,
    workloads,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is kept")
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
    best = interleaved_best(args.repeat, workloads(data))
    base_time, base_count = best[BASELINE]
    print(f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {base_count} messages; best of {args.repeat}")
    print(f"{'run':<46}{'msg/s':>12}{'MB/s':>9}{'x baseline':>12}")
    for label, (seconds, count) in best.items():
        ratio = base_time / seconds
        print(f"{label:<46}{count / seconds:>12,.0f}{megabytes / seconds:>9.1f}{ratio:>11.2f}x")
    built = "with the C speedups" if _accel.speedups is not None else "in pure Python (C speedups not built)"
    print(f"below, the core runs {built}")
    print(
        f"one message in 1448-byte chunks: 1 MiB {one * 1e3:.1f} ms, 4 MiB {four * 1e3:.1f} ms "
        f"({four / one:.2f}x; linear is 4x)"
    )
    naive_bytes, lazy_bytes, parsed_bytes = memory_per_message(data)
    print(
        f"memory held per message: naive dict {naive_bytes:,.0f} B; core message {lazy_bytes:,.0f} B "
        f"as it comes ({lazy_bytes / naive_bytes:.2f}x), {parsed_bytes:,.0f} B with headers parsed "
        f"({parsed_bytes / naive_bytes:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

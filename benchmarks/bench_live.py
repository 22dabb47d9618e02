"""The live model's cost, against the core's full parse, on committed real Asterisk 22 traffic.

Run: python benchmarks/bench_live.py [--rounds N] [--chunk BYTES]

Each round runs, in turns, the core's full parse alone (every header of every
message read, as ``bench_core.py``'s "all headers" workload) and the same parse
with every item then given to ``amiproto.live.PBX.apply``. The figure is the
median over the rounds of each round's ratio of throughputs (model on / core
alone): pairing the two runs of a round makes a busy machine weigh on both alike.
The goal is 0.5x or more: applying the events costs no more than parsing them.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable

import amiproto
from amiproto import _accel
from amiproto.live import PBX
from amiproto_transports.benchmark import DATA_FILE, chunks_of, core_full, load

GOAL = 0.5


def core_full_with_model(chunks: list[bytes]) -> tuple[int, PBX]:
    """``core_full``, then every item the connection yields applied to a fresh model."""
    conn = amiproto.Connection()
    pbx = PBX()
    apply = pbx.apply
    count = 0
    message_type = amiproto.Message
    consume = deque[tuple[str, str]](maxlen=0).extend
    now = 0.0
    for chunk in chunks:
        conn.receive_data(chunk)
        now += 0.001
        for item in conn.next_events():
            if isinstance(item, message_type):
                consume(item.headers)
                count += 1
            apply(item, now)
    return count, pbx


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="paired runs; the median ratio is kept")
    parser.add_argument("--chunk", type=int, default=65536, help="bytes fed at a time")
    args = parser.parse_args()
    data = load()
    chunks = chunks_of(data, args.chunk)
    count, pbx = core_full_with_model(chunks)  # a warm-up that also checks the model ends empty
    ratios: list[float] = []
    alone_times: list[float] = []
    model_times: list[float] = []
    for round_ in range(args.rounds):
        runs = [("alone", lambda: core_full(chunks)), ("model", lambda: core_full_with_model(chunks))]
        if round_ % 2:
            runs.reverse()
        seconds = {label: timed(run) for label, run in runs}
        alone_times.append(seconds["alone"])
        model_times.append(seconds["model"])
        ratios.append(seconds["alone"] / seconds["model"])
    megabytes = len(data) / 1e6
    alone, model = statistics.median(alone_times), statistics.median(model_times)
    ratio = statistics.median(ratios)
    built = "with the C speedups" if _accel.speedups is not None else "in pure Python (C speedups not built)"
    print(f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {count} messages; {args.rounds} paired rounds")
    print(f"the core runs {built}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'run':<34}{'msg/s':>12}{'MB/s':>9}{'ms':>9}")
    print(f"{'core full parse alone':<34}{count / alone:>12,.0f}{megabytes / alone:>9.1f}{alone * 1e3:>9.1f}")
    print(
        f"{'full parse + PBX.apply':<34}{count / model:>12,.0f}{megabytes / model:>9.1f}{model * 1e3:>9.1f}"
    )
    verdict = "meets" if ratio >= GOAL else "misses"
    print(
        f"model on / core alone: {ratio:.2f}x (median of paired rounds; "
        f"range {min(ratios):.2f}-{max(ratios):.2f}); goal >= {GOAL}x: {verdict} it"
    )
    print(
        f"the model after the recording: {len(pbx.channels)} channels, {len(pbx.bridges)} bridges, "
        f"{len(pbx.calls)} calls"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

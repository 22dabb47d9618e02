"""``amiproto bench``: the core parser benchmark on the committed real traffic.

In a source checkout the workloads are taken from ``benchmarks/bench_core.py``,
so that the figures are the project benchmark's own. An installed package has
no ``benchmarks/``; it then runs the minimal equivalents below: the same
naive baseline (split on blank lines, then lines, then ``": "``) and the same
core runs (every header read, or only the name and ActionID), on the same
recording, in 4 KiB and 64 KiB chunks. Runs take turns and the best of
``--repeat`` counts, so a busy machine's load falls on all of them alike.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import importlib.util
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import amiproto

from ._common import UsageError, add_output_options
from ._output import Progress, Terminal, columns

__all__ = ["DATA_FILE", "add_parser", "find_bench_core", "run", "workloads"]

_PACKAGE = Path(__file__).resolve().parent.parent
DATA_FILE = _PACKAGE / "data" / "load_120calls.rx.gz"
BASELINE = "naive baseline (split/partition)"
Workload = Callable[[], int]


def find_bench_core() -> ModuleType | None:
    """``benchmarks/bench_core.py`` when this package runs from a source checkout, else None."""
    root = _PACKAGE.parent.parent
    path = root / "benchmarks" / "bench_core.py"
    # Only a checkout where this very package lives under src/ qualifies: never
    # run a file that merely happens to sit near an installed package.
    if (root / "src" / _PACKAGE.name).resolve() != _PACKAGE or not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_amiproto_bench_core", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:
        return None
    needed = ("naive", "core_full", "core_routing", "chunks_of")
    return module if all(callable(getattr(module, name, None)) for name in needed) else None


# -- the in-package equivalents ----------------------------------------------------


def _naive(data: bytes) -> int:
    count = 0
    for block in data.split(b"\r\n\r\n"):
        if block:
            fields = {}
            for line in block.split(b"\r\n"):
                key, _, value = line.partition(b": ")
                fields[key.decode()] = value.decode()
            count += 1
    return count


def _chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


def _core_full(chunks: list[bytes]) -> int:
    conn = amiproto.Connection()
    drain = deque[tuple[str, str]](maxlen=0).extend
    count = 0
    for chunk in chunks:
        conn.receive_data(chunk)
        while (item := conn.next_event()) is not amiproto.NEED_DATA:
            if isinstance(item, amiproto.Message):
                drain(item.headers)
                count += 1
    return count


def _core_routing(chunks: list[bytes]) -> int:
    conn = amiproto.Connection()
    count = 0
    for chunk in chunks:
        conn.receive_data(chunk)
        while (item := conn.next_event()) is not amiproto.NEED_DATA:
            if isinstance(item, amiproto.Event):
                _ = item.name, item.action_id
                count += 1
    return count


def workloads(data: bytes, bench_core: ModuleType | None) -> dict[str, Workload]:
    """The runs, by label, from ``bench_core`` when given, else the in-package ones."""
    naive = bench_core.naive if bench_core else _naive
    full = bench_core.core_full if bench_core else _core_full
    routing = bench_core.core_routing if bench_core else _core_routing
    chunks_of = bench_core.chunks_of if bench_core else _chunks_of
    small, large = chunks_of(data, 4096), chunks_of(data, 65536)
    return {
        BASELINE: lambda: int(naive(data)),
        "core, all headers, 4 KiB chunks": lambda: int(full(small)),
        "core, all headers, 64 KiB chunks": lambda: int(full(large)),
        "core, name+action_id, 4 KiB": lambda: int(routing(small)),
        "core, name+action_id, 64 KiB": lambda: int(routing(large)),
    }


def measure(runs: dict[str, Workload], repeat: int, progress: Progress) -> dict[str, tuple[float, int]]:
    best = {label: (float("inf"), 0) for label in runs}
    total = repeat * len(runs)
    done = 0
    for round_ in range(1, repeat + 1):
        for label, run_once in runs.items():
            progress.update(f"round {round_}/{repeat}: {label}", done / total)
            gc.collect()
            start = time.perf_counter()
            count = run_once()
            seconds = time.perf_counter() - start
            if seconds < best[label][0]:
                best[label] = (seconds, count)
            done += 1
    progress.update("done", 1.0)
    return best


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the core parser on real Asterisk traffic",
        description="Parse the committed recording of 120 real calls with the core, beside a naive "
        "parser measured in the same run; print messages/s, MB/s and the ratio.",
    )
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="one round only (same as --repeat 1)")
    parser.add_argument(
        "--builtin", action="store_true", help="use the in-package workloads even in a source checkout"
    )
    add_output_options(parser, json_help="one JSON object per run")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.repeat <= 100:
        raise UsageError("--repeat must be between 1 and 100")
    if args.quick:
        args.repeat = 1
    term = Terminal(plain=args.plain, json_lines=args.json)
    try:
        data = gzip.decompress(DATA_FILE.read_bytes())
    except OSError as error:
        raise UsageError(f"cannot read the benchmark data {DATA_FILE}: {error}") from None
    bench_core = None if args.builtin else find_bench_core()
    source = "benchmarks/bench_core.py" if bench_core else "in-package workloads"
    with Progress("bench") as progress:
        best = measure(workloads(data, bench_core), args.repeat, progress)
    megabytes = len(data) / 1e6
    base_time, base_count = best[BASELINE]
    if term.json:
        for label, (seconds, count) in best.items():
            term.json_line(
                {
                    "run": label,
                    "messages": count,
                    "seconds": round(seconds, 6),
                    "messages_per_second": round(count / seconds, 1),
                    "mb_per_second": round(megabytes / seconds, 3),
                    "vs_baseline": round(base_time / seconds, 3),
                    "source": source,
                }
            )
        return 0
    style = term.style
    term.line(
        f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {base_count} messages; best of {args.repeat}; {source}"
    )
    rows = [[style(h, "bold") for h in ("run", "msg/s", "MB/s", "x baseline")]]
    for label, (seconds, count) in best.items():
        rows.append(
            [label, f"{count / seconds:,.0f}", f"{megabytes / seconds:.1f}", f"{base_time / seconds:.2f}x"]
        )
    term.lines(columns(rows, right=[1, 2, 3]))
    return 0

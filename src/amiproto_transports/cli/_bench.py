"""``amiproto bench``: the core parser benchmark on the committed real traffic.

The workloads are ``amiproto_transports.benchmark``'s, the same that
``benchmarks/bench_core.py`` runs, so both give the same figures.
"""

from __future__ import annotations

import argparse

from ..benchmark import BASELINE, DATA_FILE, interleaved_best, load, workloads
from ._common import UsageError, add_output_options
from ._output import Progress, Terminal, columns

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark the core parser on real Asterisk traffic",
        description="Parse the committed recording of 120 real calls with the core, beside a naive "
        "parser measured in the same run; print messages/s, MB/s and the ratio.",
    )
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="one round only (same as --repeat 1)")
    add_output_options(parser, json_help="one JSON object per run")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.repeat <= 100:
        raise UsageError("--repeat must be between 1 and 100")
    if args.quick:
        args.repeat = 1
    term = Terminal(plain=args.plain, json_lines=args.json)
    try:
        data = load()
    except OSError as error:
        raise UsageError(f"cannot read the benchmark data {DATA_FILE}: {error}") from None
    with Progress("bench") as progress:
        best = interleaved_best(args.repeat, workloads(data), progress.update)
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
                }
            )
        return 0
    style = term.style
    term.line(f"data: {DATA_FILE.name}, {megabytes:.2f} MB, {base_count} messages; best of {args.repeat}")
    rows = [[style(h, "bold") for h in ("run", "msg/s", "MB/s", "x baseline")]]
    for label, (seconds, count) in best.items():
        rows.append(
            [label, f"{count / seconds:,.0f}", f"{megabytes / seconds:.1f}", f"{base_time / seconds:.2f}x"]
        )
    term.lines(columns(rows, right=[1, 2, 3]))
    return 0

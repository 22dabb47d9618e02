"""amiproto beside the other Python AMI libraries, in one run.

Run: python benchmarks/run.py [--quick] [--out DIR]

Measures, side by side, in one process (the simulator in subprocesses):
- the parsers on the committed recording of a real Asterisk 22: the naive
  baseline, our core (every header, or only the name and ActionID; with its C
  speedups and in pure Python), and panoramisk, pystrix, asterisk-ami and astami
  through their own reading paths (``versus/peer_readers.py``), each checked to return
  the core's number of messages;
- the memory held per message, and one large Command answer (1 and 4 MiB in
  1448-byte segments), for every library;
- the recording's events replayed by the simulator over loopback to one
  catch-all callback: our three clients and panoramisk;
- pipelined Pings against the simulator: our three clients, panoramisk and a
  raw socket.
Prints a table of rates and ratios, and writes results.json, tables.md and
chart.png (with matplotlib) to ``--out``. A library that is not installed or
fails is a row that says so. The ratios are what to compare: each is the median
over rounds of two runs' rates in the same round, the runs taking turns.
``--quick`` (under two minutes) does fewer rounds and less work, and stops a
library still reading one large message after 2.5 s; ``--smoke`` takes seconds,
to check the machinery, and its figures mean nothing. The bench extra installs
the other libraries and matplotlib: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from versus.settings import FULL, QUICK, SMOKE
from versus.suite import benchmark, print_section, write

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and less work: under two minutes")
    parser.add_argument(
        "--smoke", action="store_true", help="seconds: checks the machinery, its figures mean nothing"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write (default {RESULTS})")
    args = parser.parse_args(argv)
    settings = SMOKE if args.smoke else QUICK if args.quick else FULL
    flag = {"full": "", "quick": " --quick", "smoke": " --smoke"}[settings.name]
    report = benchmark(settings, command=f"python benchmarks/run.py{flag}", progress=print_section)
    print(f"\n{report.command}: {report.seconds:.0f} s; {report.machine}; {report.load_text()}")
    for path in write(report, args.out):
        print(f"wrote {path}")
    if importlib.util.find_spec("matplotlib") is None:
        print("no chart: matplotlib is not installed (pip install -e '.[bench]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""amiproto beside the other Python AMI libraries, in one run.

Run: python benchmarks/run.py [--quick] [--out DIR]

Measures, side by side, in one process (the simulator in subprocesses):
- the parsers on the committed recording of a real Asterisk 22: the naive
  baseline, our core (every header, or only the name and ActionID; with its C
  speedups and in pure Python), and panoramisk, pystrix, asterisk-ami and astami
  through their own reading paths (``peer_readers.py``), each checked to return
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
library still reading one large message after 1.5 s; ``--smoke`` takes seconds,
to check the machinery, and its figures mean nothing. The bench extra installs
the other libraries and matplotlib: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from in_memory import large_message, memory, parsers, recording_slice
from over_loopback import events, pings
from peer_readers import PEERS, Peer
from results import Chart, Report, Section, format_table
from rounds import describe
from settings import FULL, QUICK, SMOKE, Settings

from amiproto_transports.benchmark import load

__all__ = ["benchmark", "main", "machine"]

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """The processor, its cores, the OS and the Python of this run."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def _guarded(key: str, title: str, measure: Callable[[], Section]) -> Section:
    """A section, or, if its whole measurement failed, an empty one that says why."""
    try:
        return measure()
    except Exception as error:
        return Section(key, title, [], [], Chart("", ""), [f"this table failed: {describe(error)}"])


def benchmark(
    settings: Settings,
    peers: Sequence[Peer] = PEERS,
    command: str = "python benchmarks/run.py",
    progress: Callable[[Section], None] = lambda section: None,
) -> Report:
    started = time.perf_counter()
    load_before = os.getloadavg()
    data = recording_slice(load(), settings.messages)
    steps: list[tuple[str, str, Callable[[], Section]]] = [
        # The large message first, while the heap is fresh (see bench_core.py).
        (
            "large",
            "One large Command answer",
            lambda: large_message(settings.large_sizes, settings.large_rounds, settings.time_box, peers),
        ),
        ("parsers", "Parsing the recording", lambda: parsers(data, settings.rounds, peers)),
        ("memory", "Memory held per message", lambda: memory(data, peers)),
        (
            "events",
            "Events end to end",
            lambda: events(settings.messages, settings.replays, settings.rounds, peers),
        ),
        ("pings", "Pipelined Pings", lambda: pings(settings.pings, settings.rounds, peers)),
    ]
    sections = []
    for key, title, measure in steps:
        sections.append(_guarded(key, title, measure))
        progress(sections[-1])
    order = ["parsers", "memory", "large", "events", "pings"]
    sections.sort(key=lambda section: order.index(section.key))
    return Report(
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        command=command,
        machine=machine(),
        load_before=load_before,
        load_after=os.getloadavg(),
        seconds=time.perf_counter() - started,
        versions={peer.name: peer.version() for peer in peers},
        sections=sections,
    )


def print_section(section: Section) -> None:
    print(f"\n{section.title}")
    if section.rows:
        print(format_table(section))
    for note in section.notes:
        print(f"  {note}")
    sys.stdout.flush()


def write(report: Report, folder: Path) -> list[Path]:
    """results.json, tables.md and, with matplotlib, chart.png; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.json", folder / "tables.md"]
    report.write_json(written[0])
    tables = [f"`{report.command}`, {report.date}; {report.machine}; {report.load_text()}"]
    tables += [f"#### {s.title}\n\n{format_table(s, markdown=True)}" for s in report.sections if s.rows]
    written[1].write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    if importlib.util.find_spec("matplotlib") is not None:
        from chart import draw  # noqa: PLC0415 (optional: the bench extra)

        draw(report, folder / "chart.png")
        written.append(folder / "chart.png")
    return written


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
    command = f"python benchmarks/run.py{flag}"
    report = benchmark(settings, command=command, progress=print_section)
    print(f"\n{report.command}: {report.seconds:.0f} s; {report.machine}; {report.load_text()}")
    for path in write(report, args.out):
        print(f"wrote {path}")
    if importlib.util.find_spec("matplotlib") is None:
        print("no chart: matplotlib is not installed (pip install -e '.[bench]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One run of every table, and where its report is written."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from amiproto_transports.benchmark import load

from .in_memory import large_message, memory, parsers, recording_slice
from .over_loopback import events, pings
from .peer_readers import PEERS, Peer
from .results import Chart, Report, Section, format_table
from .rounds import describe
from .settings import Settings

__all__ = ["benchmark", "machine", "print_section", "write"]


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
    """Every table, each library that is missing or fails a row that says why."""
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
        from .chart import draw  # noqa: PLC0415 (optional: the bench extra)

        draw(report, folder / "chart.png")
        written.append(folder / "chart.png")
    return written

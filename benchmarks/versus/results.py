"""What one run of ``run.py`` found: sections of rows, as a table and as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Chart", "Column", "Report", "Row", "Section", "format_table"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    format: str  # for str.format: "{:,.0f}", "{:.2f}x" ...


@dataclass
class Row:
    """One library or one of our runs; ``failure`` says why it has no figures."""

    name: str
    cells: dict[str, float | None] = field(default_factory=dict)
    failure: str | None = None
    note: str = ""
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per round, for the record


@dataclass(frozen=True)
class Chart:
    """Which column a section draws, and how."""

    column: str
    label: str
    reference: float | None = None  # a vertical line: the reference row's value
    notes: bool = False  # the rows' notes beside their bars


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    chart: Chart
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> Row:
        return next(row for row in self.rows if row.name == name)


@dataclass
class Report:
    date: str
    command: str
    machine: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    seconds: float
    versions: dict[str, str | None]
    sections: list[Section]

    def load_text(self) -> str:
        before, after = self.load_before[0], self.load_after[0]
        return f"load average {before:.2f} at the start, {after:.2f} at the end"

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")


def _cell(column: Column, value: float | None) -> str:
    return "" if value is None else column.format.format(value)


def format_table(section: Section, markdown: bool = False) -> str:
    """The section as aligned text, or as a Markdown table."""
    headers = ["", *(c.header for c in section.columns), ""]
    lines = []
    for row in section.rows:
        if row.failure is not None:
            cells = ["" for _ in section.columns]
            note = row.failure if row.failure.startswith("not installed") else f"failed: {row.failure}"
        else:
            cells = [_cell(c, row.cells.get(c.key)) for c in section.columns]
            note = row.note
        lines.append([row.name, *cells, note])
    if markdown:
        out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in [headers, *lines]) for i in range(len(headers) - 1)]
    text = []
    for line in [headers, *lines]:
        first = line[0].ljust(widths[0])
        middle = [value.rjust(width) for value, width in zip(line[1:-1], widths[1:], strict=True)]
        text.append("  ".join([first, *middle, line[-1]]).rstrip())
    return "\n".join(text)

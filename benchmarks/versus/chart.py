"""The PNG the README shows: one panel of ratios a section, with the run's date, machine and command."""

from __future__ import annotations

import io
from pathlib import Path

from .results import Report, Row, Section

__all__ = ["draw"]

_OURS, _PEER, _BASELINE = "#1f77b4", "#ff7f0e", "#9a9a9a"


def _colour(row: Row) -> str:
    if row.name.startswith("amiproto"):
        return _OURS
    if row.name.startswith(("naive", "raw socket")):
        return _BASELINE
    return _PEER


def _panel(axes: object, section: Section) -> None:
    from matplotlib.axes import Axes  # noqa: PLC0415 (optional: the bench extra)

    assert isinstance(axes, Axes)
    rows = section.rows[::-1]  # matplotlib draws the first bar at the bottom
    values = [row.cells.get(section.chart.column) for row in rows]
    drawn = [value for value in values if value is not None]
    positions = range(len(rows))
    axes.barh(positions, [value or 0.0 for value in values], color=[_colour(row) for row in rows], height=0.6)
    axes.set_yticks(list(positions), [row.name for row in rows], fontsize=8)
    top = max(drawn, default=1.0)
    for position, (row, value) in enumerate(zip(rows, values, strict=True)):
        if value is None:
            text = row.failure or row.note or "no figure"
            text = "not installed" if text.startswith("not installed") else text
            axes.text(0.0, position, f" {text[:70]}", va="center", fontsize=7, color="#b00000")
        else:
            note = f"  {row.note}" if section.chart.notes and row.note else ""
            axes.text(value, position, f" {value:.2f}{note}", va="center", fontsize=7)
    if section.chart.reference is not None:
        axes.axvline(section.chart.reference, color="black", linewidth=0.8)
    axes.set_xlim(left=min(0.0, *drawn), right=top * 1.25)
    axes.set_title(section.title, fontsize=9, loc="left")
    axes.set_xlabel(section.chart.label, fontsize=8)
    axes.tick_params(axis="x", labelsize=7)


def draw(report: Report, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (optional: the bench extra)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415 (optional, after choosing the backend)
    from matplotlib.patches import Patch  # noqa: PLC0415 (optional)

    sections = [section for section in report.sections if section.rows]
    heights = [len(section.rows) + 2.2 for section in sections]
    figure, panels = pyplot.subplots(
        len(sections),
        1,
        figsize=(9.0, 0.21 * sum(heights) + 1.0),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for axes, section in zip(panels[:, 0], sections, strict=True):
        _panel(axes, section)
    figure.suptitle(
        f"{report.command}   {report.date}\n{report.machine}; {report.load_text()}",
        fontsize=8,
        x=0.01,
        ha="left",
    )
    colours = {"amiproto": _OURS, "other libraries": _PEER, "baselines": _BASELINE}
    handles = [Patch(color=colour, label=label) for label, colour in colours.items()]
    figure.legend(handles=handles, loc="upper right", fontsize=7, ncols=3, frameon=False)
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 0.97))
    canvas = io.BytesIO()
    figure.savefig(canvas, dpi=72, format="png")
    pyplot.close(figure)
    # A few flat colours: a palette of 64 keeps the file small (Pillow comes with matplotlib).
    from PIL import Image  # noqa: PLC0415 (optional: the bench extra)

    Image.open(canvas).convert("RGB").quantize(colors=64).save(path, optimize=True)

"""Terminal output: aligned columns, colour only on a terminal, JSON lines, progress.

Colour is used only when the stream is a TTY, ``NO_COLOR`` is not set
(https://no-color.org: any non-empty value) and ``--plain`` was not given.
Everything for a human that is not the command's result (notes, progress,
errors) goes to stderr, so that stdout stays clean for pipes and ``--json``.
Text from the server passes through ``printable`` before it reaches a human, so
a value cannot move the cursor, set the terminal's title or hide what follows.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TextIO

import amiproto

__all__ = [
    "Progress",
    "Style",
    "Terminal",
    "color_enabled",
    "columns",
    "cut",
    "headers_dict",
    "message_json",
    "printable",
    "visible_len",
]

_CODES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}

# Headers that every channel event repeats: left out of the one-line view of an
# event (``--json`` keeps everything).
_NOISE = frozenset(
    h.lower()
    for h in (
        "Event",
        "Privilege",
        "Channel",
        "ActionID",
        "SystemName",
        "Language",
        "AccountCode",
        "Linkedid",
        "Uniqueid",
        "ChannelState",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Priority",
        "Timestamp",
        "EventTV",
        "EventVersion",
        "Severity",
        "Service",
        "SessionID",
        "LocalAddress",
        "RemoteAddress",
        "Tenantid",
    )
)
# Channel snapshots repeated under a prefix (DestChannel..., LocalOneChannel...):
# only the channel's name is kept from those.
_PREFIXES = ("dest", "localone", "localtwo")
_PREFIXED_NOISE = frozenset(p + name for p in _PREFIXES for name in _NOISE if name != "channel") | frozenset(
    p + name
    for p in _PREFIXES
    for name in ("channelstatedesc", "callerid", "calleridnum", "context", "exten", "priority", "uniqueid")
)

NAME_WIDTH = 22
CHANNEL_WIDTH = 34

# Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts
# escape sequences, BEL rings, CR overwrites the line), DEL, the bidirectional
# overrides that reorder what is shown, and Unicode's line and paragraph separators.
_UNPRINTABLE = [
    *range(0x20),
    0x7F,
    *range(0x80, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x2028,
    0x2029,
]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _UNPRINTABLE}


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape (``\\x1b``)."""
    return text.translate(_ESCAPES)


def color_enabled(stream: TextIO, *, plain: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour what goes to ``stream``."""
    env = os.environ if environ is None else environ
    if plain or env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class Style:
    """ANSI SGR wrappers that do nothing when colour is off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def event_name(self, name: str) -> str:
        """An event name, coloured by what kind of event it is."""
        return self(name, *_event_styles(name))


def _event_styles(name: str) -> tuple[str, ...]:
    lowered = name.lower()
    if "hangup" in lowered or "fail" in lowered or "invalid" in lowered:
        return ("red",)
    if lowered.startswith(("new", "originate")):
        return ("green",)
    if lowered.startswith(("dial", "bridge", "localbridge", "queue", "agent")):
        return ("cyan",)
    if lowered in ("newexten", "varset", "devicestatechange"):
        return ("dim",)
    if lowered.startswith(("successful", "challenge", "fullybooted", "userevent")):
        return ("yellow",)
    return ("bold",)


def visible_len(text: str) -> int:
    """Length of ``text`` on screen, not counting ANSI escape sequences."""
    length = 0
    in_escape = False
    for char in text:
        if in_escape:
            in_escape = char != "m"
        elif char == "\x1b":
            in_escape = True
        else:
            length += 1
    return length


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - visible_len(text))


def columns(rows: Sequence[Sequence[str]], gap: int = 2, right: Iterable[int] = ()) -> list[str]:
    """Rows of cells as lines with aligned columns; ``right`` lists right-aligned columns."""
    if not rows:
        return []
    count = max(len(row) for row in rows)
    widths = [0] * count
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], visible_len(cell))
    right_set = set(right)
    lines = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            fill = " " * (widths[i] - visible_len(cell))
            cells.append(fill + cell if i in right_set else cell + fill)
        lines.append((" " * gap).join(cells).rstrip())
    return lines


def headers_dict(headers: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Headers as a JSON-friendly dict; a repeated header becomes a list of its values, in order."""
    out: dict[str, str | list[str]] = {}
    for name, value in headers:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def message_json(message: amiproto.Message, when: float | None = None) -> dict[str, object]:
    """One message as the object a ``--json`` line holds."""
    obj: dict[str, object] = {"type": message.kind}
    if isinstance(message, amiproto.Event):
        obj["name"] = message.name
    elif isinstance(message, amiproto.Response):
        obj["status"] = message.status
    if when is not None:
        obj["time"] = round(when, 6)
    obj["headers"] = headers_dict(message.headers)
    if isinstance(message, amiproto.Response) and message.output:
        obj["output"] = message.output
    return obj


def _clock(when: float) -> str:
    local = time.localtime(when)
    return time.strftime("%H:%M:%S", local) + f".{int(when % 1 * 1000):03d}"


class Terminal:
    """Where a command writes: stdout for results, stderr for everything else.

    Thread-safe: the sync client's worker threads (callbacks) and the main thread may
    both print, and their lines never interleave.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        plain: bool = False,
        json_lines: bool = False,
    ) -> None:
        self.out = sys.stdout if out is None else out
        self.err = sys.stderr if err is None else err
        self.json = json_lines
        self.style = Style(color_enabled(self.out, plain=plain))
        self.err_style = Style(color_enabled(self.err, plain=plain))
        self._lock = threading.Lock()

    @property
    def width(self) -> int | None:
        """The terminal's width when stdout is one (lines are cut to it), else None."""
        isatty = getattr(self.out, "isatty", None)
        if isatty is None or not isatty():
            return None
        return shutil.get_terminal_size((100, 24)).columns

    def line(self, text: str = "") -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def lines(self, texts: Iterable[str]) -> None:
        with self._lock:
            self.out.write("".join(text + "\n" for text in texts))
            self.out.flush()

    def json_line(self, obj: object) -> None:
        self.line(json.dumps(obj, ensure_ascii=False))

    def note(self, text: str) -> None:
        """A remark for the human on stderr, dimmed on a terminal."""
        with self._lock:
            self.err.write(self.err_style(text, "dim") + "\n")
            self.err.flush()

    def warn(self, text: str) -> None:
        with self._lock:
            self.err.write(self.err_style("warning: ", "yellow") + text + "\n")
            self.err.flush()

    def heading(self, text: str) -> None:
        self.line(self.style(text, "bold"))

    # -- messages --

    def event_line(self, event: amiproto.Event, when: float) -> str:
        """``time  name  channel  key=value ...`` in aligned columns."""
        style = self.style
        channel = printable(event.get("Channel") or "")
        if len(channel) > CHANNEL_WIDTH and self.width is not None:
            channel = channel[: CHANNEL_WIDTH - 1] + "~"
        details = []
        for name, value in event.headers:
            lowered = name.lower()
            if lowered in _NOISE or lowered in _PREFIXED_NOISE or value in ("", "<unknown>"):
                continue
            details.append(f"{style(printable(name), 'dim')}={printable(value)}")
        text = (
            f"{style(_clock(when), 'dim')}  {pad(style.event_name(printable(event.name)), NAME_WIDTH)}"
            f"  {pad(channel, CHANNEL_WIDTH)}  {' '.join(details)}"
        ).rstrip()
        width = self.width
        if width is not None and visible_len(text) > width:
            text = cut(text, width)
        return text

    def event(self, event: amiproto.Event, when: float) -> None:
        if self.json:
            self.json_line(message_json(event, when))
        else:
            self.line(self.event_line(event, when))

    def response_lines(self, response: amiproto.Response, *, hide: Iterable[str] = ()) -> list[str]:
        """A response as aligned ``Name: value`` lines, output last, without the headers in ``hide``."""
        hidden = {"response", "output", *(name.lower() for name in hide)}
        style = self.style
        status = printable(response.get("Response") or "(none)")
        colour = "green" if response.success else "red"
        rows = [[style("Response:", "bold"), style(status, colour, "bold")]]
        for name, value in response.headers:
            if name.lower() in hidden:
                continue
            rows.append([style(printable(name) + ":", "dim"), printable(value)])
        lines = columns(rows, gap=1)
        lines.extend(printable(line) for line in response.output)
        return lines

    def table(
        self, events: Sequence[amiproto.Event], skip: Iterable[str] = ("ActionID", "Privilege")
    ) -> None:
        """Events as a table: one row each, one column per header seen (first-seen order)."""
        if not events:
            return
        skipped = {name.lower() for name in skip}
        if len({event.name for event in events}) == 1:
            skipped.add("event")
        names: dict[str, str] = {}
        for event in events:
            for name, _ in event.headers:
                if name.lower() not in skipped:
                    names.setdefault(name.lower(), name)
        limit = 40 if self.width is not None else None
        rows = [[self.style(printable(name), "bold") for name in names.values()]]
        for event in events:
            row = []
            for key in names:
                value = printable(event.get(key) or "")
                if limit is not None and len(value) > limit:
                    value = value[: limit - 1] + "~"
                row.append(value)
            rows.append(row)
        self.lines(columns(rows))


def cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` visible characters, keeping escape sequences whole."""
    out = []
    seen = 0
    in_escape = False
    for char in text:
        if in_escape:
            out.append(char)
            in_escape = char != "m"
            continue
        if char == "\x1b":
            in_escape = True
            out.append(char)
            continue
        if seen >= width - 1:
            out.append("~")
            break
        out.append(char)
        seen += 1
    result = "".join(out)
    return result + "\x1b[0m" if "\x1b[" in result else result


class Progress:
    """A progress line on stderr for work that may take more than a second.

    Nothing is shown during the first second. On a terminal the line is
    redrawn in place; otherwise a plain line is written at most once a second,
    so logs stay readable.
    """

    def __init__(self, label: str, stream: TextIO | None = None, *, delay: float = 1.0) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty is not None and isatty())
        self.delay = delay
        self.start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def update(self, text: str, fraction: float | None = None) -> None:
        now = time.monotonic()
        if now - self.start < self.delay:
            return
        if not self.tty and self._drawn and now - self._last < 1.0:
            return
        self._last = now
        shown = f"{self.label}: {text}"
        if fraction is not None:
            done = max(0, min(20, round(fraction * 20)))
            shown = f"{self.label} [{'#' * done}{'.' * (20 - done)}] {fraction:4.0%} {text}"
        if self.tty:
            self.stream.write("\r\x1b[K" + shown)
        else:
            self.stream.write(shown + "\n")
        self.stream.flush()
        self._drawn = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._drawn and self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

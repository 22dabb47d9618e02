"""The documentation site's build hook: the pages that come from the code, made at build time.

``mkdocs.yml`` names this file under ``hooks:``; nothing it makes is committed.

- ``on_files`` adds a page for every action and event of the catalogue (with
  their index pages and one of the enumerations) and copies the benchmark chart.
- ``on_page_markdown`` expands ``<!-- insert: NAME [ARGUMENT] -->`` lines in the
  written pages (``docs/*.md``) with text taken from the code: the CLI's
  ``--help``, the connection's state table, the C twins, the limits, the
  benchmark tables, and the root files (CHANGELOG.md, SECURITY.md ...), whose
  links are rewritten to the site's pages. An unknown insert fails the build.

The functions that make the text need only amiproto, not mkdocs, so the tests
call them directly (``tests/test_docs.py``).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import enum
import inspect
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
# The site documents the checkout it is built from, installed or not.
sys.path.insert(0, str(ROOT / "src"))

from amiproto import _accel, _event_specs, _state  # noqa: E402
from amiproto import actions as _actions  # noqa: E402
from amiproto._typed import ActionBuilder  # noqa: E402

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import Files
    from mkdocs.structure.pages import Page

__all__ = [
    "ACTIONS_DIR",
    "COPIED",
    "EVENTS_DIR",
    "INSERTS",
    "expand_inserts",
    "on_files",
    "on_page_markdown",
    "reference_pages",
]

ACTIONS_DIR = "reference/actions"
EVENTS_DIR = "reference/events"
ENUMS_PAGE = "reference/enumerations.md"

# Files of the checkout the site shows as they are: site path -> checkout path.
COPIED = {"assets/chart.png": ROOT / "benchmarks" / "results" / "chart.png"}

# Root files that are pages of the site, so links between them stay inside it.
ROOT_PAGES = {
    "README.md": "index.md",
    "CHANGELOG.md": "changelog.md",
    "CONTRIBUTING.md": "contributing.md",
    "SECURITY.md": "security.md",
}
REPOSITORY = "https://github.com/amiproto/amiproto/blob/main/"

_INSERT = re.compile(r"^<!-- insert: ([a-z-]+)(?: (\S+))? -->$", re.M)


# -- mkdocs hooks ------------------------------------------------------------------


def on_files(files: Files, config: MkDocsConfig) -> Files:
    from mkdocs.structure.files import File, InclusionLevel  # noqa: PLC0415 - only mkdocs runs this

    for path, text in reference_pages().items():
        # Reached from their index pages: a nav of several hundred entries would slow every page.
        inclusion = (
            InclusionLevel.INCLUDED
            if path.endswith("index.md") or path == ENUMS_PAGE
            else InclusionLevel.NOT_IN_NAV
        )
        files.append(File.generated(config, path, content=text, inclusion=inclusion))
    for path, source in COPIED.items():
        files.append(File.generated(config, path, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    return expand_inserts(markdown)


def expand_inserts(markdown: str) -> str:
    """``markdown`` with each insert line replaced by what it names."""

    def insert(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        make = INSERTS.get(name)
        if make is None:
            raise ValueError(f"unknown insert {name!r}; known: {', '.join(sorted(INSERTS))}")
        return make(argument)

    return _INSERT.sub(insert, markdown)


# -- the catalogue's pages -----------------------------------------------------------


def reference_pages() -> dict[str, str]:
    """Every generated page of the catalogue: its path under docs/ -> its Markdown."""
    pages: dict[str, str] = {}
    action_rows = []
    for name, builder in sorted(_actions.ACTION_BUILDERS.items(), key=lambda pair: pair[0].lower()):
        pages[f"{ACTIONS_DIR}/{name}.md"] = _action_page(name, builder)
        summary = _summary(builder.__doc__)
        event = builder.completion_event
        ends = f"[{event}](../events/{event}.md)" if _is_event(event) else (event or "")
        action_rows.append(f"| [{name}]({name}.md) | {_cell(summary)} | {ends} |")
    pages[f"{ACTIONS_DIR}/index.md"] = "\n".join(
        [
            "# Actions",
            "",
            f"A builder for each of the {len(action_rows)} actions in `amiproto.actions`, generated from"
            " Asterisk 22's documentation. Each page lists the keyword arguments and the headers they"
            " fill. A list action's page names the event that ends its list.",
            "",
            "| action | what it does | list ends with |",
            "|---|---|---|",
            *action_rows,
            "",
        ]
    )
    event_rows = []
    enums_used: dict[str, list[str]] = {}
    for name in sorted(_event_specs.EVENTS, key=str.lower):
        class_name, doc, documented, fields = json.loads(_event_specs.EVENTS[name])
        pages[f"{EVENTS_DIR}/{name}.md"] = _event_page(name, class_name, doc, documented, fields)
        for _, _, kind, _ in fields:
            if kind.startswith("enum:"):
                enums_used.setdefault(kind.removeprefix("enum:"), []).append(name)
        mark = "" if documented else " (undocumented)"
        event_rows.append(f"| [{name}]({name}.md) | `events.{class_name}` | {_cell(_summary(doc))}{mark} |")
    pages[f"{EVENTS_DIR}/index.md"] = "\n".join(
        [
            "# Events",
            "",
            f"A class for each of the {len(event_rows)} events in `amiproto.events`: those Asterisk 22"
            " documents, and the few it sends without documenting them (marked *undocumented*, from"
            " the reviewed supplement `tools/undocumented_events.toml`). The core builds an arriving"
            " event of one of these names as its class; any other name is a plain `amiproto.Event`."
            " Enumerated values are listed on [their own page](../enumerations.md).",
            "",
            "| event | class | what it reports |",
            "|---|---|---|",
            *event_rows,
            "",
        ]
    )
    pages[ENUMS_PAGE] = _enums_page(enums_used)
    return pages


def _is_event(name: str | None) -> bool:
    return name is not None and name in _event_specs.EVENTS


def _action_page(name: str, builder: type[ActionBuilder]) -> str:
    text = builder.__doc__ or ""
    described = _parameters_described(text)
    # The generated docstring ends with the list sentence; it is said below, with a link.
    prose = [p for p in _paragraphs(text) if not p.startswith("A list action:")]
    lines = [f"# {name}", "", f"`amiproto.actions.{builder.__name__}`", "", *prose, ""]
    headers = dict(builder.parameters)
    keywords = [name for name in inspect.signature(builder).parameters if name != "action_id"]
    if keywords:
        lines += ["| keyword | header | required | description |", "|---|---|---|---|"]
        for keyword in keywords:
            shown, takes, description = described.get(keyword, (headers.get(keyword, ""), "", ""))
            required = "yes" if keyword in builder.required else ""
            cell = _cell(description) + (f" *Takes {TAKES.get(takes, takes)}.*" if takes else "")
            lines.append(f"| `{keyword}` | `{shown}` | {required} | {cell.strip()} |")
        lines.append("")
    else:
        lines += ["It takes no parameters.", ""]
    lines.append("Every builder also takes `action_id`; without it the connection makes one.")
    if builder.completion_event is not None:
        event = builder.completion_event
        target = f"[{event}](../events/{event}.md)" if _is_event(event) else f"`{event}`"
        lines += ["", f"A list action: its list ends with the {target} event."]
    example = ", ".join(f'{keyword}="..."' for keyword in builder.required)
    lines += [
        "",
        "```python",
        f"amiproto.actions.{builder.__name__}({example})",
        "```",
        "",
        f"From the command line: `amiproto action {name}{' Header=value ...' if keywords else ''}`.",
        "",
    ]
    return "\n".join(lines)


# What a parameter takes beyond one value, as the generated docstrings say it -> in words.
TAKES = {
    "list or dict by index": "a list, or a dict by index",
    "dict of NAME: VALUE": "a dict of NAME: VALUE, or a list of NAME=VALUE strings",
    "free headers": "a dict, or a list of (name, value) pairs",
}


def _event_page(name: str, class_name: str, doc: str, documented: bool, fields: list[list[str]]) -> str:
    aliases = [alias for alias, target in _event_specs.ALIASES.items() if target == name]
    lines = [f"# {name}", "", f"`amiproto.events.{class_name}`", "", *_paragraphs(doc), ""]
    if not documented:
        lines += [
            "Asterisk sends this event without documenting it; its class comes from the supplement.",
            "",
        ]
    if aliases:
        lines += [f"Also built for events named {', '.join(f'`{alias}`' for alias in aliases)}.", ""]
    if fields:
        lines += ["| attribute | header | type | description |", "|---|---|---|---|"]
        for attribute, header, kind, field_doc in fields:
            lines.append(f"| `{attribute}` | `{header}` | {_kind(kind)} | {_cell(field_doc)} |")
        lines += [
            "",
            "An attribute is None when its header is absent, and the header's text as sent when it"
            " does not convert to its type; `.headers` keeps every header as it came.",
            "",
        ]
    else:
        lines += ["It has no typed attributes; read its headers with `.get()` or `.headers`.", ""]
    return "\n".join(lines)


def _kind(kind: str) -> str:
    if kind.startswith("enum:"):
        enum = kind.removeprefix("enum:")
        return f"[`{enum}`](../enumerations.md#{enum.lower()}) \\| `str`"
    return {"int": "`int` \\| `str`", "bool": "`bool` \\| `str`"}.get(kind, "`str`")


def _enums_page(used_by: dict[str, list[str]]) -> str:
    lines = [
        "# Enumerations",
        "",
        "The documented values of enumerated headers, as `amiproto.events` classes. Each member is a"
        " `str` equal to its wire text, and prints as that text (`Up`, not `ChannelStateDesc.UP`).",
        "",
    ]
    for enum_name in sorted(_event_specs.ENUMS, key=str.lower):
        users = ", ".join(f"[{event}](events/{event}.md)" for event in sorted(used_by.get(enum_name, [])))
        lines += [f"## {enum_name}", "", f"Used by {users}." if users else "", ""]
        lines += ["| member | wire text |", "|---|---|"]
        lines += [f"| `{member}` | `{value}` |" for member, value in _event_specs.ENUMS[enum_name]]
        lines.append("")
    return "\n".join(lines)


def _paragraphs(doc: str | None) -> list[str]:
    """The docstring's prose before its ``Parameters:`` list, escaped for Markdown."""
    text = (doc or "").split("\n    Parameters:", 1)[0].split("\nParameters:", 1)[0]
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in re.split(r"\n\s*\n", text)]
    out: list[str] = []
    for block in blocks:
        if block:
            out += [_escape(block), ""]
    return out[:-1]


def _summary(doc: str | None) -> str:
    paragraphs = _paragraphs(doc)
    return paragraphs[0] if paragraphs else ""


def _parameters_described(doc: str) -> dict[str, tuple[str, str, str]]:
    """keyword -> (header as documented, what it takes beyond a value, description), from the
    generated docstring's ``- keyword (Header, required; takes): description`` lines."""
    found: dict[str, tuple[str, str, str]] = {}
    keyword = None
    for raw in doc.split("Parameters:", 1)[-1].splitlines():
        line = raw.strip()
        entry = re.match(r"- (\w+) \((\S+), (?:required|optional)(?:; ([^)]*))?\): ?(.*)", line)
        if entry:
            keyword = entry.group(1)
            found[keyword] = (entry.group(2), entry.group(3) or "", entry.group(4))
        elif line and keyword is not None:
            header, takes, description = found[keyword]
            found[keyword] = (header, takes, f"{description} {line}")
    return found


def _escape(text: str) -> str:
    """Docs text shown as written: no Markdown or HTML read into it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", text)


def _prose(text: str) -> str:
    """A docstring's text for Markdown: its ``code`` as code, the rest escaped."""
    parts = re.split(r"``(.+?)``", " ".join(text.split()))
    return "".join(
        f"`{part}`" if odd else _escape(part) for odd, part in zip(itertools.cycle((False, True)), parts)
    )


def _cell(text: str) -> str:
    """Text for one table cell: one line, escaped."""
    return _escape(" ".join(text.split()))


# -- inserts ---------------------------------------------------------------------


def _cli_help(argument: str | None) -> str:
    from amiproto_transports.cli import build_parser  # noqa: PLC0415 - only this insert needs it

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands: list[tuple[str, argparse.ArgumentParser]] = [("amiproto", parser)]
    commands += [(f"amiproto {name}", sub) for name, sub in subparsers.choices.items()]
    if argument is not None:
        commands = [(title, sub) for title, sub in commands if title == f"amiproto {argument}"]
        if not commands:
            raise ValueError(f"cli-help: no command {argument!r}")
    out = []
    with _columns(88):
        for title, sub in commands:
            heading = [f"### `{title}`", ""] if argument is None else []
            out += [*heading, "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(out)


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse wraps to the terminal's width: fix it, so every build gives the same text."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _state_table(argument: str | None) -> str:
    return _transition_table(list(_state.State), list(_state.Input), _state.TRANSITIONS)


def _sync_roles(argument: str | None) -> str:
    from amiproto_transports import _sync_roles  # noqa: PLC0415 - only this insert needs it

    return _transition_table(list(_sync_roles.Role), list(_sync_roles.Input), _sync_roles.TRANSITIONS)


def _transition_table(
    states: list[enum.Enum], inputs: list[enum.Enum], transitions: Mapping[tuple[Any, Any], enum.Enum]
) -> str:
    """A table of (state, input) -> state, one row per input: "stays", the next state, or "refused"."""
    lines = [
        "| input | " + " | ".join(f"`{state.name}`" for state in states) + " |",
        "|---|" + "---|" * len(states),
    ]
    for event in inputs:
        cells = []
        for state in states:
            after = transitions.get((state, event))
            cells.append("refused" if after is None else ("stays" if after is state else f"`{after.name}`"))
        lines.append(f"| {event.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _c_twins(argument: str | None) -> str:
    lines = ["| C function | held in | replaces (the Python twin) |", "|---|---|---|"]
    for twin in _accel.TWINS:
        lines.append(
            f"| `{twin.c_module}.{twin.c_name}` | `{twin.module}.{twin.slot}` | {_prose(twin.python_twin)} |"
        )
    return "\n".join(lines) + "\n"


# Where the limits are named, each with its docstring: (title, module file, which): which
# is a class of the module, None for all its documented constants, or a tuple of their
# names (modules whose other constants are data, not limits).
_SIMULATOR = "src/amiproto_transports/simulator/"
_SIMULATOR_TITLE = "The simulator (`Simulator`)"
LIMIT_SOURCES: tuple[tuple[str, str, str | tuple[str, ...] | None], ...] = (
    ("The core (`amiproto.Connection`)", "src/amiproto/_framing.py", None),
    ("The core (`amiproto.Connection`)", "src/amiproto/_connection.py", None),
    (
        "The clients (`connect()` of sync, asyncio and trio)",
        "src/amiproto_transports/_shared/_limits.py",
        None,
    ),
    (_SIMULATOR_TITLE, _SIMULATOR + "_limits.py", "Limits"),
    (_SIMULATOR_TITLE, _SIMULATOR + "_filters.py", ("MAX_STATES", "MAX_MATCH_WORK")),
    (_SIMULATOR_TITLE, _SIMULATOR + "_eventfilter.py", ("MAX_EVENT_FILTERS",)),
    (_SIMULATOR_TITLE, _SIMULATOR + "_calls.py", ("MAX_CHANNELS", "MAX_VARIABLES")),
    (_SIMULATOR_TITLE, _SIMULATOR + "_queues.py", ("MAX_MEMBERS",)),
    (_SIMULATOR_TITLE, _SIMULATOR + "_runners.py", ("ACCEPT_BACKOFF",)),
    (_SIMULATOR_TITLE, _SIMULATOR + "_actions/database.py", ("MAX_DB_ENTRIES",)),
    (_SIMULATOR_TITLE, _SIMULATOR + "_actions/dialplan.py", ("MAX_PRIORITIES",)),
    (_SIMULATOR_TITLE, _SIMULATOR + "_actions/mwi.py", ("MAX_MWI_MAILBOXES",)),
    (
        _SIMULATOR_TITLE,
        _SIMULATOR + "_actions/config.py",
        ("MAX_CONFIG_FILES", "MAX_CONFIG_SIZE", "MAX_UPDATES"),
    ),
    (_SIMULATOR_TITLE, _SIMULATOR + "_confparse.py", ("MAX_INCLUDE_DEPTH",)),
)


def documented_constants(path: Path, class_name: str | None = None) -> list[tuple[str, str, str]]:
    """``(name, value as written, docstring)`` of each documented assignment in a module, or in
    one class of it: an assignment followed by a string, as the limit modules write them."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    body: list[ast.stmt] = tree.body
    if class_name is not None:
        body = next(
            node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name
        ).body
    found = []
    for statement, following in itertools.pairwise(body):
        if not (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)):
            continue
        doc = following.value.value
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and isinstance(doc, str):
            written = ast.get_source_segment(source, value) or ast.unparse(value)
            found.append((target.id, written, " ".join(doc.split())))
    return found


def _limits(argument: str | None) -> str:
    lines: list[str] = []
    title_shown = None
    for title, source, which in LIMIT_SOURCES:
        if title != title_shown:
            lines += ["", f"### {title}", "", "| name | value | what it bounds |", "|---|---|---|"]
            title_shown = title
        class_name = which if isinstance(which, str) else None
        found = documented_constants(ROOT / source, class_name)
        if isinstance(which, tuple):
            missing = set(which) - {name for name, _, _ in found}
            if missing:
                raise ValueError(f"{source} documents no {', '.join(sorted(missing))}")
            found = [entry for entry in found if entry[0] in which]
        for name, value, doc in found:
            lines.append(f"| `{name}` | `{value}` | {_prose(doc)} |")
    return "\n".join(lines).lstrip() + "\n"


def _benchmark_tables(argument: str | None) -> str:
    text = (ROOT / "benchmarks" / "results" / "tables.md").read_text(encoding="utf-8")
    return text.replace("\n#### ", "\n### ")


def _file(argument: str | None) -> str:
    if argument not in ROOT_PAGES:
        raise ValueError(f"file: {argument!r} is not one of {', '.join(ROOT_PAGES)}")
    text = (ROOT / argument).read_text(encoding="utf-8")

    def link(match: re.Match[str]) -> str:
        target, anchor = match.group(2), match.group(3) or ""
        page = ROOT_PAGES.get(target)
        return f"]({page}{anchor})" if page else f"]({REPOSITORY}{target}{anchor})"

    # Links to files of the checkout: a page of the site, or the file in the repository.
    return re.sub(r"\]\((?!https?:|#|mailto:)(\./)?([^)#\s]+)(#[^)\s]*)?\)", link, text)


INSERTS: dict[str, Callable[[str | None], str]] = {
    "benchmark-tables": _benchmark_tables,
    "c-twins": _c_twins,
    "cli-help": _cli_help,
    "file": _file,
    "limits": _limits,
    "state-table": _state_table,
    "sync-roles": _sync_roles,
}
"""What an ``<!-- insert: NAME [ARGUMENT] -->`` line may name."""

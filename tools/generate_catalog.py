"""Generate amiproto.actions and amiproto.events from Asterisk's AMI documentation.

Usage: python tools/generate_catalog.py [--docs PATH] [--out DIR] [--no-format]

Reads ami-docs.xml (Asterisk 22's manager documentation, XSLT applied) and
writes to DIR (default: src/amiproto/) actions.py; _event_specs.py, the events as
data; events.py, which builds each class from them on first use; and events.pyi,
the same classes spelled out for type checkers. All are formatted with
``ruff format`` so that the committed files pass ``ruff format --check``. The
output depends only on the XML and the tables below, never on dict or set
iteration order, so running it twice gives the same bytes.

The docs are the source of truth; the tables below add only what they leave
out and say where it comes from.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import amiproto  # noqa: E402
from amiproto._typed import TypedEvent, python_name, snake_case  # noqa: E402

DEFAULT_DOCS = ROOT.parent / "shared" / "asterisk-22" / "ami-docs.xml"
DEFAULT_OUT = ROOT / "src" / "amiproto"

# Events Asterisk 22 sends but does not document, and the lists they end: a
# reviewed data file, merged with the docs (see its header for the format).
SUPPLEMENT = Path(__file__).resolve().parent / "undocumented_events.toml"
_FIELD_KINDS = frozenset({"str", "int", "bool"})
_SUPPLEMENT_KEYS = frozenset({"summary", "list_of", "completes", "seen", "note", "fields"})

# Wire names that differ from the documented name: the docs call Asterisk's
# ``Newexten`` event ``NewExten``, and the registry looks names up exactly.
EVENT_ALIASES = {"Newexten": "NewExten"}

# Enumerations whose values are yes/no-like become bool; all-integer ones int.
_BOOL_SETS = [
    {"yes", "no"},
    {"true", "false"},
    {"on", "off"},
    {"0", "1"},
    {"enabled", "disabled"},
]
_INT_WORDS = re.compile(
    r"\b(numeric|numerical|number of|in seconds|in milliseconds|in microseconds|"
    r"seconds since|\(in seconds\)|the time, in seconds)\b|^total \w+ (fax )?sessions",
    re.IGNORECASE,
)
_NOT_INT_WORDS = re.compile(r"decimal|hh:mm|round-trip", re.IGNORECASE)
_BOOL_WORDS = re.compile(r"^(a boolean|whether or not|if true)\b", re.IGNORECASE)

# Attributes an event already has: a header that snake-cases to one of these
# gets a trailing ``_``, except the two that mean the same thing.
_RESERVED = frozenset(name for name in dir(TypedEvent) if not name.startswith("__"))
_SAME_MEANING = {"action_id": "ActionID", "event_list": "EventList"}
_BUILDER_RESERVED = frozenset({"self", "action_id"})


def words(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def first_sentence(text: str, limit: int = 90) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    sentence = match.group(1) if match else text
    if len(sentence) > limit:
        sentence = sentence[: limit - 3].rstrip() + "..."
    return sentence


# -- reading the docs ----------------------------------------------------------


@dataclass
class EventField:
    header: str
    kind: str = "str"  # str | int | bool | enum
    values: list[str] = field(default_factory=list)
    doc: str = ""


@dataclass
class EventDoc:
    name: str
    synopsis: str = ""
    since: list[str] = field(default_factory=list)
    fields: dict[str, EventField] = field(default_factory=dict)  # by lower-cased header
    documented: bool = True
    seen: list[str] = field(default_factory=list)  # where an undocumented event was observed
    list_of: str = ""
    note: str = ""


@dataclass
class Param:
    header: str
    required: bool
    doc: str
    kind: str = "value"  # value | assignments | indexed | free
    pattern: str = ""


@dataclass
class ActionDoc:
    name: str
    synopsis: str = ""
    since: list[str] = field(default_factory=list)
    params: dict[str, Param] = field(default_factory=dict)  # by lower-cased header
    completion: str | None = None
    completion_source: str = ""


def classify(header: str, enum_values: list[str], doc: str) -> tuple[str, list[str]]:
    if enum_values:
        lowered = {value.lower() for value in enum_values}
        if lowered in _BOOL_SETS:
            return "bool", []
        if all(re.fullmatch(r"-?\d+", value) for value in enum_values):
            return "int", []
        return "enum", enum_values
    if _BOOL_WORDS.search(doc):
        return "bool", []
    if _INT_WORDS.search(doc) and not _NOT_INT_WORDS.search(doc):
        return "int", []
    return "str", []


def read_events(root: ET.Element) -> dict[str, EventDoc]:
    events: dict[str, EventDoc] = {}
    for element in root.iter("managerEvent"):
        name = element.get("name") or ""
        doc = events.setdefault(name, EventDoc(name))
        for instance in element.findall("managerEventInstance"):
            if not doc.synopsis:
                doc.synopsis = words(instance.find("synopsis"))
            for version in instance.iter("version"):
                if version.text and version.text.strip() not in doc.since:
                    doc.since.append(version.text.strip())
            syntax = instance.find("syntax")
            for param in syntax.findall("parameter") if syntax is not None else ():
                header = param.get("name") or ""
                text = words(param)
                values = [enum.get("name") or "" for enum in param.iter("enum")]
                kind, enum_values = classify(header, values, text)
                known = doc.fields.get(header.lower())
                if known is None:
                    doc.fields[header.lower()] = EventField(header, kind, enum_values, first_sentence(text))
                    continue
                # The same header in another instance: keep the first type
                # that says more than str, and every enumerated value.
                if known.kind == "str" and kind != "str":
                    known.kind = kind
                if known.kind == "enum" and kind == "enum":
                    known.values.extend(value for value in enum_values if value not in known.values)
                if not known.doc:
                    known.doc = first_sentence(text)
    return events


def read_actions(root: ET.Element, events: dict[str, EventDoc]) -> dict[str, ActionDoc]:
    actions: dict[str, ActionDoc] = {}
    for element in root.iter("manager"):
        name = element.get("name") or ""
        doc = actions.setdefault(name, ActionDoc(name))
        if not doc.synopsis:
            doc.synopsis = words(element.find("synopsis"))
        since = element.find("since")
        for version in since.iter("version") if since is not None else ():
            if version.text and version.text.strip() not in doc.since:
                doc.since.append(version.text.strip())
        syntax = element.find("syntax")
        for param in syntax.findall("parameter") if syntax is not None else ():
            header = param.get("name") or ""
            if header.lower() == "actionid" or header.lower() in doc.params:
                continue
            text = words(param)
            doc.params[header.lower()] = Param(header, param.get("required") == "true", first_sentence(text))
            classify_param(doc.params[header.lower()], text)
        responses = element.find("responses")
        if responses is not None and doc.completion is None:
            final = responses.findall("managerEvent")
            if final:
                doc.completion = final[-1].get("name")
                doc.completion_source = "docs: <responses>"
        if doc.completion is None:
            described = " ".join(
                words(child) for child in element if child.tag in ("synopsis", "description", "syntax")
            )
            named = [word for word in re.findall(r"\b\w+Complete\b", described) if word != name]
            if named:
                doc.completion = named[0]
                doc.completion_source = "docs: description"
    # An event documented as the end of an action's list.
    for event in sorted(events.values(), key=lambda item: item.name):
        if not event.name.endswith("Complete"):
            continue
        for element in root.iter("managerEvent"):
            if element.get("name") != event.name:
                continue
            refs = [ref.text for ref in element.iter("ref") if ref.get("type") == "manager"]
            synopsis = words(element.find(".//synopsis"))
            refs += re.findall(r"(\w+) command", synopsis)
            for ref in refs:
                action = actions.get(ref or "")
                if action is not None and action.completion is None:
                    action.completion = event.name
                    action.completion_source = "docs: the event's see-also"
    return actions


def classify_param(param: Param, text: str) -> None:
    header = param.header
    numbered = re.fullmatch(r"(.+)-0{6}", header)
    if numbered:
        param.kind, param.pattern = "indexed", numbered.group(1) + "-{:06d}"
        return
    bracketed = re.fullmatch(r"(.+)\(0\)", header)
    if bracketed:
        param.kind, param.pattern = "indexed", bracketed.group(1) + "({})"
        return
    if re.fullmatch(r"Header(1|N)", header):
        param.kind = "free"
        return
    if header == "Variable" and ("multiple" in text.lower() or "name=value" in text):
        param.kind = "assignments"


# -- writing Python ------------------------------------------------------------


def class_name(name: str) -> str:
    candidate = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if candidate[0].isdigit() or keyword.iskeyword(candidate):
        candidate = "_" + candidate
    return candidate


def literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def docstring(lines: list[str], indent: str = "    ") -> str:
    body: list[str] = []
    for line in lines:
        if not line:
            body.append("")
            continue
        body.extend(textwrap.wrap(line, 100 - len(indent), break_long_words=False, break_on_hyphens=False))
    text = "\n".join(f"{indent}{line}" if line else "" for line in body).strip()
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "
    return f'{indent}"""{text}\n{indent}"""\n' if "\n" in text else f'{indent}"""{text}"""\n'


def enum_member(value: str) -> str:
    member = snake_case(value).upper() or "EMPTY"
    if member[0].isdigit():
        member = "V_" + member
    if keyword.iskeyword(member):
        member += "_"
    return member


def plan_enums(events: dict[str, EventDoc]) -> dict[tuple[str, ...], str]:
    """A class name for each distinct enumeration, named after its shortest header.

    Two enumerations under the same header are told apart by an event name in
    front; a name that is also an event's, or one ``amiproto`` exports (``Response``,
    ``State``), gets ``Value`` after it, so that neither hides the other in a reader's
    imports.
    """
    users: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for event in sorted(events.values(), key=lambda item: item.name):
        for item in event.fields.values():
            if item.kind == "enum":
                users.setdefault(tuple(item.values), []).append((item.header, event.name))
    by_header: dict[str, list[tuple[str, ...]]] = {}
    chosen: dict[tuple[str, ...], tuple[str, str]] = {}
    for values, uses in sorted(users.items()):
        header, event_name = min(uses, key=lambda use: (len(use[0]), use[0], use[1]))
        chosen[values] = (header, event_name)
        by_header.setdefault(header, []).append(values)
    taken = {class_name(name) for name in events} | set(amiproto.__all__)
    names: dict[tuple[str, ...], str] = {}
    for values, (header, event_name) in chosen.items():
        base = class_name(header)
        name = base if len(by_header[header]) == 1 else class_name(event_name) + base
        names[values] = name + "Value" if name in taken else name
    if len(set(names.values())) != len(names):
        raise SystemExit("two enumerations got the same class name")
    return names


@dataclass
class EventClass:
    """One event class as all three event outputs write it."""

    name: str  # the class name
    event_name: str
    doc_lines: list[str]
    documented: bool
    fields: list[tuple[str, str, str, str, str]]  # (attribute, header, kind, enum class or "", doc)


def plan_event_classes(events: dict[str, EventDoc], enums: dict[tuple[str, ...], str]) -> list[EventClass]:
    planned: list[EventClass] = []
    for event in sorted(events.values(), key=lambda item: class_name(item.name)):
        lines = [event.synopsis or f"The {event.name} event."]
        if event.since:
            lines += ["", f"Since Asterisk {', '.join(event.since)}."]
        if event.seen:
            places = "; ".join(event.seen)
            lines += ["", f"Undocumented: not in Asterisk's documentation; observed in {places}."]
            if event.note:
                lines += ["", event.note]
        elif not event.documented:
            lines += ["", "Undocumented: Asterisk's docs name it as a list's end but do not describe it."]
        fields: list[tuple[str, str, str, str, str]] = []
        seen: dict[str, str] = {}
        for item in event.fields.values():
            attribute = python_name(item.header, _RESERVED)
            if _SAME_MEANING.get(snake_case(item.header)) is not None:
                continue
            if attribute in seen:
                raise SystemExit(f"{event.name}: {item.header} and {seen[attribute]} are both {attribute}")
            if "ReportX" in item.header:
                continue  # a family of numbered headers (Report0..., Report1...), left in .headers
            seen[attribute] = item.header
            enum_name = enums[tuple(item.values)] if item.kind == "enum" else ""
            fields.append((attribute, item.header, item.kind, enum_name, item.doc))
        planned.append(EventClass(class_name(event.name), event.name, lines, event.documented, fields))
    return planned


_EVENTS_DOC = (
    '"""Every AMI event Asterisk 22 documents, as a typed subclass of amiproto.Event.\n\n'
    "GENERATED by tools/generate_catalog.py from Asterisk's ami-docs.xml: do not edit.\n\n"
    "The core builds each event of a known name as its class (any other name stays a\n"
    "plain ``amiproto.Event``). Attributes are the snake_case of the documented headers,\n"
    "read from ``headers`` on access: ``int``, ``bool`` or an enumeration member\n"
    "where the docs make the type clear, the raw ``str`` when a value does not\n"
    "convert, None when the header is absent. See docs/catalog.md.\n"
)


def render_events_module() -> str:
    """The runtime module: each class is built from ``_event_specs`` on first use."""
    return "\n".join(
        [
            _EVENTS_DOC + "\n"
            "Classes and enumerations are built on first use, from the tables in\n"
            "``amiproto._event_specs``; ``events.pyi`` spells them out for type checkers.\n"
            '"""\n',
            "from __future__ import annotations\n",
            "from ._catalog import events_attribute, events_names\n\n",
            "def __getattr__(name: str) -> object:",
            "    value = events_attribute(name)",
            "    globals()[name] = value  # later reads are plain attribute reads",
            "    return value\n\n",
            "def __dir__() -> list[str]:",
            "    return sorted({*globals(), *events_names()})",
        ]
    )


def render_event_specs(planned: list[EventClass], enums: dict[tuple[str, ...], str]) -> str:
    out = [
        '"""The typed event catalogue as data, from which ``amiproto._catalog`` builds classes.\n\n'
        "GENERATED by tools/generate_catalog.py from Asterisk's ami-docs.xml: do not edit.\n\n"
        "Each event is one JSON string, read when its class is first built: a table of\n"
        "strings compiles about ten times faster than the same data as Python tuples,\n"
        "which matters where Python runs without its bytecode cache.\n"
        '"""\n',
        "from __future__ import annotations\n",
        "EVENTS: dict[str, str] = {",
    ]
    for planned_class in planned:
        fields = [
            [attribute, header, f"enum:{enum_name}" if kind == "enum" else kind, doc]
            for attribute, header, kind, enum_name, doc in planned_class.fields
        ]
        spec = [planned_class.name, "\n".join(planned_class.doc_lines), planned_class.documented, fields]
        text = json.dumps(spec, ensure_ascii=True, separators=(",", ":"))
        out.append(f"    {literal(planned_class.event_name)}: {literal(text)},")
    out.append("}")
    out.append(
        '"""Each event by its documented name: JSON of [class name, docstring, documented, fields],\n'
        "a field being [attribute, header, kind, doc], kind ``str``, ``int``, ``bool`` or\n"
        '``enum:ClassName``."""\n'
    )
    out.append("CLASSES: dict[str, str] = {")
    for planned_class in planned:
        out.append(f"    {literal(planned_class.name)}: {literal(planned_class.event_name)},")
    out.append("}")
    out.append('"""Each event class name: its documented event name."""\n')
    out.append("ENUMS: dict[str, tuple[tuple[str, str], ...]] = {")
    for values, enum_name in sorted(enums.items(), key=lambda item: item[1]):
        members = "".join(
            f"({literal(member)}, {literal(value)}), " for member, value in enum_members(enum_name, values)
        )
        out.append(f"    {literal(enum_name)}: ({members}),")
    out.append("}")
    out.append('"""Each enumeration by class name: its (member, value) pairs."""\n')
    out.append("ALIASES: dict[str, str] = {")
    for alias, target in sorted(EVENT_ALIASES.items()):
        out.append(f"    {literal(alias)}: {literal(target)},")
    out.append("}")
    out.append('"""Wire names that differ from the documented name."""')
    return "\n".join(out) + "\n"


def enum_members(enum_name: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
    members: list[tuple[str, str]] = []
    for value in values:
        member = enum_member(value)
        if member in (known for known, _ in members):
            raise SystemExit(f"enumeration {enum_name}: two values give member {member}")
        members.append((member, value))
    return members


def render_events_stub(planned: list[EventClass], enums: dict[tuple[str, ...], str]) -> str:
    """The classes spelled out, for type checkers and readers; the runtime builds the same."""
    out = [
        _EVENTS_DOC + "\n"
        "This stub spells out what ``events.py`` builds on first use, for type checkers.\n"
        '"""\n',
        "from ._typed import TypedEvent, WireEnum, choice, flag, integer, text\n\n",
    ]
    for values, enum_name in sorted(enums.items(), key=lambda item: item[1]):
        out.append(f"class {enum_name}(WireEnum):")
        out.append(docstring([f"Documented values of {enum_name}."]).rstrip("\n"))
        out.append("")
        for member, value in enum_members(enum_name, values):
            out.append(f"    {member} = {literal(value)}")
        out.append("\n")
    for planned_class in planned:
        name = planned_class.name
        noqa = "  # noqa: N801" if "_" in name else ""  # the issue asks for AOC_D, not AocD
        out.append(f"class {name}(TypedEvent):{noqa}")
        out.append(docstring(planned_class.doc_lines).rstrip("\n"))
        out.append("")
        out.append("    __slots__ = ()\n")
        out.append(f"    event_name = {literal(planned_class.event_name)}")
        if not planned_class.documented:
            out.append("    documented = False")
        for attribute, header, kind, enum_name, field_doc in planned_class.fields:
            doc = f", {literal(field_doc)}" if field_doc else ""
            if kind == "enum":
                maker = f"choice({literal(header)}, {enum_name}{doc})"
            else:
                function = {"str": "text", "int": "integer", "bool": "flag"}[kind]
                maker = f"{function}({literal(header)}{doc})"
            out.append(f"    {attribute} = {maker}")
        out.append("\n")
    out.append("EVENT_CLASSES_BY_NAME: dict[str, type[TypedEvent]]")
    out.append('"""Every event class by the name the server sends (including known aliases)."""')
    return "\n".join(out) + "\n"


_PARAM_TYPES = {
    "value": "HeaderValue",
    "assignments": "Assignments",
    "indexed": "Indexed",
    "free": "FreeHeaders",
}


def render_actions(actions: dict[str, ActionDoc]) -> str:
    out = [
        '"""A builder for every AMI action Asterisk 22 documents.\n\n'
        "GENERATED by tools/generate_catalog.py from Asterisk's ami-docs.xml: do not edit.\n\n"
        "Each builder is an ``amiproto.Action`` whose keyword arguments are the\n"
        "snake_case of the documented parameters; required ones must be given and\n"
        "unknown ones raise ``amiproto.LocalProtocolError`` (``DBPut`` takes ``val``,\n"
        "not ``value``). Every builder also takes ``action_id``. List actions carry\n"
        "the event that ends their list, so lists complete even from servers that\n"
        "send no ``EventList`` header. See docs/catalog.md.\n"
        '"""\n',
        "from __future__ import annotations\n",
        "from ._typed import ActionBuilder, Assignments, FreeHeaders, HeaderValue, Indexed, "
        "assignments, free_headers, indexed\n\n",
    ]
    for action in sorted(actions.values(), key=lambda item: class_name(item.name)):
        name = class_name(action.name)
        out.append(f"class {name}(ActionBuilder):")
        lines = [action.synopsis or f"The {action.name} action."]
        if action.since:
            lines += ["", f"Since Asterisk {', '.join(action.since)}."]
        if action.completion:
            lines += ["", f"A list action: its list ends with the {action.completion} event."]
        params: list[tuple[str, Param]] = []
        seen: set[str] = set()
        for param in action.params.values():
            if param.kind == "free":
                if "headers" in seen:
                    continue
                keyword_name = "headers"
            else:
                base = param.pattern.split("-")[0].split("(")[0] if param.kind == "indexed" else param.header
                keyword_name = python_name(base, _BUILDER_RESERVED)
            if keyword_name in seen:
                raise SystemExit(f"{action.name}: two parameters are called {keyword_name}")
            seen.add(keyword_name)
            params.append((keyword_name, param))
        if params:
            lines += ["", "Parameters:"]
            for keyword_name, param in params:
                target = param.pattern.replace("{:06d}", "NNNNNN").replace("{}", "N") or param.header
                note = "required" if param.required else "optional"
                extra = {"assignments": "; dict of NAME: VALUE", "indexed": "; list or dict by index"}.get(
                    param.kind, "; free headers" if param.kind == "free" else ""
                )
                summary = f" {param.doc}" if param.doc else ""
                lines.append(f"- {keyword_name} ({target}, {note}{extra}):{summary}")
        out.append(docstring(lines).rstrip("\n"))
        out.append("")
        out.append("    __slots__ = ()\n")
        out.append(f"    action_name = {literal(action.name)}")
        if action.completion:
            out.append(f"    completion_event = {literal(action.completion)}")
        mapping = "".join(
            f"({literal(keyword_name)}, {literal(param.pattern or param.header)}), "
            for keyword_name, param in params
            if param.kind != "free"
        )
        out.append(f"    parameters = ({mapping})\n")
        signature = ["self", "*"]
        for keyword_name, param in params:
            annotation = _PARAM_TYPES[param.kind]
            if param.required and param.kind == "value":
                signature.append(f"{keyword_name}: {annotation}")
            else:
                signature.append(f"{keyword_name}: {annotation} | None = None")
        signature.append("action_id: str | None = None")
        out.append(f"    def __init__({', '.join(signature)}) -> None:")
        items = ["action_id"]
        for keyword_name, param in params:
            if param.kind == "value":
                items.append(f"({literal(param.header)}, {keyword_name})")
            elif param.kind == "assignments":
                items.append(f"({literal(param.header)}, assignments({keyword_name}))")
            elif param.kind == "indexed":
                items.append(f"*indexed({literal(param.pattern)}, {keyword_name})")
            else:
                items.append(f"*free_headers({keyword_name})")
        out.append(f"        self._init({', '.join(items)})")
        out.append("\n")
    out.append("ACTION_BUILDERS: dict[str, type[ActionBuilder]] = {")
    for action in sorted(actions.values(), key=lambda item: item.name):
        out.append(f"    {literal(action.name)}: {class_name(action.name)},")
    out.append("}")
    out.append('"""Every builder by its action name."""')
    return "\n".join(out) + "\n"


@dataclass
class SupplementEntry:
    name: str
    summary: str
    seen: list[str]
    list_of: str = ""
    completes: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] | None = None  # None: a list end's ListItems
    note: str = ""


def read_supplement(path: Path) -> list[SupplementEntry]:
    """The reviewed table of undocumented events, checked for shape."""
    with path.open("rb") as file:
        table: dict[str, Any] = tomllib.load(file).get("events", {})
    entries: list[SupplementEntry] = []
    for name, entry in table.items():
        where = f"{path.name}: [events.{name}]"
        unknown = set(entry) - _SUPPLEMENT_KEYS
        if unknown:
            raise SystemExit(f"{where}: unknown keys {sorted(unknown)}")
        if not entry.get("summary") or not entry.get("seen"):
            raise SystemExit(f"{where}: needs a summary and where it was seen")
        fields = entry.get("fields")
        if fields is not None:
            for pair in fields:
                if len(pair) != 2 or pair[1] not in _FIELD_KINDS:
                    kinds = sorted(_FIELD_KINDS)
                    raise SystemExit(f"{where}: field {pair!r} is not [header, one of {kinds}]")
            fields = [(header, kind) for header, kind in fields]
        entries.append(
            SupplementEntry(
                name,
                entry["summary"],
                list(entry["seen"]),
                entry.get("list_of", ""),
                list(entry.get("completes", [])),
                fields,
                entry.get("note", ""),
            )
        )
    if [entry.name for entry in entries] != sorted((entry.name for entry in entries), key=str.lower):
        raise SystemExit(f"{path.name}: keep the events sorted by name, ignoring case")
    return entries


def add_undocumented(
    events: dict[str, EventDoc], actions: dict[str, ActionDoc], supplement: list[SupplementEntry]
) -> None:
    for entry in supplement:
        if entry.name in events:
            raise SystemExit(f"{entry.name} is documented now: remove it from {SUPPLEMENT.name}")
        for action_name in [entry.list_of, *entry.completes]:
            if action_name and action_name not in actions:
                raise SystemExit(f"{entry.name}: no documented action {action_name}")
        event = events[entry.name] = EventDoc(
            entry.name,
            entry.summary,
            documented=False,
            seen=entry.seen,
            list_of=entry.list_of,
            note=entry.note,
        )
        fields = entry.fields if entry.fields is not None else [("ListItems", "int")]
        for header, kind in fields:
            doc = "The number of items in the list." if header == "ListItems" else ""
            event.fields[header.lower()] = EventField(header, kind, doc=doc)
        for action_name in entry.completes:
            action = actions[action_name]
            if action.completion not in (None, entry.name):
                raise SystemExit(f"{entry.name}: the docs end {action_name} with {action.completion}")
            action.completion = entry.name
            action.completion_source = f"{SUPPLEMENT.name}"
    # Every completion event the docs name gets a class, documented or not.
    for action in sorted(actions.values(), key=lambda item: item.name):
        completion = action.completion
        if completion and completion not in events:
            event = events[completion] = EventDoc(
                completion,
                f"The end of a {action.name} list.",
                documented=False,
            )
            event.fields["listitems"] = EventField("ListItems", "int", doc="The number of items in the list.")


def generate(docs: Path) -> dict[str, str]:
    root = ET.parse(docs).getroot()
    events = read_events(root)
    actions = read_actions(root, events)
    add_undocumented(events, actions, read_supplement(SUPPLEMENT))
    enums = plan_enums(events)
    planned = plan_event_classes(events, enums)
    return {
        "events.py": render_events_module(),
        "events.pyi": render_events_stub(planned, enums),
        "_event_specs.py": render_event_specs(planned, enums),
        "actions.py": render_actions(actions),
    }


def ruff_format(source: str, filename: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", filename, "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"ruff format failed on {filename}:\n{result.stderr}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-format", action="store_true", help="skip ruff format")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for filename, source in generate(args.docs).items():
        text = source if args.no_format else ruff_format(source, f"src/amiproto/{filename}")
        (args.out / filename).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

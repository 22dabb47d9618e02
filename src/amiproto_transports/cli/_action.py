"""``amiproto action NAME [Key=Value ...]``: send one action, print its answer.

The ``Key=Value`` words are sent as raw AMI headers, in order, repeats kept
(``Variable=A=1 Variable=B=2``), so anything Asterisk accepts can be sent.

Which action names are accepted: AMI names are case-insensitive, so a name is
matched without case against

- the actions Asterisk 22 documents (``amiproto.actions.ACTION_BUILDERS``), and
- ``LEGACY_ACTIONS``: actions of older Asterisk versions that 22 no longer
  documents (chan_sip, res_monitor, chan_skinny, chan_zap, ...). Plenty of
  servers still run them, and their users are the ones most likely to type
  ``SIPpeers``.

Anything else is refused as a probable typo (with the nearest names), unless
``--force`` is given for actions of third-party modules. The name goes out
with its canonical spelling, and a known list action carries the event that
ends its list, so lists complete even on servers too old to send
``EventList``.

A header name the catalogue does not document for a documented action is
warned about (``DBPut Value=`` stores an empty value: the header is ``Val``)
and still sent, since servers and modules differ. Without a server named
(``--host``, ``--profile``, ``AMI_HOST``...), the first line of the output says
that the embedded simulator answered, so that nobody takes its answer for
their PBX's.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
import time

import amiproto

from ._common import UsageError, add_connection_options, add_output_options, open_client, parse_pairs, target
from ._output import Terminal, message_json, printable

__all__ = ["LEGACY_ACTIONS", "SIMULATOR_ANSWERS", "add_parser", "resolve_action", "run", "unknown_headers"]

SIMULATOR_ANSWERS = "answered by amiproto's embedded simulator, not a real Asterisk (give --host)"
# Headers every action may carry, whatever the catalogue lists for it.
_ANY_ACTION_HEADERS = frozenset({"actionid"})

LEGACY_ACTIONS: dict[str, str | None] = {
    # name -> the event that ends its list (None: not a list action)
    # chan_sip, removed in Asterisk 21
    "SIPpeers": "PeerlistComplete",
    "SIPshowpeer": None,
    "SIPqualifypeer": None,
    "SIPshowregistry": "RegistrationsComplete",
    "SIPnotify": None,
    "SIPpeerstatus": "SIPpeerstatusComplete",
    # res_monitor, removed in Asterisk 21
    "Monitor": None,
    "StopMonitor": None,
    "ChangeMonitor": None,
    "PauseMonitor": None,
    "UnpauseMonitor": None,
    # chan_skinny, deprecated since Asterisk 19
    "SKINNYdevices": "DevicelistComplete",
    "SKINNYshowdevice": None,
    "SKINNYlines": "LinelistComplete",
    "SKINNYshowline": None,
    # app_queue's old text listing
    "Queues": None,
    # the data API (Asterisk 1.8 to 13)
    "DataGet": None,
    # Asterisk 1.4 to 11
    "SetCDRUserField": None,
    "AgentCallbackLogin": None,
    "ZapShowChannels": "ZapShowChannelsComplete",
    "ZapTransfer": None,
    "ZapHangup": None,
    "ZapDialOffhook": None,
    "ZapDNDon": None,
    "ZapDNDoff": None,
    "ZapRestart": None,
}


@functools.cache
def _known() -> dict[str, tuple[str, str | None]]:
    """Every action name by its lower case: the spelling and the event that ends its list."""
    # The catalogue is imported here, not at start: every ``amiproto`` call would pay for it.
    from amiproto.actions import ACTION_BUILDERS  # noqa: PLC0415

    return {
        **{name.lower(): (name, end) for name, end in LEGACY_ACTIONS.items()},
        **{name.lower(): (name, builder.completion_event) for name, builder in ACTION_BUILDERS.items()},
    }


def resolve_action(name: str, *, force: bool = False) -> tuple[str, str | None]:
    """The canonical spelling of action ``name`` and the event that ends its list.

    Raises ``UsageError`` for a name neither documented nor legacy, unless ``force``.
    """
    known = _known()
    found = known.get(name.lower())
    if found is not None:
        return found
    if force:
        return name, None
    spellings = [spelling for spelling, _ in known.values()]
    close = difflib.get_close_matches(name, spellings, n=3, cutoff=0.6)
    if not close:
        lowered = {s.lower(): s for s in spellings}
        close = [lowered[s] for s in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UsageError(f"unknown action {name!r}{hint}; use --force to send it anyway")


def _missing_required(name: str, pairs: list[tuple[str, str]]) -> list[str]:
    from amiproto.actions import ACTION_BUILDERS  # noqa: PLC0415 (see _known)

    builder = ACTION_BUILDERS.get(name)
    if builder is None:
        return []
    given = {key.lower() for key, _ in pairs}
    headers = dict(builder.parameters)
    missing = []
    for keyword in builder.required:
        header = headers.get(keyword)
        if header is not None and "(" not in header and header.lower() not in given:
            missing.append(header)
    return missing


def unknown_headers(name: str, pairs: list[tuple[str, str]]) -> list[str]:
    """Warnings for the header names the catalogue does not document for action ``name``.

    Each says the nearest documented name when there is one. Actions the
    catalogue does not describe (legacy, ``--force``) get none.
    """
    from amiproto.actions import ACTION_BUILDERS  # noqa: PLC0415 (see _known)

    builder = ACTION_BUILDERS.get(name)
    if builder is None:
        return []
    documented = [header for _, header in builder.parameters]
    # Numbered headers (UpdateConfig's Action-000000, AOCMessage's UnitAmount(0)) match by pattern.
    patterns = [_header_pattern(header) for header in documented]
    warnings = []
    seen = set()
    for key, _ in pairs:
        lowered = key.lower()
        if lowered in _ANY_ACTION_HEADERS or lowered in seen or any(p.fullmatch(key) for p in patterns):
            continue
        seen.add(lowered)
        plain = [header for header in documented if "{" not in header]
        by_case = {header.lower(): header for header in plain}
        close = difflib.get_close_matches(lowered, list(by_case), n=1, cutoff=0.5)
        hint = f" (did you mean {by_case[close[0]]}?)" if close else ""
        warnings.append(f"{name} has no header {key}{hint}")
    return warnings


def _header_pattern(header: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]*\}", header)
    return re.compile(r"\d+".join(re.escape(part) for part in parts), flags=re.IGNORECASE)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "action",
        help="send one action and print its answer",
        description="Send one action with raw Key=Value headers; print the response and its list "
        "events. Exit 1 on 'Response: Error'.",
    )
    parser.add_argument("name", metavar="NAME", help="the action, e.g. Ping, CoreShowChannels, Command")
    # default=[]: without it argparse counts an optional "*" positional as required.
    parser.add_argument("pairs", metavar="Key=Value", nargs="*", default=[], help="headers, sent as given")
    parser.add_argument(
        "--force", action="store_true", help="send a NAME that is neither documented nor a legacy action"
    )
    add_output_options(parser, json_help="JSON lines: the response, then each list event")
    add_connection_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    name, list_end = resolve_action(args.name, force=args.force)
    pairs = parse_pairs(args.pairs)
    term = Terminal(plain=args.plain, json_lines=args.json)
    try:
        action = amiproto.Action(name, pairs, list_complete_event=list_end)
    except amiproto.LocalProtocolError as error:
        raise UsageError(str(error)) from None
    for warning in unknown_headers(name, pairs):
        term.warn(f"{warning}; sent anyway")
    for header in _missing_required(name, pairs):
        term.warn(f"{name} documents {header} as required")
    with target(args, note=False) as where, open_client(where, events=False) as client:
        if where.simulator is not None and not term.json:
            term.line(term.style(SIMULATOR_ANSWERS, "dim"))
        start = time.perf_counter()
        completed = client.send_action(action, timeout=where.timeout)
        elapsed = time.perf_counter() - start
    # The client's own ActionID is noise unless the user chose one.
    simulated = where.simulator is not None
    show(term, completed, elapsed, hide_action_id=action.action_id is None, simulated=simulated)
    return 0 if completed.success else 1


def show(
    term: Terminal,
    completed: amiproto.ActionCompleted,
    elapsed: float,
    *,
    hide_action_id: bool = False,
    simulated: bool = False,
) -> None:
    """Print an action's answer: its response, then its list events.

    ``simulated``: the embedded simulator answered; JSON says so in the response's object.
    """
    response = completed.response
    if term.json:
        if response is not None:
            obj = message_json(response)
            obj["action"] = completed.action.name
            obj["round_trip_ms"] = round(elapsed * 1000, 3)
            if simulated:
                obj["server"] = "embedded simulator"
            term.json_line(obj)
        for event in completed.events:
            term.json_line(message_json(event))
    else:
        if response is not None:
            term.lines(term.response_lines(response, hide=["ActionID"] if hide_action_id else []))
        items, end = _split_list(completed)
        if items:
            term.line()
            term.table(items)
        if end is not None:
            details = " ".join(
                f"{printable(name)}={printable(value)}"
                for name, value in end.headers
                if name.lower() not in ("event", "actionid", "eventlist", "privilege")
            )
            term.line(term.style(printable(end.name), "dim") + (f" {details}" if details else ""))
        count = len(items)
        listed = f", {count} list item{'' if count == 1 else 's'}" if completed.is_list or count else ""
        term.note(f"{completed.action.name}: {elapsed * 1000:.1f} ms{listed}")
    for warning in completed.warnings:
        term.warn(warning)


def _split_list(completed: amiproto.ActionCompleted) -> tuple[list[amiproto.Event], amiproto.Event | None]:
    """A list's items, and the event that closed it (shown apart: it is not a row)."""
    events = list(completed.events)
    if completed.is_list and events:
        last = events[-1]
        closing = (last.get("EventList") or "").lower() == "complete" or (
            last.name == completed.action.list_complete_event
        )
        if closing:
            return events[:-1], last
    return events, None

"""The table of actions: each registered one has a handler and a privilege; ListCommands shows them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import amiproto
import amiproto.actions
from amiproto_transports.simulator._actions import ACTIONS, handler
from amiproto_transports.simulator._config import ALL_CLASSES
from amiproto_transports.simulator._session import Session

from ..conftest import RECORDINGS, SHARED, needs_shared
from .test_session import Harness

ALL_ACTIONS_RX = RECORDINGS / "all_actions.rx"
DOCS = SHARED / "asterisk-22" / "ami-docs.xml"
LISTED = re.compile(r"(?P<summary>.*)  \(Priv: (?P<privilege>[^)]*)\)")


def listed_commands() -> dict[str, str]:
    """The simulator's ListCommands answer: action name -> "summary  (Priv: ...)"."""
    h = Harness()
    h.login(auth="plain")
    answer = h.action("ListCommands").response
    assert answer.success
    return {name: value for name, value in answer.headers if name not in ("Response", "ActionID")}


def test_every_registered_action_has_a_handler_a_summary_and_known_classes() -> None:
    # Login and Challenge register where the session defines them.
    assert ACTIONS["login"].run.__qualname__.startswith(Session.__name__)
    assert {"login", "challenge", "logoff", "ping", "originate"} <= ACTIONS.keys()
    for key, spec in ACTIONS.items():
        assert key == spec.name.lower()
        assert callable(spec.run)
        assert spec.summary.strip()
        if spec.privilege is None:
            assert spec.needed is None
        else:
            classes = frozenset(part.strip() for part in spec.privilege.split(","))
            assert classes <= ALL_CLASSES and "all" not in classes, spec
            assert spec.needed == classes


def test_registering_an_action_twice_is_refused() -> None:
    before = dict(ACTIONS)
    with pytest.raises(RuntimeError, match="two handlers for the PING action"):
        handler("PING", privilege=None, summary="again")(lambda session, action: None)
    assert before == ACTIONS


def test_list_commands_lists_exactly_the_registered_actions() -> None:
    listed = listed_commands()
    assert listed.keys() == {spec.name for spec in ACTIONS.values()}
    assert list(listed) == sorted(listed, key=str.lower)
    for name, value in listed.items():
        spec = ACTIONS[name.lower()]
        privilege = f"{spec.privilege},all" if spec.privilege else "<none>"
        assert value == f"{spec.summary}  (Priv: {privilege})"


def documented_synopses() -> dict[str, str]:
    """Each action ami-docs.xml documents -> its synopsis, as ListCommands prints it."""
    root = ET.parse(DOCS).getroot()
    return {
        element.get("name") or "": " ".join((element.findtext("synopsis") or "").split())
        for element in root.iter("manager")
    }


@needs_shared(ALL_ACTIONS_RX)
@needs_shared(DOCS)
def test_privileges_and_summaries_match_the_recorded_list_commands() -> None:
    conn = amiproto.Connection()
    conn.receive_data(ALL_ACTIONS_RX.read_bytes())
    conn.receive_data(b"")
    recorded: dict[str, str] = {}
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        if isinstance(item, amiproto.Response) and item.get("ListCommands") is not None:
            recorded = {name: value for name, value in item.headers if name not in ("Response", "ActionID")}
            break
        if isinstance(item, amiproto.ConnectionClosed):
            break
    assert len(recorded) > 100, "no ListCommands answer in the recording"
    simulated = listed_commands()
    # The recorded server was built without PJSIP: what it lacks must be documented,
    # with the documented synopsis (privileges are checked where those actions are tested).
    documented = documented_synopses()
    unrecorded = simulated.keys() - recorded.keys()
    assert unrecorded <= documented.keys()
    for name in unrecorded:
        listed = LISTED.fullmatch(simulated[name])
        assert listed is not None and listed["summary"] == documented[name], name
    for name, value in simulated.items():
        if name in unrecorded:
            continue
        ours, theirs = LISTED.fullmatch(value), LISTED.fullmatch(recorded[name])
        assert ours is not None and theirs is not None
        assert ours["privilege"] == theirs["privilege"], name
        assert ours["summary"] == theirs["summary"], name

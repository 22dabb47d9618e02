"""Event filters in both forms Asterisk 22 accepts, checked against manager.c's own test tables."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from amiproto_transports.simulator import Simulator
from amiproto_transports.simulator._config import parse_manager_conf
from amiproto_transports.simulator._eventfilter import (
    MAX_EVENT_FILTERS,
    FilterError,
    FilterSet,
    TooManyFilters,
    parse_filter,
)
from amiproto_transports.simulator._replay import load_recording
from amiproto_transports.simulator._world import World

from .test_session import Harness

NEWCHANNEL = ("Newchannel", "Event: Newchannel\r\nChannel: XXX\r\nSomeheader: YYY\r\n")
VARSET = ("VarSet", "Event: VarSet\r\nChannel: ABC\r\nSomeheader: XXX\r\n")

# (criteria, pattern, the rule read as "include|exclude method event header", event, sent?):
# the valid rows of manager.c's eventfilter_test_creation, each alone in a session.
NC = "eventfilter(name(Newchannel),method(regex))"
VS = "eventfilter(action(include),name(VarSet),header(Channel),"
CREATED = [
    ("eventfilter", "XXX", "include regex - -", NEWCHANNEL, True),
    ("eventfilter", "!XXX", "exclude regex - -", VARSET, False),
    ("eventfilter(name(VarSet),method(none))", "", "include none VarSet -", VARSET, True),
    (NC, "X[XYZ]X", "include regex Newchannel -", NEWCHANNEL, True),
    (NC, "X[abc]X", "include regex Newchannel -", NEWCHANNEL, False),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[XYZ]X", "exclude regex Newchannel -",
     NEWCHANNEL, False),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[abc]X", "exclude regex Newchannel -",
     NEWCHANNEL, True),
    (VS + "method(starts_with))", "AB", "include starts_with VarSet Channel:", VARSET, True),
    (VS + "method(ends_with))", "BC", "include ends_with VarSet Channel:", VARSET, True),
    (VS + "method(exact))", "ABC", "include exact VarSet Channel:", VARSET, True),
    (VS + "method(exact))", "XXX", "include exact VarSet Channel:", VARSET, False),
    ("eventfilter(name(VarSet),header(Channel),method(exact))", "!ZZZ", "exclude exact VarSet Channel:",
     VARSET, True),
    ("eventfilter(action(exclude),name(VarSet),header(Channel),method(exact))", "ZZZ",
     "exclude exact VarSet Channel:", VARSET, True),
    # action() wins over '!': the '!' is then part of the pattern.
    ("eventfilter(action(include),name(VarSet),header(Someheader),method(exact))", "!XXX",
     "include exact VarSet Someheader:", VARSET, True),
]  # fmt: skip


@pytest.mark.parametrize(("criteria", "pattern", "read_as", "sample", "sent"), CREATED)
def test_each_valid_filter_of_manager_c_alone(
    criteria: str, pattern: str, read_as: str, sample: tuple[str, str], sent: bool
) -> None:
    rule = parse_filter(criteria, pattern)
    action = "exclude" if rule.exclude else "include"
    assert f"{action} {rule.method} {rule.event or '-'} {rule.header or '-'}" == read_as
    assert FilterSet((rule,)).passes(*sample) is sent


# The invalid rows of eventfilter_test_creation: (criteria, pattern, a bad regex rather than bad form?).
REFUSED = [
    ("eventfilter(action(include)", "", False),
    ("eventfilter(action(inlude)", "", False),
    ("eventfilter(nnnn(yyy)", "XXX", False),
    ("eventfilter(eader(VarSet)", "XXX", False),
    ("eventfilter(ethod(contains)", "XXX", False),
    ("eventfilter(nnnn(yyy),header(VarSet),method(contains)", "XXX", False),
    ("eventfilter(name(yyy),heder(VarSet),method(contains)", "XXX", False),
    ("eventfilter(name(yyy),header(VarSet),mehod(contains)", "XXX", False),
    ("eventfilter(name(yyy),header(VarSet),method(coains)", "XXX", False),
    ("eventfilter(method(yyy))", "XXX", False),
    ("eventfilter", "", False),
    ("eventfilter", "!", False),
    ("eventfilter()", "XXX", False),
    ("eventfilter", "XX[X", True),
    ("eventfilter(method(regex))", "XX[X", True),
    # Without method() the method is none, which takes no pattern (manager.c, not its docs).
    ("eventfilter(name(Newchannel))", "XXX", False),
    ("eventfilter(name(Newchannel),method(exact))", "", False),
]


@pytest.mark.parametrize(("criteria", "pattern", "compiled"), REFUSED)
def test_each_invalid_filter_of_manager_c_is_refused(criteria: str, pattern: str, compiled: bool) -> None:
    with pytest.raises(FilterError) as refused:
        parse_filter(criteria, pattern)
    assert refused.value.compiled is compiled


# manager.c's eventfilter_test_matching: these rules together, then each event.
RULES = [
    ("eventfilter(name(VarSet),method(none))", ""),
    ("eventfilter(name(Newchannel),method(regex))", "X[XYZ]X"),
    ("eventfilter(name(Newchannel),method(regex))", "X[abc]X"),
    ("eventfilter(name(Newchannel),header(Someheader),method(regex))", "ZZZ"),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[a]X"),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[Z]X"),
    ("eventfilter(action(exclude),name(VarSet),header(Channel),method(regex))", "YYY"),
]
EVENTS = [
    ("Newchannel", "XXX", "YYY", True),
    ("Newchannel", "XZX", "YYY", False),
    ("Newchannel", "XaX", "YYY", False),
    ("Newchannel", "XbX", "YYY", True),
    ("Newchannel", "XcX", "YYY", True),
    ("Newchannel", "YYY", "YYY", False),
    ("Newchannel", "YYY", "ZZZ", True),
    ("VarSet", "XXX", "YYY", True),
    ("VarSet", "YYY", "YYY", False),
]


@pytest.mark.parametrize(("name", "channel", "some", "sent"), EVENTS)
def test_includes_then_excludes_as_manager_c_combine(name: str, channel: str, some: str, sent: bool) -> None:
    rules = FilterSet(tuple(parse_filter(criteria, pattern) for criteria, pattern in RULES))
    text = f"Event: {name}\r\nChannel: {channel}\r\nSomeheader: {some}\r\n"
    assert rules.passes(name, text) is sent


def test_classic_and_new_forms_combine() -> None:
    rules = FilterSet(
        (
            parse_filter("eventfilter", "Event: (Newchannel|Hangup)"),
            parse_filter("eventfilter(action(exclude),header(Channel),method(starts_with))", "Local/"),
            parse_filter("eventfilter", "!Uniqueid: 17"),
        )
    )
    assert rules.passes("Newchannel", "Event: Newchannel\r\nChannel: SIP/1\r\nUniqueid: 1\r\n")
    assert not rules.passes("Newchannel", "Event: Newchannel\r\nChannel: Local/a\r\nUniqueid: 1\r\n")
    assert not rules.passes("Hangup", "Event: Hangup\r\nChannel: SIP/1\r\nUniqueid: 17\r\n")
    assert not rules.passes("VarSet", "Event: VarSet\r\nChannel: SIP/1\r\n")
    assert FilterSet().passes("VarSet", "Event: VarSet\r\n")  # no filters: everything


def test_a_header_matches_on_any_of_its_lines_and_names_are_case_sensitive() -> None:
    rule = parse_filter("eventfilter(header(Var),method(contains))", "b")
    assert rule.matches("X", "Event: X\r\nVar: a\r\nVar: abc\r\n")
    assert not rule.matches("X", "Event: X\r\nVar:\r\nvar: b\r\n")
    lower = parse_filter("eventfilter(name(varset),method(none))", "")
    assert not lower.matches("VarSet", "Event: VarSet\r\n")


def _user_event_names(h: Harness) -> list[str]:
    return [event.get("UserEvent") or "" for event in h.events("UserEvent")]


def test_the_filter_action_takes_match_criteria_and_answers_as_asterisk() -> None:
    h = Harness()
    h.login(auth="plain")
    criteria = "name(UserEvent),header(Channel),method(starts_with)"
    added = h.action("Filter", Operation="Add", MatchCriteria=criteria, Filter="AB")
    assert (added.response.status, added.response.message) == ("success", "Success")
    assert h.action("Filter", Operation="Add", Filter="!UserEvent: Skip").response.message == "Success"
    for name, channel in [("One", "ABC"), ("Two", "XYZ"), ("Skip", "ABD")]:
        h.action("UserEvent", UserEvent=name, Channel=channel)
    assert _user_event_names(h) == ["One"]
    badly = h.action("Filter", Operation="Add", MatchCriteria="name(UserEvent)", Filter="x")
    check = "  Check the syntax of the filter given."
    assert badly.response.message == "Filter was formatted incorrectly." + check
    uncompiled = h.action("Filter", Operation="Add", Filter="XX[X")
    assert uncompiled.response.message == "Filter did not compile." + check
    assert h.action("Filter", Operation="Remove", Filter="x").response.message == "Unknown operation"


MANAGER_CONF = """\
[general]
enabled = yes

[base](!)
secret = basepass
read = all
write = all
eventfilter = !UserEvent: Noise

[filtered](base)
eventfilter(action(include),name(UserEvent),header(Channel),method(exact)) = SIP/1
eventfilter(name(UserEvent),method(regex)) = bad[
"""


def test_a_users_eventfilters_from_manager_conf_apply_to_its_sessions() -> None:
    warnings: list[str] = []
    users = parse_manager_conf(MANAGER_CONF, warnings=warnings)
    assert list(users) == ["filtered"]  # the template is not a user
    assert [rule.exclude for rule in users["filtered"].event_filters] == [True, False]
    assert len(warnings) == 1 and "bad[" in warnings[0]  # refused, logged, the others kept
    h = Harness(World(users, start=100.0, wall_offset=1.7e9))
    h.login("filtered", "basepass", auth="plain")
    for name, channel in [("Keep", "SIP/1"), ("Other", "SIP/2"), ("Noise", "SIP/1")]:
        h.action("UserEvent", UserEvent=name, Channel=channel)
    assert _user_event_names(h) == ["Keep"]
    h.action("Filter", Operation="Add", Filter="!UserEvent: Keep")  # the session's own add to the user's
    h.action("UserEvent", UserEvent="Keep", Channel="SIP/1")
    assert _user_event_names(h) == ["Keep"]


def test_replayed_events_go_through_the_users_filters_by_name(tmp_path: Path) -> None:
    rx = tmp_path / "few.rx"
    rx.write_bytes(
        b"Asterisk Call Manager/11.0.0\r\n"
        b"Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: SIP/1\r\n\r\n"
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: SIP/1\r\n\r\n"
        b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: Local/x\r\n\r\n"
    )
    rule = "eventfilter(name(Newchannel),header(Channel),method(starts_with)) = SIP/"
    conf = f"[u]\nsecret = s\nread = all\nwrite = all\n{rule}\n"
    world = World(parse_manager_conf(conf), start=100.0, wall_offset=1.7e9, replay=load_recording(rx))
    h = Harness(world)
    h.login("u", "s", auth="plain")
    h.advance(0.2)
    assert [(e.name, e.get("Channel")) for e in h.events()] == [("Newchannel", "SIP/1")]


def test_warnings_about_manager_conf_reach_the_simulators_log(tmp_path: Path) -> None:
    conf = tmp_path / "manager.conf"
    conf.write_text("[u]\nsecret = s\neventfilter(bogus(x)) = y\n#tryinclude none.conf\n#exec date\n")
    logged: list[str] = []
    sim = Simulator(manager_conf=conf, log=logged.append)
    assert list(sim.users) == ["u"] and sim.users["u"].event_filters == ()
    assert len(logged) == 2 and "bogus" in logged[1] and "#exec" in logged[0]


@pytest.mark.timeout(20)
def test_an_event_that_runs_the_filters_meter_out_is_withheld_quickly() -> None:
    """One event against a session's large filters is metered: the session does not get
    it, and the server's thread is not held for the whole text times the pattern's size."""
    filters = FilterSet((parse_filter("eventfilter", "a.{900}Z"),))
    rng = random.Random(1)
    text = "".join(rng.choice("ab") for _ in range(100_000))
    started = time.monotonic()
    assert not filters.passes("UserEvent", text)
    assert time.monotonic() - started < 5.0
    assert filters.passes("UserEvent", "a" + "b" * 900 + "Z")


EXACT = "header(UserEvent),method(exact)"


def test_a_session_holds_at_most_max_event_filters() -> None:
    """Filters were unbounded: a client could add them until every event cost the server
    a search per filter for ever."""
    h = Harness()
    h.login(auth="plain")
    for index in range(MAX_EVENT_FILTERS):
        added = h.action("Filter", Operation="Add", MatchCriteria=EXACT, Filter=f"N{index}")
        assert added.response.status == "success"
    refused = h.action("Filter", Operation="Add", MatchCriteria=EXACT, Filter="Over")
    assert refused.response.status == "error"
    assert refused.response.message == "Internal Error. Failed to allocate regex for filter"
    h.action("UserEvent", UserEvent="Over")
    h.action("UserEvent", UserEvent="N0")
    assert _user_event_names(h) == ["N0"]


def test_a_users_own_eventfilter_lines_are_not_cut_but_count() -> None:
    rules = tuple(parse_filter("eventfilter", f"N{index}") for index in range(MAX_EVENT_FILTERS + 5))
    filters = FilterSet(rules)
    assert len(filters) == MAX_EVENT_FILTERS + 5
    with pytest.raises(TooManyFilters):
        filters.add(parse_filter("eventfilter", "more"))

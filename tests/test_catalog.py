"""The generated catalogue: amiproto.actions, amiproto.events and their generator."""

from __future__ import annotations

import ast
import enum
import gzip
import importlib.util
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import amiproto
from amiproto import _catalog, _event_specs, _registry, actions, events
from amiproto._typed import TypedEvent, WireEnum, python_name, snake_case, to_bool, to_int
from amiproto_transports.simulator._arguments import variables_of

from .conftest import DATA, RECORDINGS, ROOT, SAMPLES, SHARED, needs_shared

DOCS = SHARED / "asterisk-22" / "ami-docs.xml"
GENERATOR = ROOT / "tools" / "generate_catalog.py"
SUPPLEMENT = ROOT / "tools" / "undocumented_events.toml"
LOAD_RX = ROOT / "src" / "amiproto_transports" / "data" / "load_120calls.rx.gz"


# -- helpers -------------------------------------------------------------------


def replay_rx(data: bytes) -> list[object]:
    """Everything the core makes of bytes from a server."""
    conn = amiproto.Connection()
    conn.receive_data(data)
    conn.receive_data(b"")
    items: list[object] = []
    while True:
        item = conn.next_event()
        if item is amiproto.NEED_DATA or isinstance(item, amiproto.ConnectionClosed):
            return items
        items.append(item)


def jsonl_chunks(path: Path, direction: str) -> bytes:
    with gzip.open(path, "rt", encoding="ascii") as lines:
        return b"".join(
            bytes.fromhex(record["hex"]) for record in map(json.loads, lines) if record["dir"] == direction
        )


def recorded_streams() -> Iterator[tuple[str, bytes]]:
    for path in sorted(DATA.glob("*.jsonl.gz")):
        yield path.name, jsonl_chunks(path, "rx")
    yield LOAD_RX.name, gzip.decompress(LOAD_RX.read_bytes())
    if RECORDINGS.exists():
        for path in sorted(RECORDINGS.glob("*.rx")):
            yield path.name, path.read_bytes()


def check_attribute(event: TypedEvent, name: str) -> None:
    """An attribute agrees with the raw header it reads, whatever its type."""
    field = type(event).fields[name]
    raw = event.headers.get(field.header)
    value = getattr(event, name)
    if raw is None:
        assert value is None, (event, name)
    elif field.kind == "str":
        assert value == raw
    elif field.kind == "int":
        number = to_int(raw)
        assert value == (raw if number is None else number)
        assert type(value) is (str if number is None else int)
    elif field.kind == "bool":
        truth = to_bool(raw)
        assert value == (raw if truth is None else truth)
        assert type(value) is (str if truth is None else bool)
    else:
        assert value == raw  # a str-valued enumeration member equals its text
        assert isinstance(value, (enum.Enum, str))


def parse_actions(data: bytes) -> list[list[tuple[str, str]]]:
    blocks = data.decode("utf-8").split("\r\n\r\n")
    return [[tuple(line.split(": ", 1)) for line in block.split("\r\n")] for block in blocks if block]  # type: ignore[misc]


def grouped(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Headers by name, order kept within a name: what Asterisk actually reads."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value)
    return by_name


# -- names and conversions -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("CallerIDNum", "caller_id_num"),
        ("ChannelStateDesc", "channel_state_desc"),
        ("Uniqueid", "uniqueid"),
        ("ActionID", "action_id"),
        ("Cause-txt", "cause_txt"),
        ("CID-CallingPres", "cid_calling_pres"),
        ("ServicelevelPerf2", "servicelevel_perf2"),
        ("MD5SecretExist", "md5_secret_exist"),
        ("AOC-D", "aoc_d"),
        ("RTCPSent", "rtcp_sent"),
        ("IPaddress", "i_paddress"),
    ],
)
def test_snake_case_rule(name: str, snake: str) -> None:
    assert snake_case(name) == snake


def test_python_names_avoid_keywords_reserved_names_and_leading_digits() -> None:
    assert python_name("Async") == "async_"
    assert python_name("100rel") == "h_100rel"
    assert python_name("Name", reserved={"name"}) == "name_"
    assert actions.Originate(channel="x", async_=True).get("Async") == "true"


def test_class_names_follow_event_names() -> None:
    assert events.AOC_D.event_name == "AOC-D"
    assert _registry.event_class("AOC-D") is events.AOC_D
    # The docs say NewExten; Asterisk sends Newexten: both reach the class.
    assert _registry.event_class("Newexten") is events.NewExten
    assert _registry.event_class("NewExten") is events.NewExten


# -- events --------------------------------------------------------------------


def test_typed_attributes_cost_nothing_at_construction() -> None:
    raw = b"Event: Newchannel\r\nChannel: PJSIP/a-1\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\n\r\n"
    event = events.Newchannel(raw, name="Newchannel")
    assert getattr(event, "_headers", None) is None  # nothing parsed yet
    assert not hasattr(event, "__dict__")
    assert event.channel_state == 4
    assert event.channel_state_desc is events.ChannelStateDesc.RING
    assert event.channel == "PJSIP/a-1"
    assert event.uniqueid is None
    assert event.headers.get("ChannelState") == "4"


def test_values_that_do_not_convert_stay_text() -> None:
    raw = (
        b"Event: QueueMember\r\nPaused: maybe\r\nPenalty: 1_0\r\nStatus: -1\r\n\r\n"
        b"Event: Newchannel\r\nChannelState: four\r\nChannelStateDesc: Sideways\r\n\r\n"
    )
    member, channel = replay_rx(raw)
    assert isinstance(member, events.QueueMember) and isinstance(channel, events.Newchannel)
    assert member.paused == "maybe"
    assert member.penalty == "1_0"
    assert member.status == -1
    assert channel.channel_state == "four"
    assert channel.channel_state_desc == "Sideways"
    assert not isinstance(channel.channel_state_desc, enum.Enum)


def test_unknown_events_stay_plain_and_the_registry_is_the_only_link() -> None:
    (item,) = replay_rx(b"Event: SomethingNew\r\nA: 1\r\n\r\n")
    assert type(item) is amiproto.Event
    assert all(issubclass(cls, amiproto.Event) for cls in _registry.EVENT_CLASSES.values())
    assert all(_registry.event_class(name) is cls for name, cls in events.EVENT_CLASSES_BY_NAME.items())


def test_every_recorded_event_is_typed_and_agrees_with_its_headers() -> None:
    names: set[str] = set()
    untyped: dict[str, set[str]] = {}
    checked = 0
    for stream, data in recorded_streams():
        for item in replay_rx(data):
            if not isinstance(item, amiproto.Event):
                continue
            if not isinstance(item, TypedEvent):
                untyped.setdefault(item.name, set()).add(stream)
                continue
            assert item.name in (item.event_name, "Newexten")
            names.add(item.name)
            for name in type(item).fields:
                check_attribute(item, name)
                checked += 1
    assert not untyped, "\n".join(
        f"event {name} in {', '.join(sorted(streams))} has no class: add it to "
        f"tools/{SUPPLEMENT.name} (its header says how) and run python tools/generate_catalog.py"
        for name, streams in sorted(untyped.items())
    )
    assert {"Newchannel", "QueueMember", "DBGetResponse", "VarSet", "Newexten"} <= names
    assert checked > 100_000


def test_recorded_values_by_hand() -> None:
    items = replay_rx(jsonl_chunks(DATA / "mixed_session.jsonl.gz", "rx"))
    first = next(item for item in items if isinstance(item, events.Newchannel))
    assert first.channel == "Local/wait@default-000000cd;1"
    assert first.channel_state == 0
    assert first.channel_state_desc is events.ChannelStateDesc.DOWN
    assert first.uniqueid == first.linkedid == "1795676014.410"
    assert first.caller_id_num == "<unknown>"
    member = next(item for item in items if isinstance(item, events.QueueMember))
    assert (member.queue, member.name_, member.calls_taken, member.paused) == (
        "support",
        "Local/wait@default",
        18,
        False,
    )
    assert member.name == "QueueMember"  # the event's name, not the Name header
    hangup = next(item for item in items if isinstance(item, events.Hangup) and item.cause == 16)
    assert hangup.cause_txt == "Normal Clearing"
    dial = next(item for item in items if isinstance(item, events.DialEnd))
    assert dial.dial_status is events.DialEndDialStatus.ANSWER
    summary = next(item for item in items if isinstance(item, events.ShowDialPlanComplete))
    assert (summary.list_items, summary.list_contexts) == (14, 1)
    # The recording's DBPut sent "Value:", which Asterisk ignores: the builder refuses it.
    stored = next(item for item in items if isinstance(item, events.DBGetResponse))
    assert stored.val == ""


# -- built on first use --------------------------------------------------------


def run_fresh(code: str) -> None:
    """Run ``code`` in a new interpreter, where nothing of the catalogue is built yet."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_importing_amiproto_builds_nothing_of_the_catalogue() -> None:
    run_fresh(
        """
        import sys
        import amiproto
        from amiproto import _registry
        loaded = {"amiproto.events", "amiproto.actions", "amiproto._catalog", "amiproto._event_specs"}
        assert not loaded & set(sys.modules), loaded & set(sys.modules)
        assert _registry.EVENT_CLASSES == {}
        """
    )


def test_a_class_first_seen_on_the_wire_is_the_modules_class_and_only_it_is_built() -> None:
    run_fresh(
        """
        import sys
        import amiproto
        from amiproto import _registry
        conn = amiproto.Connection()
        conn.receive_data(b"Event: Newexten\\r\\n\\r\\nEvent: Custom\\r\\n\\r\\n")
        first, second = conn.next_event(), conn.next_event()
        assert type(second) is amiproto.Event
        from amiproto import _catalog
        assert set(_registry.EVENT_CLASSES) == {"Newexten"} and set(_catalog._classes) == {"NewExten"}
        assert "amiproto.events" not in sys.modules
        from amiproto import events
        from amiproto.events import NewExten
        assert type(first) is NewExten is events.NewExten is amiproto.events.NewExten
        assert isinstance(first, events.NewExten)
        # The other way round: read from the module first, then arriving.
        hangup = events.Hangup
        conn.receive_data(b"Event: Hangup\\r\\nCause: 16\\r\\n\\r\\n")
        event = conn.next_event()
        assert type(event) is hangup and event.cause == 16
        """
    )


def test_threads_asking_for_a_new_class_at_once_get_one_class() -> None:
    run_fresh(
        """
        import threading
        from amiproto import _registry, events
        barrier = threading.Barrier(8)
        found = []
        def ask(index):
            barrier.wait(timeout=30)
            found.append(_registry.event_class("DialEnd") if index % 2 else events.DialEnd)
            found.append(events.DialEndDialStatus)
        threads = [threading.Thread(target=ask, args=(index,)) for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(found) == 16 and len(set(found)) == 2, found
        """
    )


def test_unknown_names_are_not_stored() -> None:
    before = dict(_registry.EVENT_CLASSES), dict(_catalog._classes)
    names = [f"Unknown{index}" for index in range(5000)]
    assert all(_registry.event_class(name) is amiproto.Event for name in names)
    items = replay_rx(b"".join(f"Event: {name}\r\nA: 1\r\n\r\n".encode() for name in names))
    assert [type(item) for item in items] == [amiproto.Event] * len(names)
    assert (dict(_registry.EVENT_CLASSES), dict(_catalog._classes)) == before


def test_the_module_lists_builds_and_pickles_its_classes() -> None:
    names = dir(events)
    assert {"Newchannel", "AOC_D", "ChannelStateDesc", "EVENT_CLASSES_BY_NAME"} <= set(names)
    star: dict[str, Any] = {}
    exec("from amiproto.events import *", star)
    assert set(star) - {"__builtins__"} == set(_catalog.events_names())
    assert star["Newchannel"] is events.Newchannel and star["ShutdownValue"] is events.ShutdownValue
    with pytest.raises(AttributeError, match="no attribute 'Newchanel'"):
        events.Newchanel  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        amiproto.Conection  # type: ignore[attr-defined]  # noqa: B018
    (event,) = replay_rx(b"Event: Newchannel\r\nChannelStateDesc: Up\r\n\r\n")
    assert isinstance(event, events.Newchannel)
    again = pickle.loads(pickle.dumps(event))
    assert type(again) is events.Newchannel and again.headers == event.headers
    assert pickle.loads(pickle.dumps(events.ChannelStateDesc.UP)) is events.ChannelStateDesc.UP
    assert events.Newchannel.__module__ == "amiproto.events"
    assert events.Newchannel.__doc__ == "Raised when a new channel is created.\n\nSince Asterisk 12.0.0."
    assert issubclass(events.ChannelStateDesc, str) and events.ChannelStateDesc.UP == "Up"


def test_enumerations_print_as_the_text_on_the_wire() -> None:
    """str(), format() and f-strings give the header's text, not ``Class.MEMBER``."""
    (event,) = replay_rx(b"Event: Newchannel\r\nChannelStateDesc: Up\r\n\r\n")
    assert isinstance(event, events.Newchannel)
    state = event.channel_state_desc
    assert state == "Up" and hash(state) == hash("Up") and {"Up": 1}[state] == 1
    assert (str(state), f"{state}", f"{state:>4}", "{}".format(state)) == ("Up", "Up", "  Up", "Up")  # noqa: UP032
    assert state is events.ChannelStateDesc.UP
    assert repr(state) == "<ChannelStateDesc.UP: 'Up'>"  # the repr still says what it is
    for class_name in _catalog.events_names():
        enum_class = getattr(events, class_name)
        if isinstance(enum_class, type) and issubclass(enum_class, enum.Enum):
            assert issubclass(enum_class, WireEnum) and issubclass(enum_class, str), class_name
            for member in enum_class:
                assert str(member) == f"{member}" == member.value == member, (class_name, member.name)


def test_no_enumeration_hides_a_name_of_amiproto_or_an_event() -> None:
    """One rule for every clash: ``Value`` after the name (events.Response was one)."""
    enumerations = set(_event_specs.ENUMS)
    assert not enumerations & set(amiproto.__all__)
    assert not enumerations & set(_event_specs.CLASSES)
    assert {"ResponseValue", "StateValue", "ShutdownValue"} <= enumerations
    with pytest.raises(AttributeError):
        events.Response  # type: ignore[attr-defined]  # noqa: B018
    (event,) = replay_rx(b"Event: OriginateResponse\r\nResponse: Failure\r\nReason: 5\r\n\r\n")
    assert isinstance(event, events.OriginateResponse)
    assert event.response is events.ResponseValue.FAILURE and f"{event.response}" == "Failure"


def test_the_stub_spells_out_what_the_module_builds() -> None:
    """Type checkers read events.pyi; the runtime builds from _event_specs: they agree."""
    stub = ast.parse((ROOT / "src" / "amiproto" / "events.pyi").read_text(encoding="utf-8"))
    makers = {"text": "str", "integer": "int", "flag": "bool", "choice": "enum"}
    classes = [node for node in stub.body if isinstance(node, ast.ClassDef)]
    assert sorted(node.name for node in classes) == sorted(
        set(_catalog.events_names()) - {"EVENT_CLASSES_BY_NAME"}
    )
    for node in classes:
        built = getattr(events, node.name)
        assigned = {
            target.id: statement.value
            for statement in node.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name) and target.id != "__slots__"
        }
        if issubclass(built, enum.Enum):
            assert [base.id for base in node.bases if isinstance(base, ast.Name)] == ["WireEnum"]
            assert built.__bases__ == (WireEnum,), node.name
            members = {
                name: value.value for name, value in assigned.items() if isinstance(value, ast.Constant)
            }
            assert members == {member.name: member.value for member in built}, node.name
            continue
        assert ast.literal_eval(assigned.pop("event_name")) == built.event_name
        assert ast.literal_eval(assigned.pop("documented", ast.Constant(True))) == built.documented
        calls = {name: value for name, value in assigned.items() if isinstance(value, ast.Call)}
        assert list(calls) == list(built.fields), node.name
        for name, call in calls.items():
            field = built.fields[name]
            assert isinstance(call.func, ast.Name) and makers[call.func.id] == field.kind, (node.name, name)
            assert ast.literal_eval(call.args[0]) == field.header
            if field.kind == "enum":
                assert isinstance(call.args[1], ast.Name) and field.convert is not None
                enum_class = getattr(events, call.args[1].id)
                assert type(field.convert(next(iter(enum_class)).value)) is enum_class


# -- actions -------------------------------------------------------------------


def test_the_issue_example() -> None:
    act = actions.Originate(
        channel="Local/100@default",
        context="default",
        exten="100",
        priority=1,
        variable={"A": "1", "B": "2"},
        async_=True,
    )
    assert isinstance(act, amiproto.Action) and isinstance(act, actions.Originate)
    assert act.serialize() == (
        b"Action: Originate\r\nChannel: Local/100@default\r\nExten: 100\r\nContext: default\r\n"
        b"Priority: 1\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n"
    )
    conn = amiproto.Connection(action_id_prefix="t")
    assert conn.send(act).startswith(b"Action: Originate\r\nActionID: t-1\r\nChannel: ")


def test_builders_match_what_was_sent_to_asterisk() -> None:
    sent = {
        dict(block)["ActionID"]: block
        for block in parse_actions(jsonl_chunks(DATA / "mixed_session.jsonl.gz", "tx"))
    }
    built = {
        "m-3": actions.Ping(action_id="m-3"),
        "m-4": actions.CoreSettings(action_id="m-4"),
        "m-6": actions.Command(command="core show uptime", action_id="m-6"),
        "m-9": actions.Setvar(variable="GLOBALX", value="v0:with: colons", action_id="m-9"),
        "m-10": actions.Getvar(variable="GLOBALX", action_id="m-10"),
        "m-12": actions.DBGet(family="cap", key="k", action_id="m-12"),
        "m-14": actions.UserEvent(
            user_event="Capture", headers={"Header1": ["a: b", "dup"]}, action_id="m-14"
        ),
        "m-15": actions.Originate(
            channel="Local/wait@default",
            application="Wait",
            data=3,
            async_=True,
            caller_id="Zoë <100>",
            variable={"A": 1, "B": 2},
            action_id="m-15",
        ),
        "m-16": actions.Originate(
            channel="Local/dial@default",
            context="default",
            exten="echo",
            priority=1,
            async_=True,
            action_id="m-16",
        ),
        "m-18": actions.Status(action_id="m-18"),
        "m-20": actions.QueueStatus(action_id="m-20"),
        "m-23": actions.ListCategories(filename="extensions.conf", action_id="m-23"),
        "m-24": actions.GetConfig(filename="manager.conf", action_id="m-24"),
        "m-25": actions.ShowDialPlan(context="default", action_id="m-25"),
        "m-27": actions.Hangup(channel="/^Local/.*/", action_id="m-27"),
        "m-29": actions.Events(event_mask="on", action_id="m-29"),
        "m-30": actions.Logoff(action_id="m-30"),
    }
    for action_id, action in built.items():
        (wire,) = parse_actions(action.serialize())
        assert grouped(wire) == grouped(sent[action_id]), action_id
    # Where the documented order is the order the recording used, the bytes are equal.
    for action_id in ("m-9", "m-12", "m-14", "m-24", "m-27"):
        assert (
            built[action_id].serialize()
            == b"\r\n".join(f"{name}: {value}".encode() for name, value in sent[action_id]) + b"\r\n\r\n"
        )


def test_missing_and_unknown_parameters_are_refused() -> None:
    with pytest.raises(amiproto.LocalProtocolError, match=r"does not take 'value' \(did you mean 'val'\?\)"):
        actions.DBPut(family="cap", key="k", value="plain value")  # type: ignore[call-arg]
    with pytest.raises(amiproto.LocalProtocolError, match="requires 'channel'"):
        actions.Originate(application="Wait")  # type: ignore[call-arg]
    with pytest.raises(amiproto.LocalProtocolError, match="keyword arguments only"):
        actions.Ping("x")  # type: ignore[call-arg]
    with pytest.raises(amiproto.LocalProtocolError, match="list or a dict"):
        actions.UpdateConfig(src_filename="a", dst_filename="b", action="NewCat")
    with pytest.raises(amiproto.LocalProtocolError, match="contains"):
        actions.Originate(channel="x", variable={"A": "1\r\nAction: Hangup"})
    assert actions.DBPut(family="cap", key="k", val="v").get("Val") == "v"


def test_numbered_and_free_headers() -> None:
    update = actions.UpdateConfig(
        src_filename="a.conf",
        dst_filename="a.conf",
        action=["NewCat", "Append"],
        cat=["x", "x"],
        var={1: "k"},
        value=[None, "v"],
    )
    assert update.headers[2:] == (
        ("Action-000000", "NewCat"),
        ("Action-000001", "Append"),
        ("Cat-000000", "x"),
        ("Cat-000001", "x"),
        ("Var-000001", "k"),
        ("Value-000001", "v"),
    )
    aoc = actions.AOCMessage(channel="c", msg_type="D", unit_amount=[10, 20])
    assert aoc.get("UnitAmount(1)") == "20"
    assert (
        actions.PJSIPNotify(endpoint="e", variable=["Event=check-sync"]).get("Variable") == "Event=check-sync"
    )


def test_legacy_lists_complete_through_the_builders_event() -> None:
    # An old server that neither sends EventList nor says "will follow".
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/1.1\r\n")
    conn.next_event()
    conn.send(actions.Status(action_id="s"))
    conn.receive_data(
        b"Response: Success\r\nActionID: s\r\nMessage: OK\r\n\r\n"
        b"Event: Status\r\nActionID: s\r\nChannel: SIP/1-1\r\n\r\n"
        b"Event: StatusComplete\r\nActionID: s\r\nItems: 1\r\n\r\n"
    )
    items = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        items.append(item)
    done = [item for item in items if isinstance(item, amiproto.ActionCompleted)]
    assert len(done) == 1 and done[0].is_list and done[0].complete
    assert [type(event) for event in done[0].events] == [events.Status, events.StatusComplete]


@needs_shared(SAMPLES)
@pytest.mark.parametrize(
    ("sample", "builder", "count"),
    [
        ("008_", actions.QueueStatus(action_id="action/transaction_uid/1/1"), 8),
        ("074_", actions.Status(action_id="2"), 1),
        ("075_", actions.Agents(action_id="3"), 1),
        ("076_", actions.QueueStatus(action_id="4"), 7),
    ],
)
def test_legacy_samples_complete(sample: str, builder: amiproto.Action, count: int) -> None:
    (path,) = SAMPLES.glob(f"{sample}*.ami")
    conn = amiproto.Connection()
    conn.receive_data(b"Asterisk Call Manager/1.1\r\n")
    conn.next_event()
    conn.send(builder)
    conn.receive_data(path.read_bytes())
    done = []
    while (item := conn.next_event()) is not amiproto.NEED_DATA:
        if isinstance(item, amiproto.ActionCompleted):
            done.append(item)
    assert len(done) == 1
    assert done[0].complete and done[0].is_list
    assert len(done[0].events) == count
    assert done[0].events[-1].name == builder.list_complete_event
    assert all(isinstance(event, TypedEvent) for event in done[0].events)


# -- the catalogue against the docs --------------------------------------------


@needs_shared(DOCS)
def test_every_documented_event_and_action_has_its_class() -> None:
    root = ET.parse(DOCS).getroot()
    event_names = {element.get("name") or "" for element in root.iter("managerEvent")}
    assert len(event_names) == 181
    for name in event_names:
        cls = _registry.event_class(name)
        assert issubclass(cls, TypedEvent) and cls.documented and cls.event_name == name
    assert sum(cls.documented for cls in set(events.EVENT_CLASSES_BY_NAME.values())) == 181

    documented: dict[str, dict[str, bool]] = {}
    for element in root.iter("manager"):
        params = documented.setdefault(element.get("name") or "", {})
        syntax = element.find("syntax")
        for param in syntax.findall("parameter") if syntax is not None else ():
            header = param.get("name") or ""
            if header != "ActionID" and not re.fullmatch(r"Header[1N]", header):
                params.setdefault(header, param.get("required") == "true")
    assert len(documented) == 154 == len(actions.ACTION_BUILDERS)
    for name, params in documented.items():
        builder = actions.ACTION_BUILDERS[name]
        assert builder.action_name == name
        patterns = {
            header.replace("-{:06d}", "-000000").replace("({})", "(0)") for _, header in builder.parameters
        }
        assert patterns == set(params), name
        required = {dict(builder.parameters)[keyword] for keyword in builder.required}
        assert required == {header for header, needed in params.items() if needed}, name


@needs_shared(DOCS)
def test_regenerating_gives_the_committed_modules(tmp_path: Path) -> None:
    if shutil.which("ruff") is None and importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed")
    spec = importlib.util.spec_from_file_location("generate_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_catalog"] = module
    try:
        spec.loader.exec_module(module)
        assert module.main(["--docs", str(DOCS), "--out", str(tmp_path)]) == 0
    finally:
        del sys.modules["generate_catalog"]
    generated = sorted(path.name for path in tmp_path.iterdir())
    assert generated == ["_event_specs.py", "actions.py", "events.py", "events.pyi"]
    for name in generated:
        committed = (ROOT / "src" / "amiproto" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed, name


# -- the supplement of undocumented events -------------------------------------


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_catalog", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_catalog"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["generate_catalog"]
    return module


def declared_fields(entry: Any) -> list[tuple[str, str]]:
    """A supplement entry's headers; a list end without any has ListItems."""
    return list(entry.fields) if entry.fields is not None else [("ListItems", "int")]


def recorded_lists(*, legacy: bool) -> dict[str, tuple[str, list[str]]]:
    """Each answered list of all_actions by ActionID: the action's name and its events' names.

    Actions are built with the catalogue's completion event. ``legacy`` strips
    every EventList header first, as servers before Asterisk 1.6 sent no such
    header, so only the catalogue's rule can find where a list ends.
    """
    conn = amiproto.Connection()
    lists: dict[str, tuple[str, list[str]]] = {}
    pending_rx = bytearray()

    def feed() -> None:
        data = bytes(pending_rx)
        pending_rx.clear()
        if not data:
            return  # b"" would mean end of file
        if legacy:
            data = re.sub(rb"(?m)^EventList: [^\r]*\r\n", b"", data)
            assert b"EventList" not in data
        conn.receive_data(data)
        while (item := conn.next_event()) is not amiproto.NEED_DATA:
            if isinstance(item, amiproto.ActionCompleted) and item.is_list:
                assert item.complete, item
                lists[item.action_id] = (item.action.name, [event.name for event in item.events])

    with (RECORDINGS / "all_actions.jsonl").open(encoding="ascii") as lines:
        for record in map(json.loads, lines):
            data = bytes.fromhex(record["hex"])
            if record["dir"] == "rx":
                pending_rx += data
                continue
            feed()  # the server's bytes so far, whole messages across its chunks
            for headers in parse_actions(data):
                name = headers[0][1]
                builder = actions.ACTION_BUILDERS.get(name)
                completion = builder.completion_event if builder is not None else None
                conn.send(amiproto.Action(name, headers[1:], list_complete_event=completion))
    feed()
    return lists


@needs_shared(RECORDINGS / "all_actions.jsonl")
def test_recorded_lists_end_where_asterisk_ends_them_with_or_without_eventlist() -> None:
    modern = recorded_lists(legacy=False)
    assert recorded_lists(legacy=True) == modern
    ends = {items[-1] for _, items in modern.values()}
    assert {
        "VoicemailUserEntryComplete",
        "VoicemailUserDetailComplete",
        "VoicemailBoxDetailComplete",
        "CoreShowChannelMapComplete",
        "ParkinglotsComplete",
        "WaitEventComplete",
    } <= ends
    for action_name, items in modern.values():
        assert all(_registry.event_class(name) is not amiproto.Event for name in items), (action_name, items)
        builder = actions.ACTION_BUILDERS.get(action_name)
        if builder is not None and builder.completion_event is not None:
            assert items[-1].lower() == builder.completion_event.lower(), (action_name, items)


def test_supplement_entries_say_where_they_were_seen_and_that_they_are_undocumented() -> None:
    generator = load_generator()
    supplement = generator.read_supplement(SUPPLEMENT)
    assert {entry.name for entry in supplement} >= {
        "WaitEventComplete",
        "CoreShowChannelMap",
        "Parkinglot",
        "VoicemailUserEntry",
        "VoicemailUserDetail",
        "VoicemailUserDetailComplete",
        "VoicemailBoxDetailComplete",
    }
    for entry in supplement:
        cls = events.EVENT_CLASSES_BY_NAME[entry.name]
        assert not cls.documented
        assert cls.__doc__ is not None and "Undocumented" in cls.__doc__
        assert [field.header for field in cls.fields.values()] == [
            header for header, _ in declared_fields(entry)
        ], entry.name
        for action_name in entry.completes:
            assert actions.ACTION_BUILDERS[action_name].completion_event == entry.name


@needs_shared(RECORDINGS / "all_actions.rx")
def test_supplement_recordings_claims_hold() -> None:
    """An entry that says a recording shows it: the recording has it, with those headers only."""
    generator = load_generator()
    seen_in: dict[str, list[set[str]]] = {}
    for path in sorted(RECORDINGS.glob("*.rx")):
        for item in replay_rx(path.read_bytes()):
            if isinstance(item, amiproto.Event):
                headers = {name for name, _ in item.headers} - {"Event", "ActionID", "EventList"}
                seen_in.setdefault(f"{path.stem}:{item.name}", []).append(headers)
    for entry in generator.read_supplement(SUPPLEMENT):
        claims = [place for place in entry.seen if place.startswith("recordings: ")]
        for claim in claims:
            for recording in claim.removeprefix("recordings: ").split(", "):
                found = seen_in.get(f"{recording}:{entry.name}")
                assert found, f"{entry.name} is not in {recording}"
                declared = {header for header, _ in declared_fields(entry)}
                for headers in found:
                    assert headers <= declared, (entry.name, recording, headers - declared)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[events.X]\nsummary = "s"\nseen = ["a"]\nfields = [["H", "float"]]\n', "is not [header"),
        ('[events.X]\nsummary = "s"\n', "needs a summary and where it was seen"),
        ('[events.X]\nsummary = "s"\nseen = ["a"]\ncolour = "red"\n', "unknown keys"),
        ('[events.B]\nsummary = "s"\nseen = ["a"]\n[events.a]\nsummary = "s"\nseen = ["a"]\n', "sorted"),
    ],
)
def test_a_malformed_supplement_is_refused(tmp_path: Path, text: str, complaint: str) -> None:
    generator = load_generator()
    path = tmp_path / "supplement.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit, match=re.escape(complaint)):
        generator.read_supplement(path)


@needs_shared(DOCS)
@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[events.Newchannel]\nsummary = "s"\nseen = ["a"]\n', "Newchannel is documented now"),
        ('[events.X]\nsummary = "s"\nseen = ["a"]\ncompletes = ["NoSuchAction"]\n', "no documented action"),
        ('[events.X]\nsummary = "s"\nseen = ["a"]\ncompletes = ["Status"]\n', "the docs end Status with"),
    ],
)
def test_a_supplement_that_contradicts_the_docs_is_refused(tmp_path: Path, text: str, complaint: str) -> None:
    generator = load_generator()
    path = tmp_path / "supplement.toml"
    path.write_text(text, encoding="utf-8")
    root = ET.parse(DOCS).getroot()
    docs_events = generator.read_events(root)
    docs_actions = generator.read_actions(root, docs_events)
    with pytest.raises(SystemExit, match=re.escape(complaint)):
        generator.add_undocumented(docs_events, docs_actions, generator.read_supplement(path))


# -- wrong types, and variables as Asterisk reads them ---------------------------


def test_none_for_a_required_parameter_is_refused() -> None:
    with pytest.raises(amiproto.LocalProtocolError, match="requires 'channel', and None is no value"):
        actions.Originate(channel=None)  # type: ignore[arg-type]
    with pytest.raises(amiproto.LocalProtocolError, match="requires 'variable'"):
        actions.Setvar(variable=None, value="v")  # type: ignore[arg-type]
    # None for an optional parameter still means "not sent".
    assert actions.Originate(channel="x", exten=None, variable=None).headers == (("Channel", "x"),)


@pytest.mark.parametrize("bad", [["a", "b"], ("a", "b"), {"a": "b"}, b"SIP/1", object()])
def test_a_single_valued_parameter_takes_one_value(bad: object) -> None:
    with pytest.raises(amiproto.LocalProtocolError, match="'channel' takes one str, int, float or bool"):
        actions.Originate(channel=bad)  # type: ignore[arg-type]
    with pytest.raises(amiproto.LocalProtocolError, match="'exten' takes one"):
        actions.Originate(channel="x", exten=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "variable",
    [
        {"A": None},
        {"A": b"1"},
        {"A": ["1", "2"]},
        {"A": object()},
        {1: "x"},
        {"": "x"},
        {"A=B": "x"},
        {" A": "x"},
        b"A=1",
        [b"A=1"],
        ["A"],
        [None],
        42,
    ],
)
def test_variables_refuse_what_is_not_a_name_and_a_value(variable: object) -> None:
    with pytest.raises(amiproto.LocalProtocolError):
        actions.Originate(channel="x", variable=variable)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "headers",
    [{"H": None}, {"H": b"ab"}, {"H": [None]}, {"H": {"a": 1}}, [("H", None)], [("H",)], [(1, "x")], "H: x"],
)
def test_user_event_headers_refuse_what_is_not_a_value(headers: object) -> None:
    with pytest.raises(amiproto.LocalProtocolError):
        actions.UserEvent(user_event="U", headers=headers)  # type: ignore[arg-type]


def test_user_event_headers_take_values_and_lists_of_values() -> None:
    headers: dict[str, amiproto._actions.HeaderValue | list[amiproto._actions.HeaderValue]]
    headers = {"N": 1, "F": True, "L": ["a", 2.5]}
    event = actions.UserEvent(user_event="U", headers=headers)
    assert event.headers[1:] == (("N", "1"), ("F", "true"), ("L", "a"), ("L", "2.5"))


def test_numbered_families_refuse_bad_indexes_and_values() -> None:
    for bad in ({"a": "NewCat"}, {-1: "NewCat"}, [["NewCat"]], [b"NewCat"], 7):
        with pytest.raises(amiproto.LocalProtocolError):
            actions.UpdateConfig(src_filename="a", dst_filename="b", action=bad)  # type: ignore[arg-type]


def test_a_comma_in_a_variable_value_is_escaped_not_split() -> None:
    # Seen on a real Asterisk 22: {"A": "1,B=yes"} unescaped set both A and B.
    assert variables_of("A=1,B=yes") == [("A", "1"), ("B", "yes")]
    for builder in (
        actions.Originate(channel="x", variable={"A": "1,B=yes"}),
        actions.Originate(channel="x", variable=["A=1,B=yes"]),
        actions.MessageSend(to="pjsip:100", variable={"A": "1,B=yes"}),
        actions.PJSIPNotify(endpoint="e", variable={"A": "1,B=yes"}),
    ):
        (header,) = [value for name, value in builder.headers if name == "Variable"]
        assert header == "A=1\\,B=yes"
        assert variables_of(header) == [("A", "1,B=yes")]
    # Plain values go out as before.
    assert actions.Originate(channel="x", variable={"A": 1, "B": "two"}).headers[1:] == (
        ("Variable", "A=1"),
        ("Variable", "B=two"),
    )


variable_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\0"), min_size=0, max_size=20
)


@given(
    name=variable_text.filter(lambda n: n.strip() == n and n and "=" not in n),
    value=variable_text,
)
def test_asterisk_reads_back_exactly_the_name_and_value_given(name: str, value: str) -> None:
    originate = actions.Originate(channel="x", variable={name: value})
    (header,) = [text for header_name, text in originate.headers if header_name == "Variable"]
    assert variables_of(header) == [(name, value)]

"""Messages as the core builds them: raw bytes kept, headers parsed on demand."""

from __future__ import annotations

import pytest

import amiproto

from .helpers import connected, drain, reply

# Every test here runs with the C speedups and in pure Python.
pytestmark = pytest.mark.usefixtures("implementation")


def test_action_id_fast_path_agrees_with_headers() -> None:
    conn = connected()
    items = reply(
        conn,
        "Event: A\nActionID: x1\n\nEvent: B\nactionid: x2\n\nEvent: C\nMessage: ActionID: no\n\n"
        "Event: D\nActionId:  spaced\n\n",
    )
    assert [i.action_id for i in items if isinstance(i, amiproto.Event)] == ["x1", "x2", None, " spaced"]


def test_unknown_message_kinds() -> None:
    conn = connected()
    items = reply(conn, "Channel: pepe\nCount: 1\n\nPrivilege: x\nEvent: Late\n\nfoo\n\n")
    assert isinstance(items[0], amiproto.UnknownMessage) and items[0].get("Channel") == "pepe"
    assert isinstance(items[1], amiproto.Event) and items[1].name == "Late"
    assert isinstance(items[2], amiproto.UnknownMessage) and items[2].unparsed == ("foo",)


def test_non_utf8_is_kept_with_surrogateescape() -> None:
    conn = connected()
    conn.receive_data(b"Event: X\r\nCallerIDName: \xe9t\xe9\r\n\r\n")
    (event,) = drain(conn)
    assert isinstance(event, amiproto.Event)
    value = event.get("CallerIDName")
    assert value is not None and value.encode("utf-8", "surrogateescape") == b"\xe9t\xe9"


def test_other_encodings() -> None:
    conn = amiproto.Connection(encoding="latin-1")
    conn.receive_data(b"Event: X\r\nName: \xe9\r\n\r\n")
    (event,) = drain(conn)
    assert isinstance(event, amiproto.Event) and event.get("Name") == "é"


def test_orphans_are_built_as_orphans() -> None:
    conn = connected()
    (orphan,) = reply(conn, "Response: Follows\nActionID: x\nline\n--END COMMAND--\n\n")
    assert isinstance(orphan, amiproto.Response) and orphan.orphan and orphan.output == ["line"]


def test_raw_bytes_are_kept_and_headers_parse_on_demand() -> None:
    conn = connected()
    raw = b"Response: Success\r\nActionID: t-9\r\nMessage: Pong\r\n\r\n"
    conn.receive_data(raw)
    (response,) = drain(conn)
    assert isinstance(response, amiproto.Response)
    assert response.raw == raw and response.action_id == "t-9"
    assert (response.status, response.success, response.message) == ("success", True, "Pong")
    assert response.orphan  # nobody sent t-9


def test_follows_output_and_output_headers_read_alike() -> None:
    conn = connected()
    old, new = reply(
        conn,
        "Response: Follows\nActionID: a\nline one\nline two\n--END COMMAND--\n\n"
        "Response: Success\nActionID: b\nOutput: line one\nOutput: line two\n\n",
    )
    assert isinstance(old, amiproto.Response) and isinstance(new, amiproto.Response)
    assert old.output == new.output == ["line one", "line two"]
    assert old.status == "follows" and new.status == "success"


def test_event_name_and_list_marks() -> None:
    conn = connected()
    (event,) = reply(conn, "Event: QueueStatusComplete\nActionID: q\nEventList: Complete\nListItems: 2\n\n")
    assert isinstance(event, amiproto.Event)
    assert event.name == "QueueStatusComplete" and event.event_list == "complete"
    assert event.get("ListItems") == "2" and event.get("listitems") == "2"


# -- a response read without parsing its headers: the same as with them ---------------

import dataclasses  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from amiproto._messages import new_completed, new_response  # noqa: E402

_LINE_PARTS = st.sampled_from(
    ["Response", "response", "RESPONSE ", "Message", "EventList", "eventlist", "ActionID", "X"]
)
_LINE_VALUES = st.one_of(
    st.sampled_from(
        ["Success", " success", "Error\t", "Follows", "Goodbye", "start", "Channels will follow"]
    ),
    st.text(alphabet="aé \t\x85\xa0:", max_size=6),
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, str]:
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16-le"]))
    lines = draw(st.lists(st.tuples(_LINE_PARTS, _LINE_VALUES), min_size=1, max_size=4))
    end = draw(st.sampled_from(["\r\n", "\n"]))
    first = draw(st.sampled_from(["Response: ", "Response:", ""]))
    text = "".join(f"{name}: {value}{end}" for name, value in lines) + end
    return (first + text).encode(encoding, "replace"), encoding


@given(responses())
def test_status_from_the_first_line_is_the_parsed_header(case: tuple[bytes, str]) -> None:
    raw, encoding = case
    response = amiproto.Response(raw, encoding=encoding)
    status = response.status
    if raw.startswith(b"Response:") and encoding != "utf-16-le":
        assert response._headers is None  # read without a parse
    parsed = amiproto.Response(raw, encoding=encoding)
    assert status == (parsed.headers.get("Response") or "").strip().lower()
    # The headers, parsed when read, are those of a response never asked its status.
    assert response.headers == parsed.headers and response.unparsed == parsed.unparsed
    fast = new_response(raw, encoding)
    assert (fast.raw, fast.status, fast.headers, fast.orphan) == (raw, status, parsed.headers, False)


@given(responses())
def test_a_response_said_to_announce_no_list_has_neither_sign_of_one(case: tuple[bytes, str]) -> None:
    raw, encoding = case
    response = amiproto.Response(raw, encoding=encoding)
    if not response._may_announce_list():
        message = response.message or ""
        assert response.event_list is None
        assert not message.rstrip().lower().endswith("will follow")


def test_the_usual_answers_start_no_list_and_parse_nothing() -> None:
    conn = connected()
    conn.send(amiproto.Action("Ping", ActionID="p1"))
    conn.receive_data(b"Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: 1.5\r\n\r\n")
    response, completed = drain(conn)
    assert isinstance(response, amiproto.Response) and isinstance(completed, amiproto.ActionCompleted)
    assert completed.success and not completed.is_list and completed.response is response
    assert response._headers is None  # neither its status nor its list-ness parsed it
    assert response.get("Ping") == "Pong"


def test_new_completed_is_the_dataclass() -> None:
    response = amiproto.Response(b"Response: Success\r\nActionID: a\r\n\r\n")
    action = amiproto.Action("Ping")
    values = ("a", action, response, (), True, False, ("w",), True, False, None)
    made = new_completed(*values)
    assert made == amiproto.ActionCompleted(*values)
    assert [getattr(made, field.name) for field in dataclasses.fields(made)] == list(values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.complete = False  # type: ignore[misc]

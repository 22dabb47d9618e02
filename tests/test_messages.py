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

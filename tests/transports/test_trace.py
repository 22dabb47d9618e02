"""The wire trace hides secrets and logs only when asked."""

from __future__ import annotations

import logging

import pytest

from amiproto_transports._shared import redact, trace
from amiproto_transports._shared._trace import ReceivedTrace


def test_trace_redacts_secrets(caplog: pytest.LogCaptureFixture) -> None:
    data = b"Action: Login\r\nUsername: admin\r\nSecret: wordpass\r\nkey : abc\r\n\r\n"
    assert b"wordpass" not in redact(data) and b"abc" not in redact(data)
    assert b"Username: admin" in redact(data)
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        trace(True, "->", data)
        trace(False, "->", b"Action: Ping\r\n\r\n")
    assert len(caplog.records) == 1
    assert "wordpass" not in caplog.text and "<redacted>" in caplog.text


def test_trace_from_the_server_keeps_database_keys(caplog: pytest.LogCaptureFixture) -> None:
    data = (
        b"Event: DBGetResponse\r\nKey: k1\r\n\r\n"
        b"Response: Success\r\nLine-000000-000001: secret=hunter2\r\n\r\n"
    )
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        trace(True, "<-", data)
    assert "Key: k1" in caplog.text and "hunter2" not in caplog.text


GET_CONFIG = (
    b"Response: Success\r\nActionID: 1\r\nCategory-000000: admin\r\n"
    b"Line-000000-000000: secret=hunter2\r\nLine-000000-000001: read=all\r\n\r\n"
)


def test_a_received_line_split_across_reads_is_redacted_whole(caplog: pytest.LogCaptureFixture) -> None:
    for cut in range(1, len(GET_CONFIG)):
        caplog.clear()
        received = ReceivedTrace()
        with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
            received.feed(GET_CONFIG[:cut])
            received.feed(GET_CONFIG[cut:])
            received.feed(b"")
        shown = "".join(record.getMessage()[3:] for record in caplog.records)
        assert shown == redact(GET_CONFIG, "<-").decode(), cut


def test_the_unfinished_line_held_back_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    received = ReceivedTrace(limit=64)
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        received.feed(b"Event: Long\r\nLine-000000-000000: secret=" + b"x" * 100)
        assert len(caplog.records) == 1 and "x" * 100 not in caplog.text  # shown, redacted, at the bound
        received.feed(b"rest-of-the-secret")
        received.feed(b"hunter2\r\nNext: line\r\n")
        received.feed(b"")
    assert "hunter2" not in caplog.text and "rest-of" not in caplog.text  # what might continue it is hidden
    assert "Next: line" in caplog.text

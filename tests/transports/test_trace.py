"""The wire trace hides secrets and logs only when asked."""

from __future__ import annotations

import logging

import pytest

from amiproto_transports._shared import redact, trace


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

"""Mailbox and voicemail actions answer as the recorded Asterisk 22 did."""

from __future__ import annotations

import pytest

from ..conftest import RECORDINGS, needs_shared
from .recorded_answers import assert_replays, logged_in, recorded_bytes, replay

needs_recording = needs_shared(RECORDINGS / "all_actions.jsonl")


@needs_recording
def test_the_recorded_voicemail_actions_get_the_recorded_answers() -> None:
    assert_replays(logged_in(), [f"a-{n}" for n in (*range(53, 62), 172, 173, *range(204, 209))])


@needs_recording
@pytest.mark.parametrize("action_id", ["a-59", "a-60", "a-61"])
def test_message_actions_end_their_message_with_a_bare_newline(action_id: str) -> None:
    got, expected = replay(logged_in(), action_id)
    assert got.response_raw == expected.response_raw


@needs_recording
@pytest.mark.parametrize("action_id", ["a-55", "a-56"])
def test_user_lists_are_the_recorded_bytes(action_id: str) -> None:
    action, answer = recorded_bytes(action_id)
    assert logged_in().send_raw(action) == answer


def test_an_unknown_user_is_acknowledged_not_refused() -> None:
    reply = logged_in().action("VoicemailUserStatus", Context="default", Mailbox="999")
    assert (reply.response.status, reply.response.message) == (
        "success",
        "There is no voicemail user matching the given user.",
    )


def test_forward_checks_its_target_headers() -> None:
    headers = [
        ("Context", "default"),
        ("Mailbox", "1234"),
        ("Folder", "INBOX"),
        ("ID", "x"),
        ("ToContext", "other"),
    ]
    reply = logged_in().action("VoicemailForward", headers)
    assert reply.response.message == "ToMailbox not specified, required"

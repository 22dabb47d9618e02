"""Config and dialplan actions answer as the recorded Asterisk 22 did, and change what is read back."""

from __future__ import annotations

import pytest

from ..conftest import RECORDINGS, needs_shared
from .recorded_answers import assert_replays, logged_in, recorded_bytes
from .test_session import Harness


@needs_shared(RECORDINGS / "all_actions.jsonl")
def test_the_recorded_config_and_dialplan_actions_get_the_recorded_answers() -> None:
    # Create a scratch file, fill it, read it back; add an extension, list it, remove it;
    # then each action without its required header.
    ids = [f"a-{n}" for n in (18, 19, 20, 21, 22, 23, 24, 25, 156, 161, 162, 165, 166, 169, 202)]
    assert_replays(logged_in(), ids)


@needs_shared(RECORDINGS / "all_actions.jsonl")
def test_get_config_json_is_the_recorded_bytes() -> None:
    action, answer = recorded_bytes("a-21")
    assert logged_in().send_raw(action) == answer


def _update(h: Harness, *steps: tuple[str, str, str, str]) -> str:
    pairs = [("SrcFilename", "s.conf"), ("DstFilename", "s.conf")]
    for index, (verb, cat, var, value) in enumerate(steps):
        pairs += [(f"Action-{index:06d}", verb), (f"Cat-{index:06d}", cat)]
        pairs += [(f"Var-{index:06d}", var), (f"Value-{index:06d}", value)]
    reply = h.action("UpdateConfig", pairs)
    return f"{reply.response.status}: {reply.response.message}"


def _lines(h: Harness) -> list[tuple[str, str]]:
    reply = h.action("GetConfig", Filename="s.conf").response
    return [(name, value) for name, value in reply.headers if name.startswith(("Category", "Line"))]


def test_updates_change_what_get_config_and_list_categories_read() -> None:
    h = logged_in()
    assert h.action("CreateConfig", Filename="s.conf").response.status == "success"
    assert h.action("CreateConfig", Filename="s.conf").response.message == "File exists"
    assert (
        _update(h, ("NewCat", "a", "", ""), ("Append", "a", "k", "1"), ("Append", "a", "k2", "2"))
        == "success: None"
    )
    assert (
        _update(h, ("Update", "A", "k", "9"), ("NewCat", "b", "", ""), ("RenameCat", "b", "", "c"))
        == "success: None"
    )
    assert _lines(h) == [
        ("Category-000000", "a"),
        ("Line-000000-000000", "k=9"),
        ("Line-000000-000001", "k2=2"),
        ("Category-000001", "c"),
    ]
    assert _update(h, ("Delete", "a", "k2", ""), ("DelCat", "c", "", "")) == "success: None"
    assert h.action("ListCategories", Filename="s.conf").response.get("Category-000000") == "a"
    assert h.action("GetConfigJSON", Filename="s.conf").response.get("JSON") == '{"a":{"k":"9"}}'


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (("Append", "nope", "k", "v"), "Given category does not exist"),
        (("Update", "a", "missing", "v"), "Update did not complete successfully"),
        (("Append", "a", "", "v"), "Problem with category, value, or line (if required)"),
        (("Frobnicate", "a", "k", "v"), "Unknown action command"),
        (("Append", "", "k", "v"), "Category not specified"),
    ],
)
def test_a_failed_update_saves_nothing(step: tuple[str, str, str, str], message: str) -> None:
    h = logged_in()
    h.action("CreateConfig", Filename="s.conf")
    _update(h, ("NewCat", "a", "", ""))
    assert _update(h, ("Append", "a", "kept", "no"), step) == f"error: {message}"
    assert _lines(h) == [("Category-000000", "a")]


def _dialplan(h: Harness, **headers: str) -> list[tuple[str, str, str]]:
    reply = h.action("ShowDialPlan", list(headers.items()))
    return [
        (e.get("Extension"), e.get("Priority"), e.get("Application"))
        for e in reply.events
        if e.name == "ListDialplan"
    ]


def test_added_extensions_show_in_the_dialplan_until_removed() -> None:
    h = logged_in()
    add = [("Context", "default"), ("Extension", "new"), ("Application", "NoOp")]
    added = h.action("DialplanExtensionAdd", [*add, ("Priority", "2")]).response.message
    assert added == "Added requested extension"
    again = h.action("DialplanExtensionAdd", [*add, ("Priority", "2")]).response.message
    assert again == "That extension and priority already exist at that context"
    h.action("DialplanExtensionAdd", [*add, ("Priority", "1")])
    assert _dialplan(h, Context="default", Extension="new") == [("new", "1", "NoOp"), ("new", "2", "NoOp")]
    removed = h.action("DialplanExtensionRemove", Context="default", Extension="new", Priority="1")
    assert removed.response.message == "Removed the requested priority from the extension"
    assert h.action("DialplanExtensionRemove", Context="default", Extension="new").response.message == (
        "Removed the requested extension"
    )
    missing = h.action("ShowDialPlan", Context="default", Extension="new").response.message
    assert missing == "Did not find extension new@default"
    assert ("wait", "1", "Answer") in _dialplan(h)

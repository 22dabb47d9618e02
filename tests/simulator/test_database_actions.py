"""AstDB actions answer as the recorded Asterisk 22 did; tree actions cover whole path components."""

from __future__ import annotations

from ..conftest import RECORDINGS, needs_shared
from .recorded_answers import assert_replays, logged_in


@needs_shared(RECORDINGS / "all_actions.jsonl")
def test_the_recorded_database_actions_get_the_recorded_answers() -> None:
    # Put two keys, read one, list the family, delete a key and the tree; then without Family.
    assert_replays(logged_in(), [f"a-{n}" for n in (12, 13, 14, 15, 16, 17, 157, 158, 159, 160)])


def _tree(harness: object, **headers: str) -> list[tuple[str, str]]:
    reply = harness.action("DBGetTree", **headers)  # type: ignore[attr-defined]
    events = [event for event in reply.events if event.name == "DBGetTreeResponse"]
    return [(event.get("Key"), event.get("Val")) for event in events]


def test_trees_match_whole_path_components() -> None:
    h = logged_in()
    for family, key in (("fam", "a"), ("fam", "b/c"), ("family", "x")):
        h.action("DBPut", Family=family, Key=key, Val=f"{family}-{key}")
    assert _tree(h, Family="fam") == [("/fam/a", "fam-a"), ("/fam/b/c", "fam-b/c")]
    assert _tree(h, Family="fam", Key="b") == [("/fam/b/c", "fam-b/c")]
    assert len(_tree(h)) == 3
    assert h.action("DBDelTree", Family="fam", Key="zzz").response.message == "Database entry not found"
    assert h.action("DBDelTree", Family="fam").response.message == "Key tree deleted successfully"
    assert _tree(h) == [("/family/x", "family-x")]


def test_put_errors_have_no_full_stop_unlike_get() -> None:
    h = logged_in()
    assert h.action("DBPut", Family="f").response.message == "No key specified"
    assert h.action("DBGet", Family="f").response.message == "No key specified."

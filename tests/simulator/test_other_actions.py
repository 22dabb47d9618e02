"""DAHDI, PRI, MeetMe, external MWI and XMPP actions (``dahdi.py``, ``meetme.py``, ``mwi.py``, ``xmpp.py``).

No recording shows them: the expected answers are those of Asterisk 22's sources
(chan_dahdi.c, app_meetme.c, res_mwi_external_ami.c, res_xmpp.c) for a server
with these modules loaded and nothing configured, byte for byte.
"""

from __future__ import annotations

import time

import pytest

import amiproto
import amiproto.actions
from amiproto_transports.simulator._actions import ACTIONS
from amiproto_transports.simulator._actions.database import MAX_DB_ENTRIES
from amiproto_transports.simulator._actions.mwi import MAX_MWI_MAILBOXES
from amiproto_transports.simulator._config import users_from_mapping
from amiproto_transports.simulator._world import World

from .test_session import Harness

# The classes each module's load_module() registers the action with (None: registered with 0).
PRIVILEGES: dict[str, str | None] = {
    "DAHDIDNDoff": None,
    "DAHDIDNDon": None,
    "DAHDIDialOffhook": None,
    "DAHDIHangup": None,
    "DAHDIRestart": None,
    "DAHDIShowChannels": None,
    "DAHDIShowStatus": None,
    "DAHDITransfer": None,
    "PRIDebugFileSet": "system",
    "PRIDebugFileUnset": None,
    "PRIDebugSet": None,
    "PRIShowSpans": None,
    "MeetmeList": "reporting",
    "MeetmeListRooms": "reporting",
    "MeetmeMute": "call",
    "MeetmeUnmute": "call",
    "MWIGet": "call,reporting",
    "MWIDelete": "call",
    "MWIUpdate": "call",
    "JabberSend": "system",
}

USERS = {
    "admin": ("wordpass", "all", "all"),
    "nowrite": ("pass", "all", ""),
    "reporter": ("pass", "all", "reporting"),
    "caller": ("pass", "all", "call"),
}


def session(user: str = "admin") -> Harness:
    h = Harness(World(users_from_mapping(USERS), start=100.0, wall_offset=1.7e9))
    assert h.login(user, USERS[user][0], auth="plain").success
    h.items.clear()
    return h


def raw(h: Harness, text: str) -> bytes:
    return h.send_raw(text.replace("\n", "\r\n").encode() + b"\r\n")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def error(message: str) -> bytes:
    return crlf(f"Response: Error\nActionID: 1\nMessage: {message}\n\n")


def success(message: str | None = None) -> bytes:
    line = "" if message is None else f"Message: {message}\n"
    return crlf(f"Response: Success\nActionID: 1\n{line}\n")


def empty_list(message: str, complete: str, *extra: str) -> bytes:
    head = f"Response: Success\nActionID: 1\nEventList: start\nMessage: {message}\n\n"
    tail = f"Event: {complete}\nActionID: 1\nEventList: Complete\nListItems: 0\n"
    return crlf(head + tail + "".join(f"{line}\n" for line in extra) + "\n")


def test_every_action_is_known_with_its_registered_classes_and_documented() -> None:
    for name, privilege in PRIVILEGES.items():
        spec = ACTIONS[name.lower()]
        assert (spec.name, spec.privilege) == (name, privilege)
        builder = amiproto.actions.ACTION_BUILDERS[name]
        assert builder.__doc__ is not None
        assert spec.summary == builder.__doc__.splitlines()[0]


@pytest.mark.parametrize("name", sorted(PRIVILEGES))
def test_a_user_without_the_class_is_refused(name: str) -> None:
    privilege = PRIVILEGES[name]
    answer = raw(session("nowrite"), f"Action: {name}\nActionID: 1\n")
    if privilege is None:
        assert answer != error("Permission denied")
    else:
        assert answer == error("Permission denied")
    # One class of several is enough.
    for user, classes in (("reporter", {"reporting"}), ("caller", {"call"})):
        allowed = privilege is None or bool(classes & set(privilege.split(",")))
        assert (raw(session(user), f"Action: {name}\nActionID: 1\n") != error("Permission denied")) is allowed


MISSING = [
    ("DAHDITransfer", "", "No channel specified"),
    ("DAHDIHangup", "", "No channel specified"),
    ("DAHDIDNDon", "", "No channel specified"),
    ("DAHDIDNDoff", "", "No channel specified"),
    ("DAHDIDialOffhook", "Number: 123\n", "No channel specified"),
    ("DAHDIDialOffhook", "DAHDIChannel: 1\n", "No number specified"),
    ("PRIDebugSet", "Span: 1\n", "'Level' was not specified"),
    ("PRIDebugSet", "Level: on\n", "'Span' was not specified"),
    ("MeetmeMute", "Usernum: 1\n", "Meetme conference not specified"),
    ("MeetmeUnmute", "Meetme: 100\n", "Meetme user number not specified"),
    ("MWIGet", "", "Missing mailbox parameter in request"),
    ("MWIDelete", "", "Missing mailbox parameter in request"),
    ("MWIUpdate", "NewMessages: 1\n", "Missing mailbox parameter in request"),
    ("JabberSend", "ScreenName: a@b\nMessage: hi\n", "No transport specified"),
    ("JabberSend", "Jabber: asterisk\nMessage: hi\n", "No ScreenName specified"),
    ("JabberSend", "Jabber: asterisk\nScreenName: a@b\n", "No Message specified"),
]


@pytest.mark.parametrize(("name", "headers", "message"), MISSING)
def test_a_missing_required_header_gets_the_modules_error(name: str, headers: str, message: str) -> None:
    assert raw(session(), f"Action: {name}\nActionID: 1\n{headers}") == error(message)


def test_pri_debug_file_set_without_a_file_answers_two_errors() -> None:
    # chan_dahdi.c goes on after its first error and fails to open "".
    answer = raw(session(), "Action: PRIDebugFileSet\nActionID: 1\n")
    assert answer == error("Action must define a 'File'") + error("Unable to open requested file for writing")


# res_mwi_external_ami.c writes its completion event by hand, the ActionID last.
NO_MAILBOX = crlf(
    "Response: Success\nActionID: 1\nEventList: start\nMessage: Mailboxes will follow\n\n"
    "Event: MWIGetComplete\nEventList: Complete\nListItems: 0\nActionID: 1\n\n"
)

EMPTY_CONFIGURATION = [
    ("DAHDITransfer", "DAHDIChannel: 1\n", error("No such channel")),
    ("DAHDIHangup", "DAHDIChannel: 1\n", error("No such channel")),
    ("DAHDIDNDon", "DAHDIChannel: 1\n", error("No such channel")),
    ("DAHDIDNDoff", "DAHDIChannel: x\n", error("No such channel")),
    ("DAHDIDialOffhook", "DAHDIChannel: 1\nNumber: 123\n", error("No such channel")),
    ("DAHDIRestart", "", success("DAHDIRestart: Success")),
    (
        "DAHDIShowChannels",
        "",
        empty_list("DAHDI channel status will follow", "DAHDIShowChannelsComplete", "Items: 0"),
    ),
    (
        "DAHDIShowChannels",
        "DAHDIChannel: 3\n",
        empty_list("DAHDI channel status will follow", "DAHDIShowChannelsComplete", "Items: 0"),
    ),
    (
        "DAHDIShowStatus",
        "",
        empty_list("DAHDI span statuses will follow", "DAHDIShowStatusComplete", "Items: 0"),
    ),
    ("PRIShowSpans", "Span: 1\n", empty_list("Span status will follow", "PRIShowSpansComplete", "Items: 0")),
    ("PRIDebugSet", "Span: 1\nLevel: on\n", error("No PRI running on requested span")),
    ("PRIDebugSet", "Span: 32\nLevel: 15\n", error("No PRI running on requested span")),
    ("PRIDebugSet", "Span: 33\nLevel: hex\n", error("Invalid span '33' - Should be a number from 1 to 32")),
    ("PRIDebugSet", "Span: 0\nLevel: off\n", error("Invalid span '0' - Should be a number from 1 to 32")),
    ("PRIDebugSet", "Span: one\nLevel: off\n", error("Invalid value for 'Span'")),
    ("PRIDebugSet", "Span: 1\nLevel: loud\n", error("Invalid value for 'Level'")),
    (
        "PRIDebugFileSet",
        "File: /tmp/pri.log\n",
        success("PRI debug output will now be sent to requested file."),
    ),
    ("PRIDebugFileUnset", "", success("PRI Debug output to file disabled")),
    ("MeetmeList", "", error("No active conferences.")),
    ("MeetmeList", "Conference: 100\n", error("No active conferences.")),
    ("MeetmeListRooms", "", error("No active conferences.")),
    ("MeetmeMute", "Meetme: 100\nUsernum: 1\n", error("Meetme conference does not exist")),
    ("MeetmeUnmute", "Meetme: 100\nUsernum: 1\n", error("Meetme conference does not exist")),
    ("MeetmeMute", "Meetme: 100\nUsernum: 1x\n", error("Invalid user number")),
    (
        "JabberSend",
        "Jabber: asterisk\nScreenName: a@b\nMessage: hi\n",
        success("Attempting to send Jabber Message") + error("Could not find Sender"),
    ),
    # res_xmpp.c reads ScreenName, not the documented JID.
    ("JabberSend", "Jabber: asterisk\nJID: a@b\nMessage: hi\n", error("No ScreenName specified")),
    ("MWIGet", "Mailbox: 1000@default\n", NO_MAILBOX),
    ("MWIGet", "Mailbox: /.*/\n", NO_MAILBOX),
    ("MWIGet", "Mailbox: /1000\n", error("Mailbox regex format invalid in: /1000")),
    ("MWIGet", "Mailbox: /(/\n", error("Mailbox container creation failure")),
    ("MWIDelete", "Mailbox: 1000@default\n", success()),
    ("MWIDelete", "Mailbox: /\n", error("Mailbox regex format invalid in: /")),
    ("MWIUpdate", "Mailbox: 1000@default\nOldMessages: many\n", error("Invalid OldMessages: many")),
    ("MWIUpdate", "Mailbox: 1000@default\nNewMessages: x1\n", error("Invalid NewMessages: x1")),
]


@pytest.mark.parametrize(("name", "headers", "answer"), EMPTY_CONFIGURATION)
def test_a_well_formed_call_gets_the_answer_of_an_empty_configuration(
    name: str, headers: str, answer: bytes
) -> None:
    assert raw(session(), f"Action: {name}\nActionID: 1\n{headers}") == answer


def test_lists_end_with_the_completion_event_the_catalog_names() -> None:
    for name in ("DAHDIShowChannels", "DAHDIShowStatus", "PRIShowSpans", "MWIGet"):
        h = session()
        h.action(name, Mailbox="/x/") if name == "MWIGet" else h.action(name)
        builder = amiproto.actions.ACTION_BUILDERS[name]
        assert [event.name for event in h.events()] == [builder.completion_event]


def mwi_get(h: Harness, mailbox: str) -> list[tuple[str, str, str]]:
    h.items.clear()
    done = h.action("MWIGet", Mailbox=mailbox)
    assert done.response.success
    events = h.events("MWIGet")
    assert h.events("MWIGetComplete")[0].get("ListItems") == str(len(events))
    return [(e.get("Mailbox") or "", e.get("OldMessages") or "", e.get("NewMessages") or "") for e in events]


def mwi_events(h: Harness) -> list[amiproto.Event]:
    return [e for e in h.events() if e.name in ("MessageWaiting", "DeviceStateChange")]


def test_mwi_update_get_and_delete_share_the_mailboxes() -> None:
    h = session()
    update = "Action: MWIUpdate\nActionID: 1\nMailbox: 1000@default\nOldMessages: 2\nNewMessages: 3\n"
    # Waiting comes from app_voicemail, whose spool is empty, not from the counts.
    waiting = (
        "Event: MessageWaiting\nPrivilege: call,all\nMailbox: 1000@default\nWaiting: 0\nNew: 3\nOld: 2\n\n"
    )
    device = "Event: DeviceStateChange\nPrivilege: call,all\nDevice: MWI:1000@default\nState: INUSE\n\n"
    assert raw(h, update) == success() + crlf(waiting) + crlf(device)
    assert raw(h, "Action: MWIUpdate\nActionID: 1\nMailbox: 2000@sales\n").startswith(success())
    assert mwi_get(h, "1000@default") == [("1000@default", "2", "3")]
    assert mwi_get(h, "/@/") == [("1000@default", "2", "3"), ("2000@sales", "0", "0")]
    assert mwi_get(h, "/^2/") == [("2000@sales", "0", "0")]
    # Another connection sees the same mailboxes.
    other = Harness(h.world)
    other.login("admin", "wordpass", auth="plain")
    assert mwi_get(other, "/sales/") == [("2000@sales", "0", "0")]
    # Reading the new count empties the device; an unchanged state sends no DeviceStateChange.
    h.items.clear()
    h.action("MWIUpdate", Mailbox="1000@default", OldMessages="5")
    assert [(e.name, e.get("State") or e.get("New")) for e in mwi_events(h)] == [
        ("MessageWaiting", "0"),
        ("DeviceStateChange", "NOT_INUSE"),
    ]
    h.items.clear()
    h.action("MWIUpdate", Mailbox="1000@default", OldMessages="6")
    assert [e.name for e in mwi_events(h)] == ["MessageWaiting"]
    assert h.world.device_states["MWI:1000@default"] == "NOT_INUSE"
    # Deleting by regex removes what matches, and nothing else.
    assert raw(h, "Action: MWIDelete\nActionID: 1\nMailbox: /^1/\n") == success()
    assert mwi_get(h, "/.*/") == [("2000@sales", "0", "0")]
    assert raw(h, "Action: MWIDelete\nActionID: 1\nMailbox: 2000@sales\n") == success()
    assert mwi_get(h, "/.*/") == []


def test_mwi_get_items_carry_the_action_id_last_as_res_mwi_external_ami_writes_them() -> None:
    h = session()
    h.action("MWIUpdate", Mailbox="7", NewMessages="1")
    assert raw(h, "Action: MWIGet\nActionID: 1\nMailbox: 7\n") == crlf(
        "Response: Success\nActionID: 1\nEventList: start\nMessage: Mailboxes will follow\n\n"
        "Event: MWIGet\nMailbox: 7\nOldMessages: 0\nNewMessages: 1\nActionID: 1\n\n"
        "Event: MWIGetComplete\nEventList: Complete\nListItems: 1\nActionID: 1\n\n"
    )


def test_mwi_counts_are_read_as_sscanf_reads_them() -> None:
    h = session()
    h.action("MWIUpdate", Mailbox="9", OldMessages=" 4 apples", NewMessages="-1")
    assert mwi_get(h, "9") == [("9", "4", str(2**32 - 1))]


def test_mwi_mailboxes_are_bounded() -> None:
    h = session()
    h.world.mwi_mailboxes.update({str(n): (0, 0) for n in range(MAX_MWI_MAILBOXES)})
    assert raw(h, "Action: MWIUpdate\nActionID: 1\nMailbox: one-more\n") == error("Update attempt failed")
    assert "one-more" not in h.world.mwi_mailboxes
    # An existing mailbox can still change.
    assert raw(h, "Action: MWIUpdate\nActionID: 1\nMailbox: 0\nNewMessages: 1\n").startswith(success())
    assert h.world.mwi_mailboxes["0"] == (0, 1)


@pytest.mark.timeout(20)
def test_a_mailbox_regex_is_matched_in_linear_time() -> None:
    """With Python's re, "(a+)+$" against a mailbox of 40 a's and a "!" took 2**40 steps:
    one client's MWIGet stalled the server's one thread for everybody."""
    h = session()
    h.action("MWIUpdate", Mailbox="a" * 40 + "!", NewMessages="1")
    assert mwi_get(h, "/(a+)+$/") == []
    assert mwi_get(h, "/a+!$/") == [("a" * 40 + "!", "0", "1")]


def test_the_database_is_bounded() -> None:
    h = session()
    h.world.db.update({("f", str(n)): "v" for n in range(MAX_DB_ENTRIES)})
    assert raw(h, "Action: DBPut\nActionID: 1\nFamily: f\nKey: one-more\nVal: x\n") == error(
        "Failed to update entry"
    )
    assert ("f", "one-more") not in h.world.db
    # An existing key can still change.
    changed = raw(h, "Action: DBPut\nActionID: 1\nFamily: f\nKey: 0\nVal: w\n")
    assert changed.startswith(b"Response: Success\r\n")
    assert h.world.db[("f", "0")] == "w"


def test_deleting_a_mailbox_forgets_its_device_state() -> None:
    """MWI:<mailbox> stayed in the device states after MWIDelete: creating and deleting
    mailboxes grew them without bound."""
    h = session()
    h.action("MWIUpdate", Mailbox="gone", NewMessages="1")
    assert h.world.device_states["MWI:gone"] == "INUSE"
    h.action("MWIDelete", Mailbox="gone")
    assert "MWI:gone" not in h.world.device_states


@pytest.mark.timeout(30)
def test_a_large_mailbox_regex_is_answered_in_bounded_time() -> None:
    """``/a.{900}Z/`` over 3,000 long mailbox names held the server's one thread for
    minutes (263 s measured); the search is metered and answered as a bad regex."""
    h = session()
    names = ["".join("ab"[(n >> bit) & 1] for bit in range(12)) * 80 for n in range(3000)]
    h.world.mwi_mailboxes.update({name: (0, 0) for name in names})
    started = time.monotonic()
    answer = raw(h, "Action: MWIGet\nActionID: 1\nMailbox: /a.{900}Z/\n")
    assert answer == error("Mailbox container creation failure")
    assert raw(h, "Action: MWIDelete\nActionID: 1\nMailbox: /a.{900}Z/\n") == success()
    assert len(h.world.mwi_mailboxes) == 3000
    assert time.monotonic() - started < 10.0

"""Voicemail and mailbox actions: the recorded server's mailboxes, none of which holds a message.

The recorded server ran Asterisk's sample voicemail.conf (its asterisk-config/
has no voicemail.conf of its own): mailbox 1234 in contexts ``default`` and
``other``, and the alias ``1234@devices`` in ``myaliases``, listed in the
order the ``all_actions`` recording shows. Answers follow that recording; the
branches it does not show follow apps/app_voicemail.c (Asterisk 22).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from ._replies import Pairs, aid, message_with_newline

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []

# (context, mailbox, full name, email): app_voicemail prints "(null)" for an alias's missing email.
MAILBOXES = (
    ("default", "1234", "Example Mailbox", "root@localhost"),
    ("myaliases", "1234@devices", "", "(null)"),
    ("other", "1234", "Company2 User", "root@localhost"),
)
FOLDERS = frozenset(
    {"INBOX", "Old", "Work", "Family", "Friends", "Cust1", "Cust2", "Cust3", "Cust4", "Cust5"}
)


def _user_pairs(context: str, mailbox: str, name: str, email: str) -> Pairs:
    return [
        ("VMContext", context),
        ("VoiceMailbox", mailbox),
        ("Fullname", name),
        ("Email", email),
        ("Pager", ""),
        ("ServerEmail", "asterisk"),
        ("FromString", ""),
        ("MailCommand", "/usr/sbin/sendmail -t"),
        ("Language", ""),
        ("TimeZone", ""),
        ("Callback", ""),
        ("Dialout", ""),
        ("UniqueID", ""),
        ("ExitContext", ""),
        ("SayDurationMinimum", "2"),
        ("SayEnvelope", "Yes"),
        ("SayCID", "No"),
        ("AttachMessage", "Yes"),
        ("AttachmentFormat", ""),
        ("DeleteMessage", "No"),
        ("VolumeGain", "0.00"),
        ("CanReview", "No"),
        ("CanMarkUrgent", "Yes"),
        ("CallOperator", "No"),
        ("MaxMessageCount", "100"),
        ("MaxMessageLength", "0"),
        ("NewMessageCount", "0"),
        ("OldMessageCount", "0"),
    ]


def _find(context: str, mailbox: str) -> tuple[str, str, str, str] | None:
    return next((box for box in MAILBOXES if box[0] == context and box[1] == mailbox), None)


@handler("MailboxCount", privilege="call,reporting", summary="Check Mailbox Message Count.")
def mailbox_count(session: Session, action: ReceivedAction) -> None:
    mailbox = action.get("Mailbox")
    if not mailbox:
        session.error(action, "Mailbox not specified")
        return
    # No mailbox holds a message, and app_voicemail counts an unknown one as empty too.
    counts = [("UrgMessages", "0"), ("NewMessages", "0"), ("OldMessages", "0")]
    session.reply(action, "Success", [("Message", "Mailbox Message Count"), ("Mailbox", mailbox), *counts])


@handler("MailboxStatus", privilege="call,reporting", summary="Check mailbox.")
def mailbox_status(session: Session, action: ReceivedAction) -> None:
    mailbox = action.get("Mailbox")
    if not mailbox:
        session.error(action, "Mailbox not specified")
        return
    session.reply(action, "Success", [("Message", "Mailbox Status"), ("Mailbox", mailbox), ("Waiting", "0")])


@handler("VoicemailUsersList", privilege="call,reporting", summary="List All Voicemail User Information.")
def voicemail_users_list(session: Session, action: ReceivedAction) -> None:
    items = [[("Event", "VoicemailUserEntry"), *aid(action), *_user_pairs(*box)] for box in MAILBOXES]
    session.send_list(action, "Voicemail user list will follow", items, "VoicemailUserEntryComplete")


@handler(
    "VoicemailUserStatus",
    privilege="call,reporting",
    summary="Show the status of given voicemail user's info.",
)
def voicemail_user_status(session: Session, action: ReceivedAction) -> None:
    box = _user(session, action)
    if box is not None:
        items = [[("Event", "VoicemailUserDetail"), *aid(action), *_user_pairs(*box)]]
        session.send_list(action, "Voicemail user detail will follow", items, "VoicemailUserDetailComplete")


@handler(
    "VoicemailBoxSummary",
    privilege="call,reporting",
    summary="Show the mailbox contents of given voicemail user.",
)
def voicemail_box_summary(session: Session, action: ReceivedAction) -> None:
    if _user(session, action) is not None:
        # One VoicemailBoxDetail event per message would come here; the mailboxes are empty.
        session.send_list(action, "Voicemail box detail will follow", [], "VoicemailBoxDetailComplete")


def _user(session: Session, action: ReceivedAction) -> tuple[str, str, str, str] | None:
    """The mailbox of ``Context`` and ``Mailbox``, or None after answering why not."""
    context, mailbox = action.get("Context"), action.get("Mailbox")
    if not context or not mailbox:
        session.error(action, "Need 'Context' and 'Mailbox' parameters.")
        return None
    box = _find(context, mailbox)
    if box is None:
        # app_voicemail.c acknowledges a missing user rather than refusing it.
        session.reply(action, "Success", [("Message", "There is no voicemail user matching the given user.")])
    return box


@handler("VoicemailRefresh", privilege="user", summary="Tell Asterisk to poll mailboxes for a change")
def voicemail_refresh(session: Session, action: ReceivedAction) -> None:
    # Context and Mailbox are optional: without them every mailbox is polled.
    session.reply(action, "Success", [("Message", "Refresh sent")])


@handler("VoicemailMove", privilege="user", summary="Move Voicemail between mailbox folders of given user.")
def voicemail_move(session: Session, action: ReceivedAction) -> None:
    _message_action(session, action, "move", ("ToFolder",))


@handler("VoicemailRemove", privilege="user", summary="Remove Voicemail from mailbox folder.")
def voicemail_remove(session: Session, action: ReceivedAction) -> None:
    _message_action(session, action, "remove", ())


@handler(
    "VoicemailForward",
    privilege="user",
    summary="Forward Voicemail from one mailbox folder to another between given users.",
)
def voicemail_forward(session: Session, action: ReceivedAction) -> None:
    _message_action(session, action, "forward", ("ToContext", "ToMailbox", "ToFolder"))


def _message_action(session: Session, action: ReceivedAction, verb: str, targets: tuple[str, ...]) -> None:
    """Check the headers in app_voicemail's order; then the message is not there: no mailbox holds one."""
    for header in ("Mailbox", "Context", "Folder", "ID", *targets):
        if not action.get(header):
            session.error(action, f"{header} not specified, required")
            return
    # app_voicemail acknowledges the failure, with a bare newline ending the message.
    session.answer([message_with_newline(action, "Success", f"Message {verb} failed")])

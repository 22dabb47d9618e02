"""JabberSend (``res/res_xmpp.c``) of a PBX with res_xmpp loaded and no XMPP client configured.

No recording shows it; the answers follow res_xmpp.c (Asterisk 22), whose
``load_module`` registers it with ``system``. Its handler reads the recipient
from ``ScreenName``, although the documentation names the parameter ``JID``: a
call that sends only ``JID`` is answered "No ScreenName specified", as the real
server answers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from ._registry import handler
from ._replies import response

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


@handler("JabberSend", privilege="system", summary="Sends a message to a Jabber Client.")
def jabber_send(session: Session, action: ReceivedAction) -> None:
    if not action.get("Jabber"):
        session.error(action, "No transport specified")
    elif not action.get("ScreenName"):
        session.error(action, "No ScreenName specified")
    elif not action.get("Message"):
        session.error(action, "No Message specified")
    else:
        # res_xmpp.c acknowledges before it looks the client up, then answers again.
        session.answer(
            [
                response(action, "Success", [("Message", "Attempting to send Jabber Message")]),
                response(action, "Error", [("Message", "Could not find Sender")]),
            ]
        )

"""PJSIP actions, as an Asterisk 22 with res_pjsip loaded and nothing configured answers them.

No recording shows these actions: the recorded server was built without PJSIP.
The answers follow Asterisk's source, read module by module (each handler names
its file); where the source could not be read, the comment says what the
answer rests on. The configuration modelled holds no endpoint, AOR, auth,
contact, registration, subscription or resource list, and no channel is a
PJSIP one, so every lookup by name fails and every list is empty.

Some errors end in a bare LF, because the C code passes ``"...\\n"`` to
``astman_send_error``; those are written with ``message_with_newline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from amiproto import ReceivedAction

from .._filters import compile_pattern
from ._registry import handler
from ._replies import Pairs, aid, message_with_newline

if TYPE_CHECKING:
    from .._session import Session

__all__: list[str] = []


def _error_with_newline(session: Session, action: ReceivedAction, message: str) -> None:
    session.answer([message_with_newline(action, "Error", message)])


def _strip_prefix(name: str, prefix: str) -> str:
    """``name`` without a leading ``prefix``, compared as C's ``strncasecmp`` does."""
    return name[len(prefix) :] if name[: len(prefix)].lower() == prefix else name


# -- res/res_pjsip/pjsip_configuration.c --------------------------------------------


@handler("PJSIPShowEndpoints", privilege="system", summary="Lists PJSIP endpoints.")
def show_endpoints(session: Session, action: ReceivedAction) -> None:
    # ami_show_endpoints: an empty container is an error, not an empty list.
    _error_with_newline(session, action, "No endpoints found")


@handler("PJSIPShowEndpoint", privilege="system", summary="Detail listing of an endpoint and its objects.")
def show_endpoint(session: Session, action: ReceivedAction) -> None:
    name = action.get("Endpoint")
    if not name:
        _error_with_newline(session, action, "PJSIPShowEndpoint requires an endpoint name")
        return
    _error_with_newline(session, action, f"Unable to retrieve endpoint {_strip_prefix(name, 'pjsip/')}")


# -- res/res_pjsip/location.c, res/res_pjsip/config_auth.c ----------------------------


@handler("PJSIPShowAors", privilege="system", summary="Lists PJSIP AORs.")
def show_aors(session: Session, action: ReceivedAction) -> None:
    _error_with_newline(session, action, "No AORs found")


@handler("PJSIPShowAuths", privilege="system", summary="Lists PJSIP Auths.")
def show_auths(session: Session, action: ReceivedAction) -> None:
    _error_with_newline(session, action, "No Auths found")


# The stored copies of Asterisk's source predate PJSIPShowContacts: its privilege
# and its empty answer follow its siblings PJSIPShowAors and PJSIPShowAuths, whose
# error other AMI mocks of Asterisk reproduce as "No Contacts found".
@handler("PJSIPShowContacts", privilege="system", summary="Lists PJSIP Contacts.")
def show_contacts(session: Session, action: ReceivedAction) -> None:
    _error_with_newline(session, action, "No Contacts found")


# -- res/res_pjsip/pjsip_options.c ------------------------------------------------------


@handler("PJSIPQualify", privilege="system,reporting", summary="Qualify a chan_pjsip endpoint.")
def qualify(session: Session, action: ReceivedAction) -> None:
    if not action.get("Endpoint"):
        session.error(action, "Endpoint parameter missing.")
        return
    # ami_sip_qualify does not name the endpoint it could not find.
    _error_with_newline(session, action, "Unable to retrieve endpoint")


# -- res/res_pjsip_outbound_registration.c ------------------------------------------------


@handler("PJSIPRegister", privilege="system,reporting", summary="Register an outbound registration.")
def register(session: Session, action: ReceivedAction) -> None:
    _outbound_registration(session, action, "Reregistrations queued.")


@handler("PJSIPUnregister", privilege="system,reporting", summary="Unregister an outbound registration.")
def unregister(session: Session, action: ReceivedAction) -> None:
    _outbound_registration(session, action, "Unregistrations queued.")


def _outbound_registration(session: Session, action: ReceivedAction, all_queued: str) -> None:
    name = action.get("Registration")
    if not name:
        session.error(action, "Registration parameter missing.")
        return
    if name == "*all":
        # Queuing for every registration succeeds when there are none.
        session.reply(action, "Success", [("Message", all_queued)])
        return
    _error_with_newline(session, action, "Unable to retrieve registration entry")


@handler(
    "PJSIPShowRegistrationsOutbound",
    privilege="system,reporting",
    summary="Lists PJSIP outbound registrations.",
)
def show_registrations_outbound(session: Session, action: ReceivedAction) -> None:
    session.send_list(
        action,
        "Following are Events for each Outbound registration",
        [],
        "OutboundRegistrationDetailComplete",
        [("Registered", "0"), ("NotRegistered", "0")],
    )


# -- res/res_pjsip_registrar.c --------------------------------------------------------------


@handler("PJSIPShowRegistrationsInbound", privilege="system", summary="Lists PJSIP inbound registrations.")
def show_registrations_inbound(session: Session, action: ReceivedAction) -> None:
    session.send_list(
        action, "Following are Events for each Inbound registration", [], "InboundRegistrationDetailComplete"
    )


@handler(
    "PJSIPShowRegistrationInboundContactStatuses",
    privilege="system",
    summary="Lists ContactStatuses for PJSIP inbound registrations.",
)
def show_registration_contact_statuses(session: Session, action: ReceivedAction) -> None:
    session.send_list(
        action,
        "Following are ContactStatusEvents for each Inbound registration",
        [],
        "ContactStatusDetailComplete",
    )


# -- res/res_pjsip_pubsub.c --------------------------------------------------------------------


@handler("PJSIPShowSubscriptionsInbound", privilege="system", summary="Lists inbound subscriptions.")
def show_subscriptions_inbound(session: Session, action: ReceivedAction) -> None:
    session.send_list(
        action, "Following are Events for each inbound Subscription", [], "InboundSubscriptionDetailComplete"
    )


@handler("PJSIPShowSubscriptionsOutbound", privilege="system", summary="Lists outbound subscriptions.")
def show_subscriptions_outbound(session: Session, action: ReceivedAction) -> None:
    session.send_list(
        action,
        "Following are Events for each outbound Subscription",
        [],
        "OutboundSubscriptionDetailComplete",
    )


@handler(
    "PJSIPShowResourceLists", privilege="system", summary="Displays settings for configured resource lists."
)
def show_resource_lists(session: Session, action: ReceivedAction) -> None:
    _error_with_newline(session, action, "No resource lists found")


# -- res/res_pjsip_notify.c ------------------------------------------------------------------------

# The asterisk/asterisk copy stored for reading predates the Channel and Option
# parameters Asterisk 22 documents; these answers follow manager_notify in a fork
# of current Asterisk (7kas/GABPBX77), which has both. No pjsip_notify.conf type is
# configured, so every Option names an unknown type.
NOTIFY_NEEDS_ONE = "PJSIPNotify requires either an endpoint name, a SIP URI, or a channel."


@handler(
    "PJSIPNotify",
    privilege="system",
    summary="Send a NOTIFY to either an endpoint, an arbitrary URI, or inside a SIP dialog.",
)
def notify(session: Session, action: ReceivedAction) -> None:
    endpoint, uri, channel = (action.get(name) for name in ("Endpoint", "URI", "Channel"))
    option, variables = action.get("Option"), action.get("Variable")
    if bool(option) == bool(variables):
        # Asterisk's two string literals meet with no space between them.
        session.error(
            action, "PJSIPNotify requires either an Option or Variable(s).You must use only one of them."
        )
    elif sum(1 for value in (endpoint, uri, channel) if value) > 1:
        session.error(action, f"{NOTIFY_NEEDS_ONE}  You must use only one of them.")
    elif (endpoint or uri) and option:
        _error_with_newline(session, action, f"Unable to find notify type '{option}'")
    elif endpoint:
        name = _strip_prefix(_strip_prefix(endpoint, "sip/"), "pjsip/")
        session.error(action, f"Unable to retrieve endpoint {name}")
    elif uri:
        # A NOTIFY to a URI needs no configured object: it is sent.
        session.reply(action, "Success", [("Message", "NOTIFY sent")])
    elif channel:
        session.error(action, "Channel not found")
    else:
        session.error(action, NOTIFY_NEEDS_ONE)


# -- channels/pjsip/dialplan_functions.c (pjsip_action_hangup) ------------------------------------


# main/manager.c's ast_manager_hangup_helper answers, as for Hangup; the PJSIP
# handler it calls only logs "Not a PJSIP channel" for the channels modelled here,
# so none is hung up. The privilege is chan_pjsip.c's registration, read in the
# fork named above (the stored asterisk/asterisk copy predates the action).
@handler(
    "PJSIPHangup",
    privilege="system,call",
    summary="Hangup an incoming PJSIP channel with a SIP response code",
)
def hangup(session: Session, action: ReceivedAction) -> None:
    channel = action.get("Channel")
    if not channel:
        session.error(action, "No channel specified")
        return
    pbx = session.world.pbx
    if len(channel) > 1 and channel.startswith("/") and channel.endswith("/"):
        try:
            pattern = compile_pattern(channel[1:-1])
            names = pattern.select(pbx.channels)  # too costly: answered as a bad regex
        except ValueError:
            session.error(action, "Invalid regex")
            return
        items: list[Pairs] = [[("Event", "ChannelHungup"), *aid(action), ("Channel", name)] for name in names]
        session.send_list(action, "Channels hung up will follow", items, "ChannelsHungupListComplete")
        return
    if channel not in pbx.channels:
        session.error(action, "No such channel")
        return
    session.reply(action, "Success", [("Message", "Channel Hungup")])


# -- res/res_pjsip_maintenance.c ----------------------------------------------------------------------


@handler(
    "PJSIPSetMaintenance",
    privilege="system",
    summary="Enable or disable maintenance mode for a PJSIP endpoint.",
)
def set_maintenance(session: Session, action: ReceivedAction) -> None:
    endpoint, state = action.get("Endpoint"), action.get("State")
    if not endpoint:
        session.error(action, "Endpoint parameter missing")
        return
    if not state:
        session.error(action, "State parameter missing")
        return
    if state.lower() not in ("on", "off"):
        session.error(action, "State must be 'on' or 'off'")
        return
    if endpoint.lower() == "all":
        # No endpoint changes, so no PJSIPMaintenanceStatus event; the ack is sent all the same.
        word = "enabled" if state.lower() == "on" else "disabled"
        session.reply(action, "Success", [("Message", f"Maintenance mode {word} for all endpoints")])
        return
    session.error(action, f"Endpoint '{endpoint}' not found")


@handler(
    "PJSIPShowMaintenance",
    privilege="system,reporting",
    summary="Show maintenance mode status for PJSIP endpoints.",
)
def show_maintenance(session: Session, action: ReceivedAction) -> None:
    endpoint = action.get("Endpoint")
    # A named endpoint is reported whether or not it exists: it is just not in maintenance.
    items: list[Pairs] = (
        [[("Event", "PJSIPMaintenanceStatus"), *aid(action), ("Endpoint", endpoint), ("Status", "disabled")]]
        if endpoint
        else []
    )
    session.send_list(action, "Maintenance status events follow", items, "PJSIPMaintenanceStatusComplete")

"""System actions: modules, reloads, the logger, states, and the subsystems this PBX has nothing in.

The answers are those of the ``all_actions`` recording (a real Asterisk 22 built
without PJSIP, with no agents, FAX sessions, IAX peers, sorcery memory caches or
dialplan hints configured). Where the recording shows only one branch, the
others follow Asterisk's source, named at each handler.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from amiproto import ReceivedAction, format_message

from .._events import make_event
from .._states import LOADED_MODULES, RELOADABLE
from ._registry import handler
from ._replies import Pairs, aid, response

if TYPE_CHECKING:
    from .._calls import Channel
    from .._session import Session

__all__: list[str] = []

# Core subsystems ast_module_reload() knows by name besides modules (main/loader.c).
_BUILTIN_RELOADS = frozenset({"acl", "cdr", "cel", "dnsmgr", "enum", "extconfig", "features", "http"})
_BUILTIN_RELOADS |= {"indications", "logger", "manager", "plc", "sounds", "udptl"}

_RELOAD_OK, _NOT_FOUND, _NOT_IMPLEMENTED = "ok", "not found", "not implemented"


def _module_name(text: str) -> str:
    """A module name as the loader compares it: without ``.so``, case folded."""
    name = text.strip().lower()
    return name.removesuffix(".so")


def _reload(session: Session, module: str) -> str:
    """Reload one module, or all when ``module`` is empty; a Reload event tells of success."""
    name = _module_name(module)
    if name and name not in _BUILTIN_RELOADS:
        if name not in session.world.modules:
            return _NOT_FOUND
        if name not in RELOADABLE:
            return _NOT_IMPLEMENTED
    # Status 0 is AST_MODULE_RELOAD_SUCCESS; the event names the module as asked.
    pairs = [("Module", module or "All"), ("Status", "0")]
    session.world.emit(make_event("Reload", "system,all", pairs))
    return _RELOAD_OK


@handler("ModuleCheck", privilege="system", summary="Check if module is loaded.")
def module_check(session: Session, action: ReceivedAction) -> None:
    if _module_name(action.get("Module") or "") not in session.world.modules:
        session.error(action, "Module not loaded")
        return
    # Asterisk kept the header when its file versions went away: always empty.
    session.reply(action, "Success", [("Version", "")])


@handler("ModuleLoad", privilege="system", summary="Module management.")
def module_load(session: Session, action: ReceivedAction) -> None:
    # main/manager.c (manager_moduleload): the two first checks do not return, so a
    # call without LoadType is answered twice, as the recording shows.
    module = action.get("Module") or ""
    load_type = (action.get("LoadType") or "").lower()
    if not load_type:
        session.error(action, "Incomplete ModuleLoad action.")
    if not module and load_type != "reload":
        session.error(action, "Need module name")
    modules = session.world.modules
    name = _module_name(module)
    if load_type == "load":
        # An already running module is declined, as is a file that is not there.
        if name in LOADED_MODULES and name not in modules:
            modules.add(name)
            session.reply(action, "Success", [("Message", "Module loaded.")])
        else:
            session.error(action, "Could not load module.")
    elif load_type == "unload":
        if name in modules:
            modules.discard(name)
            session.reply(action, "Success", [("Message", "Module unloaded.")])
        else:
            session.error(action, "Could not unload module.")
    elif load_type == "refresh":
        if name in modules:
            session.reply(action, "Success", [("Message", "Module unloaded and loaded.")])
        else:
            session.error(action, "Could not refresh module.")
    elif load_type == "reload":
        result = _reload(session, module)
        if result == _NOT_FOUND:
            session.error(action, "No such module.")
        elif result == _NOT_IMPLEMENTED:
            session.error(action, "Module does not support reload action.")
        else:
            message = "Module reloaded." if module else "All modules reloaded"
            session.reply(action, "Success", [("Message", message)])
    else:
        session.error(action, "Incomplete ModuleLoad action.")


@handler("Reload", privilege="system,config", summary="Send a reload event.")
def reload(session: Session, action: ReceivedAction) -> None:
    # main/manager.c (action_reload): its own wording, not ModuleLoad's.
    result = _reload(session, action.get("Module") or "")
    if result == _NOT_FOUND:
        session.error(action, "No such module")
    elif result == _NOT_IMPLEMENTED:
        session.error(action, "Module does not support reload")
    else:
        session.reply(action, "Success", [("Message", "Module Reloaded")])


@handler("LoggerRotate", privilege="system,reporting", summary="Reload and rotate the Asterisk logger.")
def logger_rotate(session: Session, action: ReceivedAction) -> None:
    session.reply(action, "Success", [("Message", "Reloaded the logger and rotated log files")])


# -- WaitEvent ---------------------------------------------------------------------

_POLL = 0.05  # how often a waiting WaitEvent looks for input from its client


@handler("WaitEvent", privilege=None, summary="Wait for an event to occur.")
def wait_event(session: Session, action: ReceivedAction) -> None:
    # main/manager.c (action_waitevent): an AMI session checks for new events, then
    # waits up to a second for input, Timeout times (forever when -1, the default).
    # The events that came meanwhile follow the response, then WaitEventComplete.
    timeout = _scan_int(action.get("Timeout") or "")
    timeout = -1 if timeout is None or timeout < -1 else timeout
    session.hold()
    session.world.pbx.schedule(_wait(session, action, timeout))


def _wait(session: Session, action: ReceivedAction, timeout: int) -> Generator[float, None, None]:
    second = 0
    while timeout < 0 or second < timeout:
        if session.closing or session.events_held:
            break
        waited = 0.0
        while waited < 1.0 and not session.actions_waiting and not session.closing:
            yield _POLL
            waited += _POLL
        if session.actions_waiting:
            break
        second += 1
    if session.closing:
        return
    session.reply(action, "Success", [("Message", "Waiting for Event completed.")])
    session.release(format_message([("Event", "WaitEventComplete"), *aid(action)]))


def _scan_int(text: str) -> int | None:
    """What C's ``sscanf(text, "%i")`` reads for a decimal number; None without a digit."""
    body = text.lstrip()
    sign = -1 if body[:1] == "-" else 1
    digits = body[1:] if body[:1] in "+-" and body else body
    count = len(digits) - len(digits.lstrip("0123456789"))
    return sign * int(digits[:count]) if count else None


# -- states --------------------------------------------------------------------------


@handler("ExtensionState", privilege="call,reporting", summary="Check Extension Status.")
def extension_state(session: Session, action: ReceivedAction) -> None:
    exten = action.get("Exten")
    if not exten:
        session.error(action, "Extension not specified")
        return
    # The dialplan has no hints, so every extension's state is unknown (-1).
    pairs: Pairs = [
        ("Message", "Extension Status"),
        ("Exten", exten),
        ("Context", action.get("Context") or "default"),
        ("Hint", ""),
        ("Status", "-1"),
        ("StatusText", "Unknown"),
    ]
    session.reply(action, "Success", pairs)


@handler("ExtensionStateList", privilege="call,reporting", summary="List the current known extension states.")
def extension_state_list(session: Session, action: ReceivedAction) -> None:
    session.error(action, "No dialplan hints are available")


@handler("DeviceStateList", privilege="call,reporting", summary="List the current known device states.")
def device_state_list(session: Session, action: ReceivedAction) -> None:
    items: list[Pairs] = [
        [("Event", "DeviceStateChange"), *aid(action), ("Device", device), ("State", state)]
        for device, state in session.world.device_states.items()
    ]
    session.send_list(action, "Device State Changes will follow", items, "DeviceStateListComplete")


@handler("PresenceState", privilege="call,reporting", summary="Check Presence State")
def presence_state(session: Session, action: ReceivedAction) -> None:
    provider = action.get("Provider")
    if not provider:
        session.error(action, "No provider specified")
        return
    # main/manager.c (action_presencestate) and funcs/func_presencestate.c: only the
    # CustomPresence provider exists; its state is what the AstDB holds, not_set if nothing.
    label, _, name = provider.partition(":")
    if label.lower() != "custompresence" or not name:
        session.error(action, f"Invalid provider {provider} or provider in invalid state")
        return
    stored = session.world.db.get(("CustomPresence", name), "")
    state, _, rest = stored.partition(",")
    subtype, _, message = rest.partition(",")
    pairs: Pairs = [("Message", "Presence State"), ("State", state or "not_set")]
    if subtype:
        pairs.append(("Subtype", subtype))
    if message:
        pairs.append(("Message", message))
    session.reply(action, "Success", pairs)


@handler("PresenceStateList", privilege="call,reporting", summary="List the current known presence states.")
def presence_state_list(session: Session, action: ReceivedAction) -> None:
    # Only published presence changes are cached, and nothing here publishes one.
    session.send_list(action, "Presence State Changes will follow", [], "PresenceStateListComplete")


@handler(
    "CoreShowChannelMap",
    privilege="system,reporting",
    summary="List all channels connected to the specified channel.",
)
def core_show_channel_map(session: Session, action: ReceivedAction) -> None:
    # main/manager.c (action_coreshowchannelmap): the channels bridged with this one,
    # and through each Local channel met, its other half and what that half is bridged with.
    name = action.get("Channel")
    if not name:
        _error_ending_in_newline(session, action, "CoreShowChannelMap requires a channel.")
        return
    pbx = session.world.pbx
    start = pbx.channels.get(name)
    if start is None:
        _error_ending_in_newline(session, action, "Could not get channel snapshot")
        return
    connected: list[str] = []
    _connect(start, pbx.channels, pbx.bridges, connected, {start.name})
    items: list[Pairs] = [
        [("Event", "CoreShowChannelMap"), *aid(action), ("Channel", name), ("ConnectedChannel", other)]
        for other in connected
    ]
    session.send_list(action, "Channel map will follow", items, "CoreShowChannelMapComplete")


def _connect(
    chan: Channel,
    channels: dict[str, Channel],
    bridges: dict[str, list[Channel]],
    found: list[str],
    seen: set[str],
) -> None:
    for peer in bridges.get(chan.bridge_id, []) if chan.bridge_id else []:
        if peer.name in seen:
            continue
        seen.add(peer.name)
        found.append(peer.name)
        if not peer.name.startswith("Local"):
            continue
        other = channels.get(peer.name[:-1] + ("2" if peer.name.endswith("1") else "1"))
        if other is None or other.name in seen:
            continue
        seen.add(other.name)
        found.append(other.name)
        _connect(other, channels, bridges, found, seen)


# -- subsystems with nothing configured ----------------------------------------------


@handler("Agents", privilege="agent", summary="Lists agents and their status.")
def agents(session: Session, action: ReceivedAction) -> None:
    session.send_list(action, "Agents will follow", [], "AgentsComplete")


@handler("AgentLogoff", privilege="agent", summary="Sets an agent as no longer logged in.")
def agent_logoff(session: Session, action: ReceivedAction) -> None:
    session.error(action, "No such agent" if action.get("Agent") else "No agent specified")


@handler("FAXSessions", privilege="call", summary="Lists active FAX sessions")
def fax_sessions(session: Session, action: ReceivedAction) -> None:
    # res_fax.c spells this list's start "Start", and its end carries a Total.
    head = response(
        action, "Success", [("EventList", "Start"), ("Message", "FAXSessionsEntry event list will follow")]
    )
    tail = [("Event", "FAXSessionsComplete"), *aid(action)]
    tail += [("EventList", "Complete"), ("ListItems", "0"), ("Total", "0")]
    session.answer([head, format_message(tail)], is_list=True)


@handler(
    "FAXSession", privilege="call", summary="Responds with a detailed description of a single FAX session"
)
def fax_session(session: Session, action: ReceivedAction) -> None:
    number = _scan_int(action.get("SessionNumber") or "")
    session.error(action, "Invalid session ID" if number is None else "Session not found")


@handler("FAXStats", privilege="reporting", summary="Responds with fax statistics")
def fax_stats(session: Session, action: ReceivedAction) -> None:
    head = response(action, "Success", [("Message", "FAXStats event will follow")])
    counters = ["CurrentSessions", "ReservedSessions", "TransmitAttempts", "ReceiveAttempts"]
    counters += ["CompletedFAXes", "FailedFAXes"]
    event = [("Event", "FAXStats"), *aid(action), *((counter, "0") for counter in counters)]
    session.answer([head, format_message(event)])


@handler("IAXpeers", privilege="system,reporting", summary="List IAX peers.")
def iax_peers(session: Session, action: ReceivedAction) -> None:
    session.send_list(action, "Peer status list will follow", [], "PeerlistComplete")


@handler("IAXpeerlist", privilege="system,reporting", summary="List IAX Peers.")
def iax_peer_list(session: Session, action: ReceivedAction) -> None:
    session.send_list(action, "IAX Peer status list will follow", [], "PeerlistComplete")


@handler("IAXnetstats", privilege="system,reporting", summary="Show IAX Netstats.")
def iax_netstats(session: Session, action: ReceivedAction) -> None:
    # chan_iax2.c writes one line per call and an empty line, with no Response
    # (and so no ActionID): with no IAX calls, a bare empty line.
    session.answer([b"\r\n"])


@handler("IAXregistry", privilege="system,reporting", summary="Show IAX registrations.")
def iax_registry(session: Session, action: ReceivedAction) -> None:
    session.send_list(action, "Registrations will follow", [], "RegistrationsComplete")


@handler("MessageSend", privilege="message", summary="Send an out of call message to an endpoint.")
def message_send(session: Session, action: ReceivedAction) -> None:
    # main/message.c (action_messagesend): no message technology is loaded here
    # (PJSIP and XMPP are not built), so any address names an unknown one.
    if not action.get("Destination") and not action.get("To"):
        session.error(action, "No 'To' address specified.")
        return
    session.error(action, "Message technology not found.")


def _error_ending_in_newline(session: Session, action: ReceivedAction, message: str) -> None:
    """An error whose message ends in a bare LF, sent as Asterisk sends it (it cannot be a header value)."""
    head = format_message([("Response", "Error"), *aid(action)])[:-2]
    session.answer([head + b"Message: " + message.encode() + b"\n\r\n\r\n"])


def _sorcery(name: str, *, needs_object: bool) -> None:
    """Register a SorceryMemoryCache action: no cache is configured, so each ends in an error."""

    def run(session: Session, action: ReceivedAction) -> None:
        # res/res_sorcery_memory_cache.c: these messages end in a newline of their own.
        if not action.get("Cache"):
            message = f"{name} requires that a cache name be provided."
        elif needs_object and not action.get("Object"):
            message = f"{name} requires that an object name be provided"
        else:
            message = "The provided cache does not exist"
        _error_ending_in_newline(session, action, message)

    handler(name, privilege="system", summary=_SORCERY_SUMMARIES[name])(run)


_SORCERY_SUMMARIES = {
    "SorceryMemoryCacheExpire": "Expire (remove) ALL objects from a sorcery memory cache.",
    "SorceryMemoryCacheExpireObject": "Expire (remove) an object from a sorcery memory cache.",
    "SorceryMemoryCachePopulate": (
        "Expire all objects from a memory cache and populate it with all objects from the backend."
    ),
    "SorceryMemoryCacheStale": "Marks ALL objects in a sorcery memory cache as stale.",
    "SorceryMemoryCacheStaleObject": "Mark an object in a sorcery memory cache as stale.",
}
for _name in _SORCERY_SUMMARIES:
    _sorcery(_name, needs_object=_name.endswith("Object"))

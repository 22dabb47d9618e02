"""One AMI connection, sans-IO: bytes in, bytes out, time passed in.

Actions are framed and parsed by the core's ``ServerConnection``; every reply is
written with ``format_message``. Texts, header order and event shapes follow
the Asterisk 22 recordings in ``shared/recordings``.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import deque
from collections.abc import Callable

from amiproto import ConnectionClosed, ReceivedAction, RemoteProtocolError, ServerConnection, format_message

from ._calls import DIALPLAN, QUEUE_MEMBER, Channel, bridge_headers, channel_headers
from ._conffiles import lookup
from ._config import User, parse_classes
from ._confparse import Category, ConfigSyntaxError, parse_config, select_categories
from ._events import OutEvent, make_event
from ._world import Fault, World

__all__ = ["Session"]

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
REPLAY_BATCH = 256 * 1024

Pairs = list[tuple[str, str]]

# name -> (write classes needed or None for none, description), from the recorded ListCommands.
ACTIONS: dict[str, tuple[str | None, str]] = {
    "BridgeList": (None, "Get a list of bridges in the system."),
    "Challenge": (None, "Generate Challenge for MD5 Auth."),
    "Command": ("command", "Execute Asterisk CLI Command."),
    "CoreSettings": ("system,reporting", "Show PBX core settings (version etc)."),
    "CoreShowChannels": ("system,reporting", "List currently active channels."),
    "CoreStatus": ("system,reporting", "Show PBX core status variables."),
    "DBDel": ("system", "Delete DB entry."),
    "DBGet": ("system,reporting", "Get DB Entry."),
    "DBPut": ("system", "Put DB entry."),
    "Events": (None, "Control Event Flow."),
    "Filter": ("system", "Dynamically add filters for the current manager session."),
    "GetConfig": ("system,config", "Retrieve configuration."),
    "Getvar": ("call,reporting", "Gets a channel variable or function value."),
    "Hangup": ("system,call", "Hangup channel."),
    "ListCategories": ("config", "List categories in configuration file."),
    "ListCommands": (None, "List available manager commands."),
    "Login": (None, "Login Manager."),
    "Logoff": (None, "Logoff Manager."),
    "Originate": ("originate", "Originate a call."),
    "Ping": (None, "Keepalive command."),
    "QueueStatus": (None, "Show queue status."),
    "QueueSummary": (None, "Show queue summary."),
    "Setvar": ("call", "Sets a channel variable or function value."),
    "ShowDialPlan": ("config,reporting", "Show dialplan contexts and extensions"),
    "Status": ("system,call,reporting", "List channel status."),
    "UserEvent": ("user", "Send an arbitrary event."),
}
_BY_LOWER = {name.lower(): name for name in ACTIONS}
_PRE_LOGIN = frozenset({"login", "challenge", "logoff"})
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})

CHANNELS_HEADER = (
    "Channel                                                          Location                         "
    "State   Application(Data)             "
)


class Session:
    """The server side of one client connection."""

    def __init__(
        self,
        world: World,
        now: float,
        *,
        local: tuple[str, int] = ("127.0.0.1", 5038),
        remote: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.world = world
        self.local = local
        self.remote = remote
        self.session_id = world.new_session_id()
        self.connected_at = now
        self.user: User | None = None
        self.fault: Fault | None = None
        """A fault for this connection only; it wins over the simulator's."""
        self.closing = False
        """Set when the connection should close once what is queued has been written."""
        self._server = ServerConnection()
        self._out: list[bytes] = [GREETING]
        self._mask: frozenset[str] = frozenset()
        self._filters: list[tuple[bool, re.Pattern[str]]] = []
        self._challenge: str | None = None
        self._held: list[bytes] | None = None  # events held back during a synchronous Originate
        self._queued: deque[ReceivedAction] = deque()
        self._spent: set[int] = set()  # one-shot faults already fired here (by id)
        self._stalled = False
        self._replay_pos = 0
        self._replay_start: float | None = None
        self._now = now
        world.sessions.add(self)

    # -- the runner's side ---------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the client (``b""`` at end of file); replies queue up for ``data_to_send``."""
        self._now = now
        if self.closing:
            return
        try:
            self._server.receive_data(data)
        except RemoteProtocolError:
            self.closing = True
            return
        while not self.closing:
            try:
                item = self._server.next_action()
            except RemoteProtocolError:
                self.closing = True
                break
            if isinstance(item, ConnectionClosed):
                self.closing = True
                break
            if not isinstance(item, ReceivedAction):
                break
            if self._held is not None:
                self._queued.append(item)
            else:
                self._handle(item)
            self.world.dispatch()

    def data_to_send(self, now: float, limit: int = REPLAY_BATCH) -> bytes:
        """Everything queued, plus up to ``limit`` bytes of replayed events that are due."""
        self._now = now
        out = self._out
        if self._replay_start is not None and not self.closing:
            out.append(self._replay_slice(now, limit))
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        if self._active_fault("bare_lf") is not None:
            data = data.replace(b"\r\n", b"\n")
        return data

    def wants_write(self, now: float) -> bool:
        """Whether ``data_to_send(now)`` would return bytes."""
        if self._out:
            return True
        return self._replay_due(now) > self._replay_pos

    def next_deadline(self) -> float | None:
        """When more replayed events become due (rate-limited replay only)."""
        rate = self.world.replay_rate
        start = self._replay_start
        if start is None or rate is None or self.world.replay is None:
            return None
        if self._replay_pos >= len(self.world.replay):
            return None
        return start + (self._replay_pos + 1) / rate

    def connection_lost(self) -> None:
        """The socket is gone: forget this session."""
        self.closing = True
        self.world.sessions.discard(self)

    # -- events ----------------------------------------------------------------

    def deliver(self, event: OutEvent) -> None:
        """Queue an event if this client is logged in and its mask and filters let it through."""
        if self.user is None or self.closing or self._stalled:
            return
        if not (event.classes & self._mask):
            return
        if self._filters and not self._passes(event.text):
            return
        if self._held is not None:
            self._held.append(event.raw)
        else:
            self._out.append(event.raw)

    def _passes(self, text: str) -> bool:
        includes = [pattern for keep, pattern in self._filters if keep]
        if includes and not any(pattern.search(text) for pattern in includes):
            return False
        return not any(pattern.search(text) for keep, pattern in self._filters if not keep)

    # -- replay ----------------------------------------------------------------

    def _replay_due(self, now: float) -> int:
        recording = self.world.replay
        start = self._replay_start
        if recording is None or start is None or self._stalled:
            return 0
        rate = self.world.replay_rate
        if rate is None:
            return len(recording)
        return min(len(recording), int((now - start) * rate))

    def _replay_slice(self, now: float, limit: int) -> bytes:
        recording = self.world.replay
        assert recording is not None
        due = self._replay_due(now)
        pos = self._replay_pos
        if due <= pos:
            return b""
        offsets = recording.offsets
        end = pos
        ceiling = offsets[pos] + limit
        while end < due and offsets[end + 1] <= ceiling:
            end += 1
        end = max(end, pos + 1)
        self._replay_pos = end
        if not self._filters and self._mask >= _EVERY_EVENT_CLASS:
            return recording.blob[offsets[pos] : offsets[end]]
        # Slow path: honour the mask and filters event by event.
        kept = []
        for index in range(pos, end):
            if recording.classes[index] & self._mask and (
                not self._filters or self._passes(recording.text(index))
            ):
                kept.append(recording.blob[offsets[index] : offsets[index + 1]])
        return b"".join(kept)

    # -- answers and faults ------------------------------------------------------

    def _active_fault(self, kind: str) -> Fault | None:
        fault = self.fault or self.world.fault
        if fault is None or fault.kind != kind:
            return None
        if fault.one_shot and id(fault) in self._spent:
            return None
        return fault

    def _answer(self, messages: list[bytes], *, is_list: bool = False) -> None:
        """Queue the reply to one action, misbehaving first if a fault says so."""
        if self.closing or self._stalled:
            return
        if self._active_fault("stall") is not None:
            self._stalled = True
            return
        garbage = self._active_fault("garbage")
        if garbage is not None:
            self._out.append(bytes(garbage.options.get("data", b"\x00\xffgarbage line\r\n\r\n")))
        fault = self._active_fault("oversized")
        if fault is not None:
            self._spent.add(id(fault))
            messages = [_oversized(int(fault.options["size"]))]
        fault = self._active_fault("cut_at_eof")
        if fault is not None:
            self._spent.add(id(fault))
            data = b"".join(messages)
            self._out.append(data[: max(1, len(data) // 2)])
            self.closing = True
            return
        fault = self._active_fault("close_mid_list") if is_list else None
        if fault is not None:
            self._spent.add(id(fault))
            self._out.extend(messages[:2])
            self.closing = True
            return
        self._out.extend(messages)

    def _reply(self, action: ReceivedAction, status: str, pairs: Pairs) -> None:
        self._answer([_response(action, status, pairs)])

    def _error(self, action: ReceivedAction, message: str) -> None:
        self._reply(action, "Error", [("Message", message)])

    def _send_list(
        self,
        action: ReceivedAction,
        message: str,
        items: list[Pairs],
        complete: str,
        extra: Pairs | None = None,
    ) -> None:
        head = _response(action, "Success", [("EventList", "start"), ("Message", message)])
        messages = [head]
        messages += [format_message(item) for item in items]
        tail: Pairs = [("Event", complete)]
        tail += _aid(action)
        tail += [("EventList", "Complete"), ("ListItems", str(len(items))), *(extra or [])]
        messages.append(format_message(tail))
        self._answer(messages, is_list=True)

    # -- actions ---------------------------------------------------------------

    def _handle(self, action: ReceivedAction) -> None:
        raw_name = action.name
        lowered = raw_name.lower()
        if not raw_name:
            self._error(action, "Missing action in request")
            return
        if self.user is None and lowered not in _PRE_LOGIN:
            self._error(action, "Permission denied")
            return
        name = _BY_LOWER.get(lowered)
        if name is None:
            self._error(
                action,
                f"Invalid/unknown command: {raw_name}. Use Action: ListCommands to show available commands.",
            )
            self._security_event(
                "RequestBadFormat", "Error", [("RequestType", f"Action: {raw_name}")], after=True
            )
            return
        needed = ACTIONS[name][0]
        if needed is not None and self.user is not None and not (self.user.write & parse_classes(needed)):
            self._error(action, "Permission denied")
            return
        handler: Callable[[ReceivedAction], None] = getattr(self, "_do_" + name.lower())
        handler(action)

    def _do_ping(self, action: ReceivedAction) -> None:
        stamp = f"{self.world.wall(self._now):.6f}"
        self._reply(action, "Success", [("Ping", "Pong"), ("Timestamp", stamp)])

    def _do_logoff(self, action: ReceivedAction) -> None:
        self._reply(action, "Goodbye", [("Message", "Thanks for all the fish.")])
        self.closing = True

    def _do_challenge(self, action: ReceivedAction) -> None:
        if (action.get("AuthType") or "").strip().lower() != "md5":
            self._error(action, "Must specify AuthType")
            return
        if self._challenge is None:
            self._challenge = str(random.randint(100_000_000, 999_999_999))
        self._reply(action, "Success", [("Challenge", self._challenge)])

    def _do_login(self, action: ReceivedAction) -> None:
        if self.user is not None:
            self._reply(action, "Success", [("Message", "Already authenticated")])
            return
        user = self.world.users.get(action.get("Username") or "")
        ok = False
        if user is not None:
            key = action.get("Key")
            if (action.get("AuthType") or "").lower() == "md5" and key is not None:
                if self._challenge is not None:
                    expected = hashlib.md5((self._challenge + user.secret).encode()).hexdigest()
                    ok = key.strip().lower() == expected
            else:
                ok = action.get("Secret") == user.secret
        if user is None or not ok:
            self._error(action, "Authentication failed")
            self.closing = True
            return
        self.user = user
        self._mask = _event_mask(action.get("Events"), user)
        self._reply(action, "Success", [("Message", "Authentication accepted")])
        uptime = str(int(self._now - self.world.start))
        fully = [("Uptime", uptime), ("LastReload", uptime), ("Status", "Fully Booted")]
        self.deliver(make_event("FullyBooted", "system,all", fully))
        self._security_event("SuccessfulAuth", "Informational", [("UsingPassword", "0")])
        if self.world.replay is not None:
            self._replay_start = self._now

    def _security_event(self, name: str, severity: str, extra: Pairs, *, after: bool = False) -> None:
        now = _event_tv(self.world.wall(self._now))
        user = self.user.name if self.user is not None else ""
        pairs: Pairs = [("EventTV", now), ("Severity", severity), ("Service", "AMI"), ("EventVersion", "1")]
        if not after:
            pairs.append(("AccountID", user))
        pairs += [
            ("SessionID", self.session_id),
            ("LocalAddress", f"IPV4/TCP/{self.local[0]}/{self.local[1]}"),
            ("RemoteAddress", f"IPV4/TCP/{self.remote[0]}/{self.remote[1]}"),
        ]
        pairs += [*extra, ("SessionTV", _event_tv(self.world.wall(self.connected_at)))]
        if after:
            # Events about a bad request name the account last, as the recordings show.
            pairs.append(("AccountID", user))
        self.world.emit(make_event(name, "security,all", pairs))

    def _do_events(self, action: ReceivedAction) -> None:
        assert self.user is not None
        self._mask = _event_mask(action.get("EventMask"), self.user)
        self._reply(action, "Success", [("Events", "On" if self._mask else "Off")])

    def _do_filter(self, action: ReceivedAction) -> None:
        if (action.get("Operation") or "").strip().lower() != "add":
            self._error(action, "Unknown operation")
            return
        text = action.get("Filter") or ""
        keep = not text.startswith("!")
        try:
            pattern = re.compile(text if keep else text[1:])
        except re.error:
            self._error(action, "Filter Not Added")
            return
        self._filters.append((keep, pattern))
        self._reply(action, "Success", [("Message", "Success")])

    def _do_listcommands(self, action: ReceivedAction) -> None:
        pairs = [
            (name, f"{text}  (Priv: {needed + ',all' if needed else '<none>'})")
            for name, (needed, text) in sorted(ACTIONS.items(), key=lambda item: item[0].lower())
        ]
        self._reply(action, "Success", pairs)

    def _do_command(self, action: ReceivedAction) -> None:
        command = " ".join((action.get("Command") or "").split())
        seconds = self._now - self.world.start
        pbx = self.world.pbx
        if command in ("core show uptime", "core show uptime seconds"):
            # Asterisk loads once here, so the last reload is the start.
            uptime = str(int(max(seconds, 0))) if command.endswith("seconds") else _duration_words(seconds)
            lines = [f"System uptime: {uptime}", f"Last reload: {uptime}"]
        elif command == "core show version":
            lines = ["Asterisk UNKNOWN__and_probably_unsupported built by amiproto-simulator"]
        elif command == "core show channels":
            lines = [CHANNELS_HEADER]
            for chan in pbx.channels.values():
                location = f"{chan.exten}@{chan.context}:{chan.priority}"
                app = f"{chan.application}({chan.app_data})"
                lines.append(f"{chan.name:<64} {location:<32} {_state(chan):<7} {app:<30}")
            count, calls = len(pbx.channels), pbx.active_calls
            lines += [
                f"{count} active channel{'' if count == 1 else 's'}",
                f"{calls} active call{'' if calls == 1 else 's'}",
                f"{pbx.processed_calls} call{'' if pbx.processed_calls == 1 else 's'} processed",
            ]
        else:
            words = command.split(" ")
            hint = " ".join(words[:-1])
            lines = [
                f"No such command '{command}' (type 'core show help {hint}' for other possible commands)"
            ]
            out = [("Message", "Command output follows"), *(("Output", line) for line in lines)]
            self._reply(action, "Error", out)
            return
        out = [("Message", "Command output follows"), *(("Output", line) for line in lines)]
        self._reply(action, "Success", out)

    def _do_coresettings(self, action: ReceivedAction) -> None:
        self._reply(
            action,
            "Success",
            [
                ("AMIversion", "11.0.0"),
                ("AsteriskVersion", "UNKNOWN__and_probably_unsupported"),
                ("SystemName", ""),
                ("CoreMaxCalls", "0"),
                ("CoreMaxLoadAvg", "0.000000"),
                ("CoreRunUser", "root"),
                ("CoreRunGroup", "root"),
                ("CoreMaxFilehandles", "0"),
                ("CoreRealTimeEnabled", "No"),
                ("CoreCDRenabled", "Yes"),
                ("CoreHTTPenabled", "No"),
                ("SoundsSearchCustomDir", "No"),
            ],
        )

    def _do_corestatus(self, action: ReceivedAction) -> None:
        started = time.gmtime(self.world.wall(self.world.start))
        date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
        pbx = self.world.pbx
        self._reply(
            action,
            "Success",
            [
                ("CoreStartupDate", date),
                ("CoreStartupTime", clock),
                ("CoreReloadDate", date),
                ("CoreReloadTime", clock),
                ("CoreCurrentCalls", str(pbx.active_calls)),
                ("CoreProcessedCalls", str(pbx.processed_calls)),
            ],
        )

    def _do_setvar(self, action: ReceivedAction) -> None:
        name = action.get("Variable")
        if not name:
            self._error(action, "No variable specified")
            return
        if not self.world.pbx.setvar(action.get("Channel"), name, action.get("Value") or ""):
            self._error(action, "No such channel")
            return
        self._reply(action, "Success", [("Message", "Variable Set")])

    def _do_getvar(self, action: ReceivedAction) -> None:
        name = action.get("Variable")
        if not name:
            self._error(action, "No variable specified")
            return
        value = self.world.pbx.getvar(action.get("Channel"), name)
        if value is None:
            self._error(action, "No such channel")
            return
        self._reply(action, "Success", [("Variable", name), ("Value", value)])

    def _db_key(self, action: ReceivedAction) -> tuple[str, str] | None:
        family, key = action.get("Family"), action.get("Key")
        if not family:
            self._error(action, "No family specified.")
            return None
        if not key:
            self._error(action, "No key specified.")
            return None
        return family, key

    def _do_dbput(self, action: ReceivedAction) -> None:
        where = self._db_key(action)
        if where is not None:
            # Asterisk reads the value from "Val"; a "Value" header is ignored.
            self.world.db[where] = action.get("Val") or ""
            self._reply(action, "Success", [("Message", "Updated database successfully")])

    def _do_dbget(self, action: ReceivedAction) -> None:
        where = self._db_key(action)
        if where is None:
            return
        value = self.world.db.get(where)
        if value is None:
            self._error(action, "Database entry not found")
            return
        item = [("Event", "DBGetResponse"), ("Family", where[0]), ("Key", where[1]), ("Val", value)]
        head = _response(action, "Success", [("EventList", "start"), ("Message", "Result will follow")])
        tail = [("Event", "DBGetComplete"), *_aid(action), ("EventList", "Complete"), ("ListItems", "1")]
        self._answer([head, format_message(item + _aid(action)), format_message(tail)], is_list=True)

    def _do_dbdel(self, action: ReceivedAction) -> None:
        where = self._db_key(action)
        if where is None:
            return
        if self.world.db.pop(where, None) is None:
            self._error(action, "Database entry not found")
            return
        self._reply(action, "Success", [("Message", "Key deleted successfully")])

    def _do_userevent(self, action: ReceivedAction) -> None:
        name = action.get("UserEvent")
        if not name:
            self._error(action, "Missing UserEvent")
            return
        rest = [(k, v) for k, v in action.headers if k.lower() not in ("action", "userevent")]
        self._reply(action, "Success", [("Message", "Event Sent")])
        self.world.emit(make_event("UserEvent", "user,all", [("UserEvent", name), *rest]))

    def _do_originate(self, action: ReceivedAction) -> None:
        channel = action.get("Channel")
        if not channel:
            self._error(action, "Channel not specified")
            return
        if "/" not in channel:
            self._error(action, "Invalid channel")
            return
        application = action.get("Application")
        exten = action.get("Exten")
        target = None
        if not application:
            if not exten:
                self._error(action, "Exten not specified")
                return
            priority = action.get("Priority") or "1"
            target = (action.get("Context") or "default", exten, int(priority) if priority.isdigit() else 1)
        caller = _caller_id(action.get("CallerID"))
        variables = []
        for value in action.headers.get_all("Variable"):
            for item in value.split(","):
                name, _, val = item.partition("=")
                if name:
                    variables.append((name.strip(), val))
        is_async = (action.get("Async") or "").strip().lower() in _TRUE
        if is_async:
            self._reply(action, "Success", [("Message", "Originate successfully queued")])
        else:
            # A synchronous Originate holds back replies and events until the call is answered or fails.
            self._held = []

        def on_result(success: bool) -> None:
            held, self._held = self._held, None
            if success:
                self._reply(action, "Success", [("Message", "Originate successfully queued")])
            else:
                self._error(action, "Originate failed")
            if held:
                self._out.extend(held)
            while self._queued and self._held is None and not self.closing:
                self._handle(self._queued.popleft())

        self.world.pbx.originate(
            channel,
            application=application,
            data=action.get("Data") or "",
            exten_target=target,
            caller_id=caller,
            variables=variables,
            action_id=action.action_id,
            report=is_async,
            on_result=None if is_async else on_result,
        )

    def _do_hangup(self, action: ReceivedAction) -> None:
        channel = action.get("Channel")
        if not channel:
            self._error(action, "No channel specified")
            return
        cause_text = action.get("Cause") or "16"
        cause = int(cause_text) if cause_text.isdigit() else 16
        pbx = self.world.pbx
        if len(channel) > 1 and channel.startswith("/") and channel.endswith("/"):
            try:
                pattern = re.compile(channel[1:-1])
            except re.error:
                self._error(action, "Invalid regex")
                return
            names = [name for name in pbx.channels if pattern.search(name)]
            items: list[Pairs] = []
            for name in names:
                if name in pbx.channels:
                    pbx.hangup(name, cause)
                items.append([("Event", "ChannelHungup"), *_aid(action), ("Channel", name)])
            self._send_list(action, "Channels hung up will follow", items, "ChannelsHungupListComplete")
            return
        if not pbx.hangup(channel, cause):
            self._error(action, "No such channel")
            return
        self._reply(action, "Success", [("Message", "Channel Hungup")])

    def _channels(self, action: ReceivedAction) -> list[Channel] | None:
        wanted = action.get("Channel")
        channels = list(self.world.pbx.channels.values())
        if wanted:
            channels = [chan for chan in channels if chan.name == wanted]
            if not channels:
                self._error(action, "No such channel")
                return None
        return channels

    def _do_status(self, action: ReceivedAction) -> None:
        channels = self._channels(action)
        if channels is None:
            return
        items = [self._status_item(action, chan) for chan in channels]
        extra = [("Items", str(len(items)))]
        self._send_list(action, "Channel status will follow", items, "StatusComplete", extra)

    def _status_item(self, action: ReceivedAction, chan: Channel) -> Pairs:
        return [
            ("Event", "Status"),
            ("Privilege", "Call"),
            *channel_headers(chan),
            ("Type", "Local"),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", chan.conn_num),
            ("EffectiveConnectedLineName", chan.conn_name),
            ("TimeToHangup", "0"),
            ("BridgeID", chan.bridge_id),
            ("Application", chan.application),
            ("Data", chan.app_data),
            ("Nativeformats", "(slin)"),
            ("Readformat", "slin"),
            ("Readtrans", ""),
            ("Writeformat", "slin"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int(self._now - chan.created))),
            *_aid(action),
        ]

    def _do_coreshowchannels(self, action: ReceivedAction) -> None:
        channels = list(self.world.pbx.channels.values())
        items = [
            [
                ("Event", "CoreShowChannel"),
                *_aid(action),
                *channel_headers(chan),
                ("Application", chan.application),
                ("ApplicationData", chan.app_data),
                ("Duration", _hms(self._now - chan.created)),
                ("BridgeId", chan.bridge_id),
            ]
            for chan in channels
        ]
        self._send_list(action, "Channels will follow", items, "CoreShowChannelsComplete")

    def _do_bridgelist(self, action: ReceivedAction) -> None:
        items = [
            [("Event", "BridgeListItem"), *_aid(action), *bridge_headers(bridge_id, len(members))]
            for bridge_id, members in self.world.pbx.bridges.items()
        ]
        self._send_list(action, "Bridge listing will follow", items, "BridgeListComplete")

    def _do_showdialplan(self, action: ReceivedAction) -> None:
        wanted = action.get("Context")
        if wanted and wanted not in DIALPLAN:
            self._error(action, f"Did not find context {wanted}")
            return
        items: list[Pairs] = []
        extensions = 0
        contexts = [wanted] if wanted else sorted(DIALPLAN)
        for context in contexts:
            for exten, steps in sorted(DIALPLAN[context].items()):
                extensions += 1
                for priority, (app, data) in enumerate(steps, 1):
                    items.append(
                        [
                            ("Event", "ListDialplan"),
                            *_aid(action),
                            ("Context", context),
                            ("Extension", exten),
                            ("Priority", str(priority)),
                            ("Application", app),
                            ("AppData", data),
                            ("Registrar", "pbx_config"),
                        ]
                    )
        extra = [
            ("ListExtensions", str(extensions)),
            ("ListPriorities", str(len(items))),
            ("ListContexts", str(len(contexts))),
        ]
        self._send_list(action, "DialPlan list will follow", items, "ShowDialPlanComplete", extra)

    def _config_file(self, action: ReceivedAction) -> list[Category] | None:
        """The categories of the ``Filename`` asked for, or None after answering the error."""
        filename = action.get("Filename") or ""
        if not filename:
            self._error(action, "Filename not specified")
            return None
        text = lookup(self.world.config_files, filename)
        if text is None:
            self._error(action, "Config file not found")
            return None
        try:
            return parse_config(text)
        except ConfigSyntaxError:
            self._error(action, "Config file has invalid format")
            return None

    def _do_listcategories(self, action: ReceivedAction) -> None:
        categories = self._config_file(action)
        if categories is None:
            return
        selected = select_categories(categories, filter_text=action.get("Match") or "")
        pairs = [(f"Category-{index:06d}", cat.name) for index, cat in enumerate(selected)]
        if not selected:
            pairs = [("Error", "no categories found")]
        self._reply(action, "Success", pairs)

    def _do_getconfig(self, action: ReceivedAction) -> None:
        categories = self._config_file(action)
        if categories is None:
            return
        wanted = action.get("Category") or ""
        selected = select_categories(categories, wanted, action.get("Filter") or "")
        pairs: Pairs = []
        for index, cat in enumerate(selected):
            pairs.append((f"Category-{index:06d}", cat.name))
            pairs += [
                (f"Line-{index:06d}-{line:06d}", f"{name}={value}")
                for line, (name, value) in enumerate(cat.variables)
            ]
        message = _response(action, "Success", pairs)
        if wanted and not selected:
            # Asterisk writes this as a bare line, not a "name: value" header.
            message = message[:-2] + b"No categories found\r\n\r\n"
        self._answer([message])

    def _queue_callers(self) -> int:
        return sum(1 for chan in self.world.pbx.channels.values() if chan.application == "Queue")

    def _do_queuestatus(self, action: ReceivedAction) -> None:
        callers = self._queue_callers()
        params: Pairs = [
            ("Event", "QueueParams"),
            ("Queue", "support"),
            ("Max", "0"),
            ("Strategy", "ringall"),
            ("Calls", str(callers)),
            ("Holdtime", "0"),
            ("TalkTime", "0"),
            ("Completed", "0"),
            ("Abandoned", "0"),
            ("ServiceLevel", "0"),
            ("ServicelevelPerf", "100.0"),
            ("ServicelevelPerf2", "100.0"),
            ("Weight", "0"),
            *_aid(action),
        ]
        member: Pairs = [
            ("Event", "QueueMember"),
            ("Queue", "support"),
            ("Name", QUEUE_MEMBER),
            ("Location", QUEUE_MEMBER),
            ("StateInterface", QUEUE_MEMBER),
            ("Membership", "static"),
            ("Penalty", "0"),
            ("CallsTaken", "0"),
            ("LastCall", "0"),
            ("LastPause", "0"),
            ("LoginTime", str(int(self.world.wall(self.world.start)))),
            ("InCall", "0"),
            ("Status", "1"),
            ("Paused", "0"),
            ("PausedReason", ""),
            ("Wrapuptime", "0"),
            *_aid(action),
        ]
        self._send_list(action, "Queue status will follow", [params, member], "QueueStatusComplete")

    def _do_queuesummary(self, action: ReceivedAction) -> None:
        item: Pairs = [
            ("Event", "QueueSummary"),
            ("Queue", "support"),
            ("LoggedIn", "1"),
            ("Available", "1"),
            ("Callers", str(self._queue_callers())),
            ("HoldTime", "0"),
            ("TalkTime", "0"),
            ("LongestHoldTime", "0"),
            *_aid(action),
        ]
        self._send_list(action, "Queue summary will follow", [item], "QueueSummaryComplete")


# Every class an event in a recording can carry; a mask holding them all skips per-event checks.
_EVERY_EVENT_CLASS = parse_classes("all") - {"all"}


def _aid(action: ReceivedAction) -> Pairs:
    action_id = action.action_id
    return [] if action_id is None else [("ActionID", action_id)]


def _response(action: ReceivedAction, status: str, pairs: Pairs) -> bytes:
    return format_message([("Response", status), *_aid(action), *pairs])


def _oversized(size: int) -> bytes:
    head = b"Response: Success\r\nMessage: "
    tail = b"\r\n\r\n"
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def _event_mask(value: str | None, user: User) -> frozenset[str]:
    readable = user.read - {"all"}
    text = (value or "on").strip().lower()
    if text in ("on", "yes", "true", "1"):
        return readable
    if text in ("off", "no", "false", "0", "none"):
        return frozenset()
    return parse_classes(text) & readable


def _caller_id(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    match = re.fullmatch(r"\s*\"?(.*?)\"?\s*<([^>]*)>\s*", text)
    if match:
        return match.group(1), match.group(2)
    return "<unknown>", text.strip()


def _state(chan: Channel) -> str:
    return {0: "Down", 4: "Ring", 6: "Up"}.get(chan.state, "Unknown")


def _hms(seconds: float) -> str:
    whole = int(max(seconds, 0))
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _duration_words(seconds: float) -> str:
    whole = int(max(seconds, 0))
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if whole >= size:
            count, whole = divmod(whole, size)
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    parts.append(f"{whole} second{'' if whole == 1 else 's'}")
    return ", ".join(parts)


def _event_tv(wall: float) -> str:
    millis = int(wall * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{millis:03d}+0000"

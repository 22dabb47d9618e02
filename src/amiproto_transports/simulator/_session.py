"""One AMI connection, sans-IO: bytes in, bytes out, time passed in.

Actions are framed and parsed by the core's ``ServerConnection``; every reply is
written with ``format_message``. Texts, header order and event shapes follow
the Asterisk 22 recordings in ``shared/recordings``.

The session owns what is per connection: framing, login, the event mask and
filters, faults and replay. The action handlers live by area in ``_actions``
and answer through ``reply``, ``error``, ``send_list`` and ``answer``.

Hostile input gets what Asterisk gives it, never an exception out of here: a
line is cut at its first NUL (Asterisk reads C strings); an over-long line or
too many lines get Asterisk's error once the action ends (see ``_limits``); a
value that cannot be written back (a bare CR in an ActionID) gets an error
answer. A client that does not log in within ``auth_timeout`` is closed, and
one over ``max_unauthenticated`` is closed at once, as Asterisk does.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque

from amiproto import (
    ConnectionClosed,
    LocalProtocolError,
    ReceivedAction,
    RemoteProtocolError,
    ServerConnection,
    format_message,
)
from amiproto._server import GREETING

from ._actions import ACTIONS, handler
from ._actions._replies import Pairs, aid, response
from ._config import User, parse_classes
from ._eventfilter import FilterSet, parse_filter
from ._events import OutEvent, make_event
from ._limits import MARKERS, LineReader
from ._world import Fault, World

__all__ = ["Session"]

REPLAY_BATCH = 256 * 1024
_FEED_SLICE = 64 * 1024  # the framer gets at most this much between two drains

_PRE_LOGIN = frozenset({"login", "challenge", "logoff"})


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
        self._overflowed = False  # over max_output: nothing more is queued
        self.close_reason: str | None = None
        """Why the simulator closed this connection on its own, for the runner's log."""
        limits = world.limits
        self._reader = LineReader(limits)
        self._server = ServerConnection(
            max_message_size=limits.max_message, max_buffer_size=limits.max_message + _FEED_SLICE
        )
        self._out: list[bytes] = [GREETING]
        self._out_size = 0  # this connection's share of world.output_total
        self._resize_output(len(GREETING))
        self._pending_input = 0  # this connection's share of world.input_total
        self._mask: frozenset[str] = frozenset()
        self._filters = FilterSet()
        self._challenge: str | None = None
        self._held: list[bytes] | None = None  # events held back during a synchronous Originate
        self._queued: deque[ReceivedAction] = deque()
        self._spent: set[int] = set()  # one-shot faults already fired here (by id)
        self._stalled = False
        self._replay_pos = 0
        self._replay_start: float | None = None
        self._now = now
        waiting = sum(1 for other in world.sessions if other.user is None and not other.closing)
        if waiting >= limits.max_unauthenticated:
            # As Asterisk over its authlimit: closed before the greeting.
            self._out.clear()
            self._resize_output(0)
            self._close(f"over {limits.max_unauthenticated} connections waiting to log in")
            return
        world.sessions.add(self)

    # -- the runner's side ---------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the client (``b""`` at end of file); replies queue up for ``data_to_send``."""
        self._now = now
        if self.closing:
            return
        lines = self._reader.feed(data) if data else b""
        for start in range(0, len(lines), _FEED_SLICE):
            self._feed(lines[start : start + _FEED_SLICE])
            if self.closing:
                break
        else:
            if not data:
                self._feed(b"")
        self._account_input()

    def _feed(self, data: bytes) -> None:
        try:
            self._server.receive_data(data)
        except RemoteProtocolError:
            self._close("unreadable input")
            return
        while not self.closing:
            try:
                item = self._server.next_action()
            except RemoteProtocolError:
                self._close("unreadable input")
                break
            if isinstance(item, ConnectionClosed):
                self.closing = True
                break
            if not isinstance(item, ReceivedAction):
                break
            if self._held is not None:
                if len(self._queued) >= self.world.limits.max_queued_actions:
                    self._close("too many actions sent during a synchronous Originate")
                    break
                self._queued.append(item)
            else:
                self._handle_safely(item)
            self.world.dispatch()

    def _account_input(self) -> None:
        """Keep the world's total of unfinished input; over its limit, this connection goes."""
        pending = 0 if self.closing else self._reader.pending
        world = self.world
        world.input_total += pending - self._pending_input
        self._pending_input = pending
        if world.input_total > world.limits.max_total_input:
            self._close(f"unfinished input of all connections over {world.limits.max_total_input} bytes")
            world.input_total -= self._pending_input
            self._pending_input = 0

    def _close(self, reason: str) -> None:
        self.closing = True
        if self.close_reason is None:
            self.close_reason = reason

    def expire(self, now: float) -> None:
        """Close the connection if it has not logged in within ``auth_timeout``."""
        timeout = self.world.limits.auth_timeout
        if self.user is None and not self.closing and now >= self.connected_at + timeout:
            self._close(f"no login within {timeout:g} s")

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
        self._resize_output(0)
        if self._active_fault("bare_lf") is not None:
            data = data.replace(b"\r\n", b"\n")
        return data

    def wants_write(self, now: float) -> bool:
        """Whether ``data_to_send(now)`` would return bytes."""
        if self._out:
            return True
        return self._replay_due(now) > self._replay_pos

    def next_deadline(self) -> float | None:
        """When the login time runs out, or more replayed events become due (rate-limited replay)."""
        if self.closing:
            return None
        if self.user is None:
            return self.connected_at + self.world.limits.auth_timeout
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
        self.world.input_total -= self._pending_input
        self._pending_input = 0
        self._out.clear()
        self._resize_output(0)

    # -- events ----------------------------------------------------------------

    def deliver(self, event: OutEvent) -> None:
        """Queue an event if this client is logged in and its mask and filters let it through."""
        if self.user is None or self.closing or self._stalled:
            return
        if not (event.classes & self._mask):
            return
        if self._filters and not self._filters.passes(event.name, event.text):
            return
        if self._held is not None:
            self._held.append(event.raw)
        else:
            self._queue(event.raw)

    def _queue(self, data: bytes) -> None:
        if self._overflowed:
            return  # the rest of an answer that went over: its head is gone, so is its tail
        self._out.append(data)
        self._resize_output(self._out_size + len(data))
        limits = self.world.limits
        if self._out_size > limits.max_output:
            self._abandon(f"over {limits.max_output} bytes waiting to be read")
        elif self.world.output_total > limits.max_total_output:
            self._abandon(f"output waiting for all connections over {limits.max_total_output} bytes")

    def _abandon(self, reason: str) -> None:
        """A client that does not read: drop what waits for it and let it go at once."""
        self._out.clear()
        self._resize_output(0)
        self._overflowed = True
        self._close(reason)

    def _resize_output(self, size: int) -> None:
        self.world.output_total += size - self._out_size
        self._out_size = size

    @property
    def abandoned(self) -> bool:
        """Closed for not reading: the runner drops what it still holds and closes at once."""
        return self._overflowed

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
                not self._filters or self._filters.passes(recording.names[index], recording.text(index))
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

    def answer(self, messages: list[bytes], *, is_list: bool = False) -> None:
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
        for message in messages:
            self._queue(message)

    def reply(self, action: ReceivedAction, status: str, pairs: Pairs) -> None:
        """Queue one ``Response: status`` with ``pairs``."""
        self.answer([response(action, status, pairs)])

    def error(self, action: ReceivedAction, message: str) -> None:
        self.reply(action, "Error", [("Message", message)])

    def send_list(
        self,
        action: ReceivedAction,
        message: str,
        items: list[Pairs],
        complete: str,
        extra: Pairs | None = None,
    ) -> None:
        """Queue a list: the response, one event per item, then the ``complete`` event."""
        head = response(action, "Success", [("EventList", "start"), ("Message", message)])
        messages = [head]
        messages += [format_message(item) for item in items]
        tail: Pairs = [("Event", complete)]
        tail += aid(action)
        tail += [("EventList", "Complete"), ("ListItems", str(len(items))), *(extra or [])]
        messages.append(format_message(tail))
        self.answer(messages, is_list=True)

    # -- actions ---------------------------------------------------------------

    def _handle_safely(self, action: ReceivedAction) -> None:
        """Handle one action as Asterisk would, whatever bytes it holds."""
        if b"\x00" in action.raw:
            marker = next((text for mark, text in MARKERS.items() if mark in action.raw), None)
            action = _cut_at_nul(action)
            if marker is not None:
                self._answer_unwritable(action, marker)
                return
        try:
            self._handle(action)
        except LocalProtocolError:
            # Something the client sent must be echoed and cannot be written (a bare
            # CR in an ActionID or a header name): Asterisk would send it back raw.
            self._answer_unwritable(action, "Failed to parse message: a header holds a bare CR")

    def _answer_unwritable(self, action: ReceivedAction, message: str) -> None:
        try:
            self.error(action, message)
        except LocalProtocolError:
            self.answer([format_message([("Response", "Error"), ("Message", message)])])

    def _handle(self, action: ReceivedAction) -> None:
        raw_name = action.name
        lowered = raw_name.lower()
        if not raw_name:
            self.error(action, "Missing action in request")
            return
        if self.user is None and lowered not in _PRE_LOGIN:
            self.error(action, "Permission denied")
            return
        spec = ACTIONS.get(lowered)
        if spec is None:
            self.error(
                action,
                f"Invalid/unknown command: {raw_name}. Use Action: ListCommands to show available commands.",
            )
            self._security_event(
                "RequestBadFormat", "Error", [("RequestType", f"Action: {raw_name}")], after=True
            )
            return
        if spec.needed is not None and self.user is not None and not (self.user.write & spec.needed):
            self.error(action, "Permission denied")
            return
        spec.run(self, action)

    # -- what handlers may change besides the answer -------------------------------

    @property
    def now(self) -> float:
        """The time of the bytes being handled, on the runner's clock."""
        return self._now

    def set_event_mask(self, value: str | None) -> bool:
        """Set the classes of events to send from an ``Events``-style value; False when none."""
        assert self.user is not None
        self._mask = _event_mask(value, self.user)
        return bool(self._mask)

    def add_filter(self, criteria: str, pattern: str) -> None:
        """Add an event filter: ``criteria`` is ``eventfilter`` or ``eventfilter(...)``, see ``_eventfilter``.

        Raises ``FilterError`` when Asterisk would refuse it. Regexes are
        matched in linear time (see ``_filters``), so no filter can stall the
        simulator's other connections.
        """
        self._filters.add(parse_filter(criteria, pattern))

    @property
    def events_held(self) -> int:
        """How many events ``hold`` has kept back so far."""
        return len(self._held or ())

    @property
    def actions_waiting(self) -> int:
        """How many actions arrived while held, not handled yet."""
        return len(self._queued)

    def hold(self) -> None:
        """Hold back events and further actions until ``release`` (a synchronous Originate)."""
        self._held = []

    def release(self, then: bytes = b"") -> None:
        """Send the held events and ``then``, then handle the actions that waited."""
        held, self._held = self._held, None
        for event in held or ():
            self._queue(event)
        if then and not self.closing:
            self._queue(then)
        while self._queued and self._held is None and not self.closing:
            self._handle_safely(self._queued.popleft())

    # -- authentication ------------------------------------------------------------

    @handler("Challenge", privilege=None, summary="Generate Challenge for MD5 Auth.")
    def _challenge_action(self, action: ReceivedAction) -> None:
        if (action.get("AuthType") or "").strip().lower() != "md5":
            self.error(action, "Must specify AuthType")
            return
        if self._challenge is None:
            self._challenge = str(random.randint(100_000_000, 999_999_999))
        self.reply(action, "Success", [("Challenge", self._challenge)])

    @handler("Login", privilege=None, summary="Login Manager.")
    def _login(self, action: ReceivedAction) -> None:
        if self.user is not None:
            self.reply(action, "Success", [("Message", "Already authenticated")])
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
            self.error(action, "Authentication failed")
            self.closing = True
            return
        self.user = user
        self._mask = _event_mask(action.get("Events"), user)
        # As manager.c at login: the session starts with the user's eventfilters.
        self._filters = FilterSet(user.event_filters)
        self.reply(action, "Success", [("Message", "Authentication accepted")])
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


# Every class an event in a recording can carry; a mask holding them all skips per-event checks.
_EVERY_EVENT_CLASS = parse_classes("all") - {"all"}


def _cut_at_nul(action: ReceivedAction) -> ReceivedAction:
    """The action with each line cut at its first NUL, as Asterisk's C strings read it."""
    lines = action.raw.split(b"\n")
    kept = [cut for line in lines if (cut := line.split(b"\x00", 1)[0]) or not line]
    return ReceivedAction(b"\n".join(kept), truncated=action.truncated)


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


def _event_tv(wall: float) -> str:
    millis = int(wall * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall)) + f".{millis:03d}+0000"

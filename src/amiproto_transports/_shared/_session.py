"""One client's protocol state: the core plus the adapter's ``dict[action_id, waiter]``.

``Session`` turns bytes and timer ticks into a ``Batch`` that says which waiters
to wake, which messages to dispatch, what to write, and whether the connection
ended; it also keeps the credentials and the actions to re-apply after a reconnect,
and, with ``live``, the live model (``amiproto.live.PBX``) and its snapshots.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import amiproto
from amiproto import Action, ActionCompleted, Event, LoginResult, Message, Response, State, _accel

from ._callbacks import Delivered
from ._options import Options
from ._trace import ReceivedTrace, trace

if TYPE_CHECKING:
    from amiproto.live import PBX

__all__ = ["Batch", "Session"]

W = TypeVar("W")

# Actions whose effect on the server lasts for the session and must be re-applied
# after a reconnect, and whether only the latest one counts.
_REAPPLIED = {"filter": False, "events": True}

# The owner of a reconnect's re-login, in ``Session._login_owners``.
_RELOGIN = object()


def _all_instances(items: list[Any], cls: type) -> bool:
    """Whether every item is a ``cls``: the pure-Python twin of ``_dispatch.all_instances``."""
    return all(map(isinstance, items, repeat(cls)))


# The C twin (see amiproto._accel), or None: pure Python. Asked once per read.
_C_ALL_INSTANCES = _accel.c_function(__name__, "_C_ALL_INSTANCES")


def _route_answers(  # noqa: PLR0917 (the C twin's signature)
    items: list[Any],
    start: int,
    waiters: dict[str, Any],
    completed: list[tuple[Any, ActionCompleted]],
    response_type: type,
    completed_type: type,
) -> int:
    """From ``items[start]``: pair each ``ActionCompleted`` that has a waiter with it
    (taken from ``waiters``) in ``completed``, and pass over the ``Response`` of each
    (not an orphan); the index of the first other item, or the length. A negative
    ``start`` counts as 0, as in C. The pure-Python twin of ``_dispatch.route_answers``."""
    for index in range(max(start, 0), len(items)):
        item = items[index]
        kind = type(item)
        if kind is response_type:
            if item.orphan:
                return index
        elif kind is completed_type:
            waiter = waiters.pop(item.action_id, None)
            if waiter is None:
                return index
            completed.append((waiter, item))
        else:
            return index
    return len(items)


# The C twin, or None. Asked once per run of answers in a read.
_C_ROUTE_ANSWERS = _accel.c_function(__name__, "_C_ROUTE_ANSWERS")


@dataclass(slots=True)
class Batch(Generic[W]):
    """What one ``receive``/``timer`` call produced, for the adapter to act on."""

    completed: list[tuple[W, ActionCompleted]] = field(default_factory=list)
    logins: list[tuple[W | None, LoginResult]] = field(default_factory=list)
    deliver: list[Delivered] = field(default_factory=list)
    """Messages for the callbacks, and with ``live`` the model's changes, in order."""
    outgoing: bytes = b""
    """Bytes the core queued by itself meanwhile (MD5 second step, keepalive Ping), to write."""
    closed: str | None = None


@dataclass
class _Credentials:
    username: str
    secret: str = field(repr=False)
    auth: str
    events: bool | str | None


@dataclass(frozen=True)
class ReloginFailure:
    """A re-login after a reconnect that failed: what to log, why the connection ends,
    and whether the retries end with it."""

    log: str
    reason: str
    give_up: bool


def _live_model(options: Options) -> PBX | None:
    """The model ``options.live`` asks for: a new one for True, None for False."""
    if options.live is True:
        from amiproto.live import PBX  # noqa: PLC0415 - the live model only for those who want one

        return PBX()
    return options.live or None


class Session(Generic[W]):
    """One client's protocol state across reconnects; the adapter supplies waiters ``W``.

    Not thread-safe: the sync client calls it under its core lock.

    With ``options.live``, every event and every list completion is applied to
    ``live`` where it is routed, stamped with ``wall_clock()`` (the model's times are
    for people), and the changes join ``Batch.deliver`` right after what made them.
    After each login it sends the model's snapshot actions; the program's own
    login is answered only once their completions are applied (``synced``), or with
    the first one's failure (no answer in time, cut short, too long). Their lists
    are not delivered: the program did not ask for them.
    """

    def __init__(self, options: Options, wall_clock: Callable[[], float] = time.time) -> None:
        self.options = options
        self.conn = self._new_conn()
        self.waiters: dict[str, W] = {}
        self.login_waiter: W | None = None
        self.relogin = False
        # Each login in flight in the core, by the ActionID it started with: its waiter
        # or _RELOGIN. A waiter that is no longer ``login_waiter`` was given up on.
        self._login_owners: dict[str, object] = {}
        # Whether this connection has proven itself: the server sent a message beyond
        # the greeting and a re-login's answer. Only then does a loss start the reconnect
        # backoff afresh; a server that accepts and drops at once uses its attempts up.
        self.proven = False
        self.closed_reason: str | None = None
        self.credentials: _Credentials | None = None
        self.reapply: list[Action] = []
        self._trace = options.trace
        self._received = ReceivedTrace()
        self.live: PBX | None = _live_model(options)
        self._wall_clock = wall_clock
        # The snapshot in flight: the ActionIDs of its actions not completed yet, the
        # program's login result it holds back (None for a re-login's), its first failure.
        self._snapshot_ids: set[str] = set()
        self._held_login: LoginResult | None = None
        self._snapshot_failure: ActionCompleted | None = None
        # Snapshot lists given up at max_list_events: the rest of each still comes, as
        # events carrying its ActionID, and is no more the program's than the start.
        # At most one per snapshot action (each is forgotten at its list's end, or a reconnect).
        self._overflowed: set[str] = set()
        self._login_deadline: float | None = None

    def _new_conn(self) -> amiproto.Connection:
        return amiproto.Connection(
            keepalive_interval=self.options.keepalive,
            keepalive_timeout=self.options.keepalive_timeout,
            max_list_events=self.options.max_list_events,
        )

    def reset(self) -> None:
        """A fresh core for a new socket; waiters must have been failed already."""
        assert not self.waiters and self.login_waiter is None
        self.conn = self._new_conn()
        self.closed_reason = None
        self.relogin = False
        self._login_owners.clear()
        self._received = ReceivedTrace()
        self.proven = False
        self._forget_snapshot()
        self._overflowed.clear()

    def live_model(self) -> PBX:
        """The live model; ``LocalProtocolError`` when the client was made without one."""
        live = self.live
        if live is None:
            raise amiproto.LocalProtocolError("this client keeps no live model: connect with live=True")
        return live

    @property
    def open(self) -> bool:
        """True until the connection ends (or the transport reports a failure)."""
        return self.closed_reason is None

    # -- outgoing --

    def send(
        self, action: Action, timeout: float | None, now: float, waiter: W, *, wait_for_result: bool = False
    ) -> tuple[str, bytes]:
        """Register ``waiter`` for ``action``; returns its ActionID and the bytes to write."""
        if not isinstance(action, Action):
            raise amiproto.LocalProtocolError(f"send_action takes an amiproto.Action, not {action!r}")
        if self.closed_reason is not None:
            raise amiproto.ConnectionLost(f"not connected: {self.closed_reason}")
        conn = self.conn
        # The core may refuse the action (a duplicate ActionID, a bad state); what it
        # queued by itself must then stay queued, so it is taken only after send().
        data = conn.send(action, timeout=timeout, now=now, wait_for_result=wait_for_result)
        queued = conn.data_to_send()  # as _with_queued does, without its call per action
        if queued:
            data = queued + data
        action_id = conn.last_action_id
        assert action_id is not None
        self.waiters[action_id] = waiter
        if action.name.lower() in _REAPPLIED:
            self._remember(action)
        if self._trace:
            trace(True, "->", data)
        return action_id, data

    def _with_queued(self, data: bytes) -> bytes:
        # What the core queued by itself was made before ``data``, so it goes first.
        queued = self.conn.data_to_send()
        return queued + data if queued else data

    def _remember(self, action: Action) -> None:
        name = action.name.lower()
        latest_only = _REAPPLIED.get(name)
        if latest_only is None:
            return
        if latest_only:
            self.reapply = [old for old in self.reapply if old.name.lower() != name]
        # Without its ActionID, so that a re-send gets a fresh one.
        self.reapply.append(
            Action(action.name, [(k, v) for k, v in action.headers if k.lower() != "actionid"])
        )

    def login(
        self,
        username: str,
        secret: str,
        *,
        auth: str,
        events: bool | str | None,
        timeout: float | None,
        now: float,
        waiter: W | None,
    ) -> bytes:
        """Start a login that will wake ``waiter``; returns the bytes to write."""
        if self.closed_reason is not None:
            raise amiproto.ConnectionLost(f"not connected: {self.closed_reason}")
        if self.login_waiter is not None:
            raise amiproto.LocalProtocolError("a login is already in progress")
        data = self._with_queued(
            self.conn.login(username, secret, auth=auth, events=events, timeout=timeout, now=now)
        )
        self.credentials = _Credentials(username, secret, auth, events)
        self.login_waiter = waiter
        self._login_deadline = None if timeout is None else now + timeout
        self._started_login(waiter)
        trace(self._trace, "->", data)
        return data

    def start_relogin(self, now: float) -> bytes:
        """After a reconnect: log in again with the last credentials (if any)."""
        credentials = self.credentials
        if credentials is None:
            return b""
        self.relogin = True
        timeout = self.options.timeout
        data = self.conn.login(
            credentials.username,
            credentials.secret,
            auth=credentials.auth,
            events=credentials.events,
            timeout=timeout,
            now=now,
        )
        self._started_login(_RELOGIN)
        trace(self._trace, "->", data)
        return data

    def _started_login(self, owner: object) -> None:
        action_id = self.conn.last_action_id
        assert action_id is not None
        self._login_owners[action_id] = owner

    def relogin_failed(self, result: LoginResult) -> ReloginFailure | None:
        """The answer to ``start_relogin``'s login: None when it succeeded, else what to do.

        Only a refusal (an answer) may end the retries, and not with
        ``retry_refused_login``; a login that got no answer is one more failed attempt.
        """
        self.relogin = False
        if result.success:
            return None
        if result.answered and not self.options.retry_refused_login:
            return ReloginFailure(
                f"refused: {result.message}; giving up", "login refused after reconnect", True
            )
        return ReloginFailure(f"failed: {result.message}; retrying", "login after reconnect failed", False)

    def reapply_bytes(self, now: float) -> bytes:
        """Re-send the filters and event mask; their answers go to no waiter."""
        out = bytearray()
        for action in self.reapply:
            out += self.conn.send(action, timeout=self.options.timeout, now=now)
        trace(self._trace, "->", bytes(out))
        return bytes(out)

    def outgoing(self) -> bytes:
        """Bytes the core queued by itself (MD5 second step, keepalive Ping)."""
        data = self.conn.data_to_send()
        if data and self._trace:
            trace(True, "->", data)
        return data

    def deadline(self) -> float | None:
        """When ``timer()`` should next run; None while closed or when nothing is due."""
        return None if self.closed_reason is not None else self.conn.next_deadline()

    # -- incoming --

    def receive(self, data: bytes, now: float) -> Batch[W]:
        """Feed bytes from the socket (``b""``: end of file); what they produced."""
        batch: Batch[W] = Batch()
        if self.closed_reason is not None:
            batch.closed = self.closed_reason
            return batch
        if self._trace:
            self._received.feed(data)
        try:
            self.conn.receive_data(data, now)
        except amiproto.RemoteProtocolError as error:
            self._drain(batch, now)
            self._lost(batch, f"protocol error: {error}")
            return batch
        self._drain(batch, now)
        return batch

    def timer(self, now: float) -> Batch[W]:
        """Let the core act on its deadlines (timeouts, keepalive); what that produced."""
        batch: Batch[W] = Batch()
        if self.closed_reason is not None:
            batch.closed = self.closed_reason
            return batch
        self.conn.handle_timer(now)
        self._drain(batch, now)
        return batch

    def lose(self, reason: str) -> Batch[W]:
        """The transport failed (socket error, write failure): end the session."""
        batch: Batch[W] = Batch()
        if self.closed_reason is None:
            self._lost(batch, reason)
        batch.closed = self.closed_reason
        return batch

    def _lost(self, batch: Batch[W], reason: str) -> None:
        self.closed_reason = batch.closed = reason
        if self.live is not None:
            self.live.apply(amiproto.ConnectionClosed(reason))

    def _drain(self, batch: Batch[W], now: float) -> None:
        self._route(batch, now)
        # After what _route wrote itself (a snapshot's actions): the core queued this later.
        batch.outgoing += self.outgoing()

    def _route(self, batch: Batch[W], now: float) -> None:
        conn = self.conn
        waiters = self.waiters
        completed = batch.completed
        deliver = batch.deliver
        event_type = Event
        live = self.live
        apply = None if live is None else live.apply
        wall = 0.0 if live is None else self._wall_clock()
        all_instances = _C_ALL_INSTANCES or _all_instances
        route_answers = _C_ROUTE_ANSWERS or _route_answers
        while True:
            try:
                # Items that came before a protocol error are handed out first; the
                # error itself is raised by the next call.
                items = conn.next_events()
            except amiproto.RemoteProtocolError as error:
                self._lost(batch, f"protocol error: {error}")
                return
            if not items:
                return
            if not self.proven:
                self._look_for_proof(items)
            if apply is None and all_instances(items, event_type):
                # Only events, as most reads of a busy server bring: one check per read.
                deliver.extend(cast("list[Message]", items))
            else:
                index, count = 0, len(items)
                while index < count:
                    item = items[index]
                    # An answer's two items first, by exact type (neither is subclassed):
                    # a read that is not all events is mostly answers.
                    kind = type(item)
                    if apply is None and (kind is Response or kind is ActionCompleted):
                        # A run of answers to waiting actions, in one call.
                        after = route_answers(items, index, waiters, completed, Response, ActionCompleted)
                        if after > index:
                            index = after
                            continue
                    index += 1
                    if type(item) is ActionCompleted:
                        if apply is not None:
                            deliver.extend(apply(item, wall))
                        waiter = waiters.pop(item.action_id, None)
                        if waiter is not None:
                            completed.append((waiter, item))
                        elif item.action_id in self._snapshot_ids:
                            self._snapshot_done(batch, item)
                        elif item.timed_out or not item.success:
                            logging.getLogger("amiproto.client").debug("unclaimed %r", item)
                    elif type(item) is Response:
                        if item.orphan:
                            deliver.append(item)
                    elif isinstance(item, event_type):
                        if apply is None:
                            deliver.append(item)
                            continue
                        # A snapshot's list items come as events too, and the program did not ask for them.
                        if not (self._snapshot_ids or self._overflowed) or not self._snapshot_item(item):
                            deliver.append(item)
                        deliver.extend(apply(item, wall))
                    elif isinstance(item, LoginResult):
                        self._route_login(batch, item, now)
                    elif isinstance(item, amiproto.ConnectionClosed):
                        self._lost(batch, item.reason)
                        return
                    elif isinstance(item, amiproto.UnknownMessage):
                        deliver.append(item)
            # One call hands out every item the bytes hold; only an error is left for
            # the next call to raise. Asking again anyway cost a call per read.
            if conn.state is not State.ERROR:
                return

    def _look_for_proof(self, items: Sequence[object]) -> None:
        # While a re-login is unanswered, its own answers (the Challenge's too) prove
        # nothing; a refused one never lets the connection prove itself.
        waiting = _RELOGIN in self._login_owners.values()
        for item in items:
            if isinstance(item, LoginResult):
                if waiting and item.success:
                    waiting = False
            elif isinstance(item, (Event, Response, amiproto.UnknownMessage)) and not waiting:
                self.proven = True
                return

    def _route_login(self, batch: Batch[W], result: LoginResult, now: float) -> None:
        # Only to the login it answers: a login given up on (cancelled, interrupted)
        # is still in flight in the core, and its late answer belongs to nobody.
        owner = self._login_owners.pop(result.action_id or "", None)
        if owner is _RELOGIN:
            batch.logins.append((None, result))
            if result.success and self.live is not None:
                self._start_snapshot(batch, now, self.options.timeout)
        elif owner is not None and owner is self.login_waiter:
            if result.success and self.live is not None:
                # The login waiter stays registered, so that the snapshot's answers
                # count as awaited and a loss fails it; the result waits for them.
                self._held_login = result
                deadline = self._login_deadline
                self._start_snapshot(batch, now, None if deadline is None else max(0.0, deadline - now))
                return
            batch.logins.append((self.login_waiter, result))
            self.login_waiter = None
        else:
            logging.getLogger("amiproto.client").debug(
                "the answer to a login given up on: success=%s", result.success
            )

    # -- the live model's snapshot --

    def _start_snapshot(self, batch: Batch[W], now: float, timeout: float | None) -> None:
        """Send the live model's snapshot actions; their answers go to no waiter. The
        program's login (``_held_login``), if any, is answered once they all are; within
        what is left of its timeout."""
        assert self.live is not None
        conn = self.conn
        data = conn.data_to_send()  # queued by the core before these
        ids: set[str] = set()
        for action in self.live.snapshot_actions():
            data += conn.send(action, timeout=timeout, now=now)
            action_id = conn.last_action_id
            assert action_id is not None
            ids.add(action_id)
        trace(self._trace, "->", data)
        batch.outgoing += data
        self._snapshot_ids = ids
        self._snapshot_failure = None
        if not ids:
            self._snapshot_finished(batch)

    def _snapshot_done(self, batch: Batch[W], completed: ActionCompleted) -> None:
        """One snapshot action has completed (already applied to the model)."""
        self._snapshot_ids.discard(completed.action_id)
        # An error answer (QueueStatus without app_queue) is complete: the model syncs.
        if not completed.complete:
            if completed.too_many_events:
                self._overflowed.add(completed.action_id)
            if self._snapshot_failure is None:
                self._snapshot_failure = completed
        if not self._snapshot_ids:
            self._snapshot_finished(batch)

    def _snapshot_finished(self, batch: Batch[W]) -> None:
        """Every snapshot action has completed: answer the login it held back."""
        held, failure = self._held_login, self._snapshot_failure
        self._forget_snapshot()
        if held is None:
            if failure is not None:  # a re-login's: nobody to raise to
                logging.getLogger("amiproto.client").warning(
                    "the live model is not synced after the reconnect: %s (%s) did not complete",
                    failure.action.name,
                    failure.action_id,
                )
            return
        waiter, self.login_waiter = self.login_waiter, None
        if waiter is None:
            return  # the login was given up on meanwhile
        if failure is not None:
            batch.completed.append((waiter, failure))  # the clients raise its outcome()
        else:
            batch.logins.append((waiter, held))

    def _forget_snapshot(self) -> None:
        self._snapshot_ids = set()
        self._held_login = None
        self._snapshot_failure = None

    def _snapshot_item(self, event: Event) -> bool:
        """True when ``event`` belongs to a snapshot's list, the end of one given up at
        ``max_list_events`` included."""
        action_id = event.action_id
        if action_id is None:
            return False
        if action_id in self._snapshot_ids:
            return True
        if action_id not in self._overflowed:
            return False
        if event.event_list in ("complete", "cancelled") or event.name.endswith("Complete"):
            self._overflowed.discard(action_id)
        return True

    def fail_all(self) -> list[W]:
        """Every waiter still registered, removed; the adapter fails them with ConnectionLost."""
        failed = list(self.waiters.values())
        self.waiters.clear()
        if self.login_waiter is not None:
            failed.append(self.login_waiter)
            self.login_waiter = None
        self._held_login = None
        return failed

"""CallbackRegistry: which callbacks a message goes to, and in what order; run_callbacks."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

import amiproto
from amiproto import Event, Response
from amiproto_transports._shared import (
    CallbackRegistry,
    Delivered,
    DropOldest,
    InlineFirst,
    Reconnected,
    _callbacks,
    run_callbacks,
    run_callbacks_sync,
)

C_DISPATCH = _callbacks._C_DISPATCH


@pytest.fixture(autouse=True, params=["c", "python"])
def dispatch_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the C dispatch loop and with the Python one."""
    if request.param == "c" and C_DISPATCH is None:
        pytest.skip("the C dispatch loop is not built")
    monkeypatch.setattr(_callbacks, "_C_DISPATCH", C_DISPATCH if request.param == "c" else None)
    return str(request.param)


def event(name: str) -> Event:
    return Event(f"Event: {name}\r\nPrivilege: call,all\r\n\r\n".encode(), name=name)


def test_registry_rules_and_order() -> None:
    registry = CallbackRegistry()
    calls: list[str] = []
    registry.register("newchannel", lambda m: calls.append("name"))
    registry.register(Event, lambda m: calls.append("class"))
    registry.register("", lambda m: calls.append("all"))
    registry.register(None, lambda m: calls.append("orphan"))
    remove = registry.register("Newchannel", lambda m: calls.append("removed"))
    remove()
    message = event("Newchannel")
    for callback in registry.matching(message):
        callback(message)
    assert calls == ["name", "class", "all"]
    calls.clear()
    orphan = Response(b"Response: Success\r\nActionID: x\r\n\r\n")
    orphan.orphan = True
    for callback in registry.matching(orphan):
        callback(orphan)
    assert calls == ["orphan"]
    answered = Response(b"Response: Success\r\nActionID: y\r\n\r\n")
    assert registry.matching(answered) == ()
    notice = Reconnected.make(Attempts="1")
    assert notice.name == "Reconnected" and notice.get("Attempts") == "1"
    assert len(registry.matching(notice)) == 2  # class Event and ""
    with pytest.raises(TypeError):
        registry.register(42, print)  # type: ignore[arg-type]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.anyio
@pytest.mark.timeout(5)
async def test_run_callbacks_awaits_results_and_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    registry = CallbackRegistry()
    calls: list[str] = []

    async def later(message: Event) -> None:
        await anyio.sleep(0)
        calls.append(f"async {message.name}")

    async def broken_async(message: Event) -> None:
        raise ValueError("async boom")

    def broken(message: Event) -> None:
        raise RuntimeError("boom")

    def answers(message: Event) -> int:
        calls.append("after")
        return 42  # a result that is not awaitable is ignored

    registry.register("", lambda m: calls.append(f"sync {m.name}"))
    registry.register("", later)
    registry.register("", broken)
    registry.register("", broken_async)
    registry.register("", answers)
    log = logging.getLogger("amiproto.test-callbacks")
    with caplog.at_level(logging.ERROR, log.name):
        await run_callbacks(registry, [event("A"), event("B")], log)
    assert calls == ["sync A", "async A", "after", "sync B", "async B", "after"]
    failures = [record for record in caplog.records if record.name == log.name]
    assert [str(record.exc_info[1]) for record in failures if record.exc_info] == ["boom", "async boom"] * 2


@pytest.mark.anyio
@pytest.mark.timeout(5)
async def test_run_callbacks_lets_cancellation_through() -> None:
    registry = CallbackRegistry()
    calls: list[str] = []

    async def stuck(message: Event) -> None:
        await anyio.sleep(10)

    registry.register("", stuck)
    registry.register("", lambda m: calls.append("next"))
    with anyio.move_on_after(0.05) as scope:
        await run_callbacks(registry, [event("A")], logging.getLogger("amiproto.test-callbacks"))
    assert scope.cancelled_caught
    assert calls == []


def test_the_match_cache_is_bounded() -> None:
    """A server inventing event names cannot grow the caches past their limit, and the
    names seen after such a flood are cached again (a full cache is emptied, not frozen)."""
    registry = _callbacks.CallbackRegistry()
    seen: list[object] = []
    registry.register("", seen.append)
    conn = amiproto.Connection()
    names = [f"Invented{i}" for i in range(_callbacks._CACHE_LIMIT * 2 + 5)]
    conn.receive_data(b"".join(f"Event: {name}\r\n\r\n".encode() for name in [*names, "Hangup"]))
    for event in conn.next_events():
        assert isinstance(event, amiproto.Event)
        assert registry.matching(event) == (seen.append,)
        assert len(registry._cache) <= _callbacks._CACHE_LIMIT
        assert len(registry.by_name) <= _callbacks._CACHE_LIMIT
    assert registry.by_name["Hangup"][1] == (seen.append,)


def test_globs_match_names_without_case_in_registration_order() -> None:
    registry = CallbackRegistry()
    calls: list[str] = []
    registry.register("Queue*", lambda m: calls.append("Queue*"))
    registry.register("queuecallerjoin", lambda m: calls.append("name"))
    registry.register("AGENT?ALLED", lambda m: calls.append("AGENT?ALLED"))
    registry.register("[qa]*Leave", lambda m: calls.append("[qa]*Leave"))
    registry.register("", lambda m: calls.append("all"))
    remove = registry.register("*", lambda m: calls.append("removed"))
    remove()
    expected = {
        "QueueCallerJoin": ["Queue*", "name", "all"],
        "QueueCallerLeave": ["Queue*", "[qa]*Leave", "all"],
        "queuememberadded": ["Queue*", "all"],
        "AgentCalled": ["AGENT?ALLED", "all"],
        "AgentsCalled": ["all"],  # ? is exactly one character
        "AgentCalledX": ["all"],  # a glob matches the whole name
        "Newchannel": ["all"],
    }
    for name, order in expected.items():
        calls.clear()
        run_callbacks_sync(registry, [event(name)], logging.getLogger("amiproto.test-callbacks"))
        assert calls == order, name
    answered = Response(b"Response: Success\r\nActionID: y\r\n\r\n")
    answered.orphan = True
    assert registry.matching(answered) == ()  # a glob is a name: never a response's


def test_a_glob_is_matched_once_per_event_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dispatch looks a name up in the cache; the globs run when a name is first seen,
    and again only after a registration changes what matches."""
    registry = CallbackRegistry()
    selected: list[str | None] = []
    select = CallbackRegistry._select

    def counting(cache_key: tuple[type, str | None], entries: Any) -> Any:
        selected.append(cache_key[1])
        return select(cache_key, entries)

    monkeypatch.setattr(CallbackRegistry, "_select", staticmethod(counting))
    calls: list[str] = []
    registry.register("Queue*", lambda m: calls.append(m.name))
    log = logging.getLogger("amiproto.test-callbacks")
    run_callbacks_sync(registry, [event("QueueParams"), event("Hangup")] * 50, log)
    assert calls == ["QueueParams"] * 50
    assert selected == ["QueueParams", "Hangup"]
    registry.register("Hang*", lambda m: calls.append("hang"))
    run_callbacks_sync(registry, [event("Hangup")] * 3, log)
    assert calls[-3:] == ["hang"] * 3 and selected == ["QueueParams", "Hangup", "Hangup"]


@pytest.mark.anyio
async def test_dispatch_loops_follow_matching_for_every_kind_of_message() -> None:
    """The loops' inlined lookup by event name gives what ``matching`` gives, also when
    one name comes with two classes (a server's event named like a client notice)."""
    registry = CallbackRegistry()
    calls: list[tuple[str, int]] = []
    registry.register("", lambda m: calls.append(("all", id(m))))
    registry.register(Reconnected, lambda m: calls.append(("notice", id(m))))
    registry.register(None, lambda m: calls.append(("orphan", id(m))))
    registry.register(amiproto.UnknownMessage, lambda m: calls.append(("unknown", id(m))))
    orphan = Response(b"Response: Success\r\nActionID: x\r\n\r\n", orphan=True)
    unknown = amiproto.UnknownMessage(b"Foo: bar\r\n\r\n")
    notice = Reconnected.make(Attempts="1", Reapplied="0")
    messages = [event("Reconnected"), notice, event("Reconnected"), orphan, unknown, notice, event("A")]
    for message in messages:
        for callback in registry.matching(message):
            callback(message)
    expected = list(calls)
    calls.clear()
    run_callbacks_sync(registry, messages, logging.getLogger("amiproto.test-callbacks"))
    assert calls == expected
    calls.clear()
    await run_callbacks(registry, messages, logging.getLogger("amiproto.test-callbacks"))
    assert calls == expected
    assert [tag for tag, _ in expected] == [
        "all",
        "all",
        "notice",
        "all",
        "orphan",
        "unknown",
        "all",
        "notice",
        "all",
    ]


def test_notices_are_public() -> None:
    import amiproto_transports

    assert amiproto_transports.Reconnected.event_name == "Reconnected"
    assert issubclass(amiproto_transports.Disconnected, amiproto.Event)


class Stop(BaseException):
    """Not an Exception: it must stop a dispatch loop, as cancellation does."""


def callbacks_doing(kinds: list[str], calls: list[str]) -> list[object]:
    """Callbacks that note their call, then return None, raise, or return a value."""

    def make(position: int, kind: str) -> object:
        def callback(message: Event) -> object:
            calls.append(f"{position}:{message.name}")
            if kind == "raise":
                raise ValueError(f"boom {position}")
            if kind == "stop" and message.name == "Stop":
                raise Stop
            if kind == "value":
                return position
            if kind == "async":

                async def later() -> None:
                    calls.append(f"{position}:{message.name}:awaited")

                return later()
            return None

        return callback

    return [make(position, kind) for position, kind in enumerate(kinds)]


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
@pytest.mark.parametrize(
    "kinds",
    [["none"], ["raise", "none"], ["value", "raise", "async"], ["async", "async"], ["none", "stop", "none"]],
)
async def test_dispatch_loops_agree_on_results_failures_and_stops(
    kinds: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The same calls, logged failures and stops, whichever loop runs (C or Python)."""
    log = logging.getLogger("amiproto.test-callbacks")
    messages: list[amiproto.Message] = [event("A"), event("B"), event("Stop"), event("C")]

    async def run_both() -> list[tuple[str, list[str], list[str], bool]]:
        outcomes = []
        for name, loop in (("c", C_DISPATCH), ("python", None)):
            if name == "c" and loop is None:
                continue
            _callbacks._C_DISPATCH = loop
            for sync in (True, False):
                registry = CallbackRegistry()
                calls: list[str] = []
                for callback in callbacks_doing(kinds, calls):
                    registry.register("", callback)  # type: ignore[arg-type]
                caplog.clear()
                stopped = False
                try:
                    if sync:
                        run_callbacks_sync(registry, messages, log)
                    else:
                        await run_callbacks(registry, messages, log)
                except Stop:
                    stopped = True
                failures = [str(r.exc_info[1]) for r in caplog.records if r.exc_info and r.name == log.name]
                if sync:
                    # Nothing is awaited there: drop what the async callbacks made.
                    calls = [c for c in calls if not c.endswith(":awaited")]
                outcomes.append((f"{name} {'sync' if sync else 'async'}", calls, failures, stopped))
        return outcomes

    with caplog.at_level(logging.ERROR, log.name):
        outcomes = await run_both()
    by_kind: dict[bool, set[tuple[tuple[str, ...], tuple[str, ...], bool]]] = {}
    for label, calls, failures, stopped in outcomes:
        by_kind.setdefault(label.endswith("sync") and not label.endswith("async"), set()).add(
            (tuple(calls), tuple(failures), stopped)
        )
    assert all(len(results) == 1 for results in by_kind.values()), outcomes
    for label, calls, failures, stopped in outcomes:
        if label.endswith(" sync"):
            # The sync client's workers report even a BaseException, and go on.
            assert not stopped
            assert failures or "stop" not in kinds  # the Stop was logged
            assert any(call.split(":")[1] == "C" for call in calls)
        else:
            assert stopped == ("stop" in kinds)
            # A stop ends the batch: no callback sees the message after "Stop".
            assert not any(call.split(":")[1] == "C" for call in calls) or "stop" not in kinds


@pytest.mark.anyio
@pytest.mark.timeout(5)
async def test_inline_first_runs_at_once_until_a_callback_must_be_awaited() -> None:
    registry = CallbackRegistry()
    calls: list[str] = []
    release = anyio.Event()

    async def slow(message: Event) -> None:
        calls.append(f"{message.name} starts")
        await release.wait()
        calls.append(f"{message.name} ends")

    registry.register("", lambda m: calls.append(m.name))
    registry.register("Slow", slow)
    queue: DropOldest[Delivered] = DropOldest(100)
    dispatch = InlineFirst(registry, queue, logging.getLogger("test"))

    # Nothing pending: run here and now, and nothing is left for the dispatcher task.
    assert not dispatch.deliver([event("A"), event("B")])
    assert calls == ["A", "B"] and not dispatch.pending
    # A callback's awaitable: the rest of the batch waits for the dispatcher task...
    assert dispatch.deliver([event("Slow"), event("C")])
    assert calls[2:] == ["Slow"] and dispatch.pending  # its coroutine not started yet
    # ...and so does every later batch, which must not overtake it.
    assert dispatch.deliver([event("D")])
    assert calls[3:] == [] and len(queue) == 1
    async with anyio.create_task_group() as group:
        group.start_soon(dispatch.run_pending)
        await anyio.sleep(0.01)
        assert dispatch.running and calls[3:] == ["Slow starts"]
        release.set()
    assert calls[3:] == ["Slow starts", "Slow ends", "C", "D"]
    assert not dispatch.pending and not dispatch.running
    assert not dispatch.deliver([event("E")])  # idle again: inline again
    assert calls[-1] == "E"


def test_run_callbacks_sync_reports_even_system_exit(caplog: pytest.LogCaptureFixture) -> None:
    # On the sync client's workers nothing may end the thread that reads the socket.
    registry = CallbackRegistry()
    calls: list[str] = []

    def leave(message: Event) -> None:
        raise SystemExit(3)

    registry.register("A", leave)
    registry.register("", lambda m: calls.append(m.name))
    run_callbacks_sync(registry, [event("A"), event("B")], logging.getLogger("test"))
    assert calls == ["A", "B"]
    assert "SystemExit" in caplog.text


@pytest.mark.anyio
@pytest.mark.timeout(5)
@pytest.mark.parametrize("runner", ["sync", "async"])
async def test_registrations_made_by_a_callback_apply_from_the_next_message(runner: str) -> None:
    """A one-shot callback that removes itself sees one event, not the rest of its batch;
    one registered by a callback sees the batch's next messages."""
    registry = CallbackRegistry()
    calls: list[str] = []

    def once(message: Event) -> None:
        calls.append(f"once {message.get('Seq')}")
        remove_once()

    def late(message: Event) -> None:
        calls.append(f"late {message.get('Seq')}")

    def adds_late(message: Event) -> None:
        if message.get("Seq") == "2":
            registry.register("Tick", late)

    remove_once = registry.register("Tick", once)
    registry.register("Tick", adds_late)
    batch: list[amiproto.Message] = [
        Event(f"Event: Tick\r\nSeq: {seq}\r\n\r\n".encode(), name="Tick") for seq in range(1, 5)
    ]
    log = logging.getLogger("amiproto.test-callbacks")
    if runner == "sync":
        run_callbacks_sync(registry, batch, log)
    else:
        await run_callbacks(registry, batch, log)
    assert calls == ["once 1", "late 3", "late 4"]

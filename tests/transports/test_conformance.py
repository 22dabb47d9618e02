"""One conformance suite for the sync, asyncio and trio clients, against the real simulator.

Every test runs three times (the ``kind`` fixture); the sync client is driven
from worker threads so the same test text serves all three.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import anyio
import pytest
import trustme

import amiproto
from amiproto import Action, actions
from amiproto import events as catalog_events
from amiproto_transports._shared import CLOSE_GRACE, Backoff, Disconnected, Reconnected
from amiproto_transports.simulator import Simulator

from .harness import (
    GREETING,
    Face,
    accept_login,
    expect_error,
    open_client,
    read_action,
    refuse_login,
    scripted_connections,
    scripted_server,
    tls_proxy,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]

Address = tuple[str, int]
ADMIN: dict[str, Any] = {"username": "admin", "secret": "wordpass"}


def slow_originate() -> Action:
    # A synchronous Originate: the simulator answers only once the call is up (~10 ms).
    return Action("Originate", Channel="Local/echo@default", Application="Wait", Data="1")


@pytest.mark.parametrize("auth", ["md5", "plain"])
async def test_login_and_ping(kind: str, server: Address, auth: str) -> None:
    async with open_client(kind, *server, auth=auth, **ADMIN) as client:
        assert client.is_connected()
        result = await client.send_action(Action("Ping"))
        assert result.success
        assert result.response is not None and result.response.get("Ping") == "Pong"


async def test_bad_secret(kind: str, server: Address) -> None:
    error = await expect_error(
        amiproto.AuthenticationError, open_client(kind, *server, username="admin", secret="nope").__aenter__()
    )
    assert "nope" not in str(error)


async def test_refused_connection(kind: str) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    error = await expect_error(amiproto.ConnectionLost, open_client(kind, "127.0.0.1", port).__aenter__())
    # One error for both families: the package's and the standard library's.
    assert isinstance(error, amiproto.ConnectFailed)
    assert isinstance(error, ConnectionError)
    assert isinstance(error, amiproto.AMIError)
    prefix = f"cannot connect to 127.0.0.1:{port}: "
    assert str(error).startswith(prefix)
    assert "refused" in str(error).lower()
    assert "all attempts" not in str(error)  # trio's summary says nothing of why


async def test_an_unreachable_address_fails_with_its_reason(kind: str) -> None:
    # TEST-NET-1 (RFC 5737) is never routed: refused, unreachable or timed out, each says why.
    error = await expect_error(OSError, open_client(kind, "192.0.2.1", 5038, timeout=0.2).__aenter__())
    assert isinstance(error, amiproto.ConnectFailed)
    assert str(error).partition("192.0.2.1:5038: ")[2].strip()


async def test_connect_without_arguments_reads_the_environment(
    kind: str, server: Address, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMI_HOST", server[0])
    monkeypatch.setenv("AMI_PORT", str(server[1]))
    monkeypatch.setenv("AMI_USERNAME", "admin")
    monkeypatch.setenv("AMI_SECRET", "wordpass")
    async with open_client(kind, None, None) as client:
        assert client.is_connected()
        result = await client.send_action(Action("Ping"))
        assert result.success  # logged in: an anonymous Ping is refused
    # An argument given wins: this secret is refused although the environment's is right.
    refused = open_client(kind, None, None, secret="nope")
    await expect_error(amiproto.AuthenticationError, refused.__aenter__())


async def test_callbacks_given_to_connect_see_what_follows_the_login(kind: str, server: Address) -> None:
    booted: list[amiproto.Event] = []
    every: list[str] = []
    callbacks = {"FullyBooted": booted.append, "": lambda event: every.append(event.name)}
    async with open_client(kind, *server, callbacks=callbacks, **ADMIN) as client:
        # The simulator, as Asterisk, sends FullyBooted in the same read as the login's answer.
        await wait_until(lambda: bool(booted))
        assert booted[0].get("Status") == "Fully Booted"
        assert "FullyBooted" in every
        assert (await client.send_action(Action("UserEvent", UserEvent="After"))).success
        await wait_until(lambda: "UserEvent" in every)  # and they stay registered
    # A key register_callback refuses is refused at connect(), before anything is sent.
    with pytest.raises(TypeError, match="callback key"):
        await open_client(kind, *server, callbacks={3: print}).__aenter__()


async def test_login_later_and_by_hand(kind: str, server: Address) -> None:
    async with open_client(kind, *server) as client:
        denied = await client.send_action(Action("Ping"))
        assert not denied.success  # not logged in yet: an error response is a result
        result = await client.login("admin", "wordpass", auth="plain")
        assert result.success
        assert (await client.send_action(Action("Ping"))).success
    async with open_client(kind, *server) as client:
        # The pystrix flow: Challenge, then Login with the MD5 key, by hand.
        challenge = await client.send_action(Action("Challenge", AuthType="MD5"))
        token = challenge.response.get("Challenge") if challenge.response else None
        assert token
        key = hashlib.md5((token + "wordpass").encode()).hexdigest()
        login = await client.send_action(Action("Login", AuthType="MD5", Username="admin", Key=key))
        assert login.success
        bad = Action("Login", AuthType="MD5", Username="admin", Key="0" * 32)
    async with open_client(kind, *server) as client:
        await expect_error(amiproto.AuthenticationError, client.send_action(bad))


async def test_list_and_command(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        await client.send_action(
            Action("Originate", Channel="Local/echo@default", Application="Wait", Data="5", Async="true")
        )
        channels = await client.send_action(Action("CoreShowChannels"))
        assert channels.success and channels.is_list and channels.complete
        assert channels.events[-1].name == "CoreShowChannelsComplete"
        assert all(event.action_id == channels.action_id for event in channels.events)
        command = await client.send_action(Action("Command", Command="core show uptime"))
        assert command.success
        assert any("uptime" in line for line in command.response.output) if command.response else False
        error = await client.send_action(Action("NoSuchAction"))
        assert not error.success and error.complete


async def test_async_originate_waits_for_its_result(kind: str, server: Address) -> None:
    def originate(target: str) -> Action:
        return actions.Originate(channel=target, application="Wait", data="1", async_=True)

    async with open_client(kind, *server, **ADMIN) as client:
        answered = await client.send_action(originate("Local/echo@default"), wait_for_result=True)
        assert answered.success and answered.complete
        assert isinstance(answered.result, catalog_events.OriginateResponse)
        assert answered.result.action_id == answered.action_id
        assert answered.get("Message") == "Originate successfully queued"
        # A missing extension: queued, then the call fails.
        failed = await client.send_action(originate("Local/nowhere@nocontext"), wait_for_result=True)
        assert failed.response is not None and failed.response.success
        assert not failed.success and failed.result is not None
        assert failed.result.get("Response") == "Failure" and failed.result.get("Reason") is not None
        # submit() takes it too; without it the response alone completes the action.
        waited, plain = await client.submit_all(
            [originate("Local/echo@default"), Action("Ping")], wait_for_result=True
        )
        assert isinstance(waited, amiproto.ActionCompleted) and waited.result is not None and waited.success
        assert isinstance(plain, amiproto.ActionCompleted) and plain.result is None
        unwaited = await client.send_action(originate("Local/echo@default"))
        assert unwaited.success and unwaited.result is None


async def test_callbacks_of_all_four_kinds(kind: str, server: Address) -> None:
    seen: list[tuple[str, str]] = []
    async with open_client(kind, *server) as client:
        client.register_callback("fullybooted", lambda e: seen.append(("name", e.name)))
        client.register_callback(amiproto.Event, lambda e: seen.append(("class", e.name)))
        client.register_callback("", lambda e: seen.append(("all", e.name)))
        client.register_callback(None, lambda r: seen.append(("orphan", r.action_id or "")))
        unregister = client.register_callback("UserEvent", lambda e: seen.append(("removed", e.name)))
        unregister()
        await client.login("admin", "wordpass")
        await client.send_action(Action("UserEvent", UserEvent="Hello"))
        # Its answer comes after its timeout: an orphan.
        late = await expect_error(amiproto.ActionTimeout, client.send_action(slow_originate(), timeout=0.001))
        assert "Originate" in str(late)
        await wait_until(lambda: any(k == "orphan" for k, _ in seen))
        await wait_until(lambda: ("all", "UserEvent") in seen)
    booted = [k for k, name in seen if name == "FullyBooted"]
    assert booted == ["name", "class", "all"]  # registration order
    assert ("class", "UserEvent") in seen
    assert not any(k == "removed" for k, _ in seen)


async def test_callbacks_by_glob(kind: str, server: Address) -> None:
    seen: list[tuple[str, str]] = []
    async with open_client(kind, *server) as client:
        client.register_callback("*BOOTED", lambda e: seen.append(("*BOOTED", e.name)))
        client.register_callback("User?vent", lambda e: seen.append(("User?vent", e.name)))
        client.register_callback("[uf]*", lambda e: seen.append(("[uf]*", e.name)))
        await client.login("admin", "wordpass")
        await client.send_action(Action("UserEvent", UserEvent="Hello"))
        await wait_until(lambda: ("[uf]*", "UserEvent") in seen)
    assert seen == [
        ("*BOOTED", "FullyBooted"),
        ("[uf]*", "FullyBooted"),
        ("User?vent", "UserEvent"),
        ("[uf]*", "UserEvent"),
    ]


async def test_callback_errors_and_send_from_callback(kind: str, server: Address) -> None:
    results: list[bool] = []
    async with open_client(kind, *server, **ADMIN) as client:

        def broken(event: amiproto.Event) -> None:
            raise RuntimeError("callback bug")

        client.register_callback("UserEvent", broken)
        native: Any = client.native
        if kind == "sync":
            client.register_callback(
                "UserEvent", lambda e: results.append(native.send_action(Action("Ping")).success)
            )
        else:

            async def pinger(event: amiproto.Event) -> None:
                results.append((await native.send_action(Action("Ping"))).success)

            client.register_callback("UserEvent", pinger)
        await client.send_action(Action("UserEvent", UserEvent="One"))
        await client.send_action(Action("UserEvent", UserEvent="Two"))
        await wait_until(lambda: len(results) == 2)
        assert results == [True, True]
        assert (await client.send_action(Action("Ping"))).success


async def test_slow_callback_drops_oldest_and_never_delays_answers(kind: str, server: Address) -> None:
    release = threading.Event()
    async with open_client(kind, *server, queue_size=5, **ADMIN) as client:
        if kind == "sync":
            client.register_callback("UserEvent", lambda e: release.wait(5))
        else:

            async def stuck(event: amiproto.Event) -> None:
                with anyio.move_on_after(5):
                    while not release.is_set():
                        await anyio.sleep(0.01)

            client.register_callback("UserEvent", stuck)
        for n in range(30):
            assert (await client.send_action(Action("UserEvent", UserEvent=f"E{n}"), timeout=2)).success
        await wait_until(lambda: client.dropped_events > 0)
        release.set()


async def test_events_iterator(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:

        async def fire() -> None:
            for n in range(3):
                await client.send_action(Action("UserEvent", UserEvent=f"It{n}"))

        events = await client.collect_events(3, 2.0, fire)
        assert [e.get("UserEvent") for e in events] == ["It0", "It1", "It2"]


def orphan_then_event(sock: socket.socket) -> None:
    """Answer the first action, then send an orphan Response (no ActionID) and, later, an event."""
    action_id = read_action(sock)["actionid"]
    sock.sendall(f"Response: Success\r\nActionID: {action_id}\r\nPing: Pong\r\n\r\n".encode())
    time.sleep(0.3)
    sock.sendall(b"Response: Success\r\nMessage: nobody asked\r\n\r\n")
    time.sleep(0.3)
    sock.sendall(b"Event: UserEvent\r\nUserEvent: After\r\n\r\n")


async def test_events_iterator_waits_past_an_orphan_response(kind: str) -> None:
    with scripted_server(orphan_then_event) as address:
        async with open_client(kind, *address) as client:
            orphans: list[amiproto.Response] = []
            client.register_callback(None, orphans.append)

            async def ping() -> None:
                assert (await client.send_action(Action("Ping"))).success

            started = time.monotonic()
            events = await client.collect_events(1, 2.0, ping)
            assert [e.get("UserEvent") for e in events] == ["After"]
            assert time.monotonic() - started >= 0.5  # the event really came after the orphan
            assert len(orphans) == 1 and orphans[0].action_id is None


@pytest.mark.parametrize("noise", ["garbage", "late_answer"])
async def test_events_iterator_outlives_messages_that_are_not_events(
    kind: str, simulator: Simulator, server: Address, noise: str
) -> None:
    # Only UserEvents are sent to this client: the noise is all the iterator could see.
    async with open_client(kind, *server, events="user", **ADMIN) as client:
        noticed: list[amiproto.Message] = []
        client.register_callback(amiproto.UnknownMessage, noticed.append)
        client.register_callback(None, noticed.append)

        async def noise_then_event() -> None:
            if noise == "garbage":
                simulator.set_fault("garbage")
                assert (await client.send_action(Action("Ping"))).success
                simulator.set_fault(None)
            else:
                # Answered after its waiter timed out: an orphan with an ActionID of ours.
                late = Action(
                    "Originate", Channel="Local/wait@default", Application="Wait", Data="1", ActionID="late-1"
                )
                await expect_error(amiproto.ActionTimeout, client.send_action(late, timeout=0.001))
            await wait_until(lambda: bool(noticed))
            await anyio.sleep(0.1)  # time for an iterator that wrongly ends to do so
            assert (await client.send_action(Action("UserEvent", UserEvent="After"))).success

        events = await client.collect_events(1, 2.0, noise_then_event)
        assert [e.get("UserEvent") for e in events] == ["After"]
        if noise == "late_answer":
            assert isinstance(noticed[0], amiproto.Response) and noticed[0].action_id == "late-1"


async def test_events_iterator_ends_at_its_timeout(kind: str, server: Address) -> None:
    async with open_client(kind, *server, events="user", **ADMIN) as client:
        started = time.monotonic()
        events = await client.collect_events(1, 0.3, lambda: None)
        assert events == []
        assert time.monotonic() - started >= 0.3


async def test_200_concurrent_actions(kind: str, server: Address) -> None:
    results: list[amiproto.ActionCompleted] = []
    async with open_client(kind, *server, **ADMIN) as client:

        async def one(n: int) -> None:
            results.append(await client.send_action(Action("Ping", Marker=str(n))))

        async with anyio.create_task_group() as group:
            for n in range(200):
                group.start_soon(one, n)
    assert len(results) == 200
    assert all(r.success for r in results)
    assert len({r.action_id for r in results}) == 200
    assert sorted(int(r.action.get("Marker") or -1) for r in results) == list(range(200))


async def test_submit_pipelines_in_order_and_raises_like_send_action(
    kind: str, simulator: Simulator, server: Address
) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        burst = [Action("Ping", Marker=str(n)) for n in range(100)]
        results = await client.submit_all(burst)
        assert all(isinstance(r, amiproto.ActionCompleted) and r.success for r in results)
        markers = [r.action.get("Marker") for r in results if isinstance(r, amiproto.ActionCompleted)]
        assert markers == [str(n) for n in range(100)]
        denied = await client.submit_all([Action("NoSuchAction")])
        assert isinstance(denied[0], amiproto.ActionCompleted) and not denied[0].success
        simulator.set_fault("stall")
        stalled = await client.submit_all([Action("Ping"), Action("Ping")], timeout=0.2)
        assert all(isinstance(r, amiproto.ActionTimeout) for r in stalled)
        assert client.is_connected()
        native: Any = client.native
        assert not native._session.waiters


async def test_timeout_and_cancellation_leave_connection_usable(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        await expect_error(amiproto.ActionTimeout, client.send_action(slow_originate(), timeout=0.001))
        assert (await client.send_action(Action("Ping"))).success
        if kind != "sync":
            with anyio.move_on_after(0.002) as scope:
                await client.send_action(slow_originate(), timeout=5)
            assert scope.cancelled_caught
            assert (await client.send_action(Action("Ping"))).success
            native: Any = client.native
            assert not native._session.waiters  # the cancelled waiter is gone


def never_read(sock: socket.socket) -> None:
    """The server stops reading after its greeting; the client's writes back up."""


async def test_send_action_cancelled_while_the_write_blocks_leaves_no_waiter(kind: str) -> None:
    if kind == "sync":
        pytest.skip("a blocking call cannot be cancelled")
    with scripted_server(never_read, receive_buffer=4096) as address:
        async with open_client(kind, *address) as client:
            native: Any = client.native
            if kind == "asyncio":
                transport = native._backend.stream.transport
                transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            big = native.submit(Action("UserEvent", UserEvent="Big", Data="x" * 2_000_000), timeout=5)
            if kind == "asyncio":
                big.add_done_callback(lambda f: f.cancelled() or f.exception())
                await wait_until(lambda: transport.get_write_buffer_size() > 1_000_000)
            with anyio.move_on_after(0.2) as scope:
                await client.send_action(Action("Ping", ActionID="blocked"), timeout=5)
            assert scope.cancelled_caught
            assert "blocked" not in native._session.waiters


def big_action() -> Action:
    # More than the kernel's socket buffers take from a server that does not read.
    return Action("UserEvent", UserEvent="Big", Data="x" * 8_000_000)


def ignore_outcome(kind: str, answer: Any) -> None:
    if kind == "asyncio":
        answer.add_done_callback(lambda f: f.cancelled() or f.exception())


async def test_a_timeout_holds_while_the_socket_is_full(kind: str) -> None:
    with scripted_server(never_read, receive_buffer=4096) as address:
        async with open_client(kind, *address) as client:
            native: Any = client.native
            ignore_outcome(kind, native.submit(big_action(), timeout=5))
            started = time.monotonic()
            with anyio.fail_after(5):
                await expect_error(amiproto.ActionTimeout, client.send_action(Action("Ping"), timeout=0.3))
            # Its own timeout, not the big action's: nobody waits for the socket first.
            assert time.monotonic() - started < 3


def login_then_never_read(sock: socket.socket) -> None:
    """Accept the login, then never read again: the client's writes back up."""
    accept_login(sock)


async def test_a_server_that_stops_reading_bounds_every_wait_and_every_byte(kind: str) -> None:
    limit = 64 * 1024
    with scripted_server(login_then_never_read, receive_buffer=4096) as address:
        with anyio.fail_after(15):
            async with open_client(
                kind, *address, username="admin", secret="x", auth="plain", max_send_buffer=limit
            ) as client:
                native: Any = client.native
                first = big_action()
                # The first is queued whole (the buffer was empty) and times out unanswered;
                # the second and the Ping find no room and time out before being queued.
                for action in (first, big_action(), Action("Ping", ActionID="tiny")):
                    await expect_error(amiproto.ActionTimeout, client.send_action(action, timeout=0.5))
                bound = limit + len(first.serialize()) + 256  # + its ActionID
                assert 0 < client.unsent_bytes() <= bound
                assert not native._session.waiters
                assert "tiny" not in native._session.conn.pending_action_ids
                refused = Action("Ping", ActionID="refused")
                if kind == "sync":
                    # A blocking submit waits for room, at most its timeout.
                    submit = partial(native.submit, refused, 0.3)
                    await expect_error(amiproto.ActionTimeout, anyio.to_thread.run_sync(submit))
                else:
                    with pytest.raises(amiproto.ActionTimeout, match="max_send_buffer"):
                        native.submit(refused)  # cannot wait: refused at once
                assert "refused" not in native._session.conn.pending_action_ids
                assert 0 < client.unsent_bytes() <= bound
                # The Logoff finds no room either: close gives up after its grace, and aborts.
                with anyio.fail_after(2 * CLOSE_GRACE + 3):
                    await client.close()
                assert not client.is_connected()


def cut_after_a_while(sock: socket.socket) -> None:
    """Read nothing, then drop the connection while the client still has bytes to send."""
    time.sleep(0.5)


def answer_pings(received: bytearray) -> Callable[[socket.socket], None]:
    """A server script that keeps every byte it is sent and answers each action with Pong."""

    def script(sock: socket.socket) -> None:
        server = amiproto.ServerConnection()
        sock.settimeout(5.0)
        while data := sock.recv(65536):
            received.extend(data)
            with contextlib.suppress(amiproto.RemoteProtocolError):  # stale bytes: the test sees them
                server.receive_data(data)
                while isinstance(action := server.next_action(), amiproto.ReceivedAction):
                    answer = f"Response: Success\r\nActionID: {action.action_id}\r\nPing: Pong\r\n\r\n"
                    sock.sendall(answer.encode())

    return script


async def test_bytes_queued_for_a_lost_connection_never_reach_the_next(kind: str) -> None:
    received = bytearray()
    backoff = Backoff(initial=0.02, maximum=0.1)
    with scripted_connections(cut_after_a_while, answer_pings(received), receive_buffer=4096) as address:
        async with open_client(kind, *address, reconnect=True, backoff=backoff) as client:
            (outcome,) = await client.submit_all([big_action()], timeout=10)
            assert isinstance(outcome, amiproto.ConnectionLost)
            await wait_until(client.is_connected)
            assert (await client.send_action(Action("Ping", ActionID="after"))).success
            await anyio.sleep(0.2)  # time for stale bytes to follow
    assert b"Action: Ping" in received and b"Big" not in received and b"xxxx" not in received


def answer_the_second_login(sock: socket.socket) -> None:
    read_action(sock)  # the first login: never answered
    action_id = read_action(sock)["actionid"]
    answer = f"Response: Success\r\nActionID: {action_id}\r\nMessage: Authentication accepted\r\n\r\n"
    sock.sendall(answer.encode())


async def test_a_cancelled_login_leaves_no_login_in_progress(kind: str) -> None:
    if kind == "sync":
        pytest.skip("a blocking call cannot be cancelled")
    with scripted_server(answer_the_second_login) as address:
        async with open_client(kind, *address) as client:
            with anyio.move_on_after(0.2) as scope:
                await client.login("admin", "wordpass", auth="plain", timeout=5)
            assert scope.cancelled_caught
            assert (await client.login("admin", "wordpass", auth="plain", timeout=2)).success


def answer_the_first_login_late(accept: bool) -> Callable[[socket.socket], None]:
    """Answer the first login only after its caller gave up on it (refused or accepted),
    then accept every later login and answer every other action."""

    def script(sock: socket.socket) -> None:
        first = read_action(sock)
        time.sleep(0.4)
        verdict = "Success" if accept else "Error"
        sock.sendall(f"Response: {verdict}\r\nActionID: {first['actionid']}\r\n\r\n".encode())
        while True:
            action = read_action(sock)
            message = "Authentication accepted" if action["action"].lower() == "login" else "Pong"
            answer = f"Response: Success\r\nActionID: {action['actionid']}\r\nMessage: {message}\r\n\r\n"
            sock.sendall(answer.encode())

    return script


@pytest.mark.parametrize("accept", [False, True])
async def test_the_late_answer_to_a_cancelled_login_goes_to_nobody(kind: str, accept: bool) -> None:
    if kind == "sync":
        pytest.skip("a blocking call cannot be cancelled")
    seen: list[str] = []
    with scripted_server(answer_the_first_login_late(accept)) as address:
        async with open_client(kind, *address) as client:
            client.register_callback("", lambda event: seen.append(event.name))
            with anyio.move_on_after(0.1) as scope:
                await client.login("admin", "wrong", auth="plain", timeout=5)
            assert scope.cancelled_caught
            # Sent while the first is in flight; the server answers the first one first.
            assert (await client.login("admin", "wordpass", auth="plain", timeout=3)).success
            assert (await client.send_action(Action("Ping"), timeout=3)).success
            assert client.is_connected()
    assert "Reconnected" not in seen  # not taken for a reconnect's re-login


async def test_fault_close_mid_list(kind: str, simulator: Simulator, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        await client.send_action(
            Action("Originate", Channel="Local/echo@default", Application="Wait", Data="5", Async="true")
        )
        simulator.set_fault("close_mid_list")
        started = time.monotonic()
        await expect_error(amiproto.ConnectionLost, client.send_action(Action("CoreShowChannels"), timeout=5))
        assert time.monotonic() - started < 2  # failed at once, not at its timeout
        await wait_until(lambda: not client.is_connected())
        await expect_error(amiproto.ConnectionLost, client.send_action(Action("Ping")))


async def test_fault_stall_times_out(kind: str, simulator: Simulator, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        simulator.set_fault("stall")
        await expect_error(amiproto.ActionTimeout, client.send_action(Action("Ping"), timeout=0.2))
        assert client.is_connected()


async def test_a_timer_left_armed_for_an_answered_action_changes_nothing(
    kind: str, simulator: Simulator, server: Address
) -> None:
    """The async clients re-arm their timer only for a sooner deadline: one left for an
    action answered since fires early, finds nothing due, and arms the next deadline."""
    async with open_client(kind, *server, **ADMIN) as client:
        assert (await client.send_action(Action("Ping"), timeout=0.15)).success  # its timer stays
        simulator.set_fault("stall")
        started = time.monotonic()
        with anyio.fail_after(5):  # a timer never armed again would wait for ever
            await expect_error(amiproto.ActionTimeout, client.send_action(Action("Ping"), timeout=0.5))
        assert 0.45 <= time.monotonic() - started < 2  # at its own deadline, not the early one
        assert client.is_connected()


async def test_unanswered_login_is_a_timeout_not_a_refusal(
    kind: str, simulator: Simulator, server: Address
) -> None:
    async with open_client(kind, *server) as client:
        simulator.set_fault("stall")
        login = client.login("admin", "wordpass", auth="plain", timeout=0.2)
        await expect_error(amiproto.ActionTimeout, login)


async def test_fault_garbage(kind: str, simulator: Simulator, server: Address) -> None:
    unknown: list[bytes] = []
    async with open_client(kind, *server, **ADMIN) as client:
        client.register_callback(amiproto.UnknownMessage, lambda m: unknown.append(m.raw))
        simulator.set_fault("garbage")
        assert (await client.send_action(Action("Ping"))).success
        await wait_until(lambda: bool(unknown))
        assert b"garbage" in unknown[0]


async def test_keepalive_detects_stall(kind: str, simulator: Simulator, server: Address) -> None:
    async with open_client(kind, *server, keepalive=0.15, **ADMIN) as client:
        assert (await client.send_action(Action("Ping"))).success
        await anyio.sleep(0.4)  # idle pings answered: still connected
        assert client.is_connected()
        simulator.set_fault("stall")
        started = time.monotonic()
        waiting = expect_error(amiproto.ConnectionLost, client.send_action(Action("Ping"), timeout=10))
        await waiting
        # The issue asks for about two intervals (0.3 s); the slack is for a loaded machine.
        assert time.monotonic() - started < 1.0
        assert not client.is_connected()


async def test_reconnect(kind: str, simulator: Simulator, server: Address) -> None:
    notices: list[amiproto.Event] = []
    users: list[str] = []
    backoff = Backoff(initial=0.02, maximum=0.1)
    async with open_client(kind, *server, reconnect=True, backoff=backoff, **ADMIN) as client:
        client.register_callback(Reconnected, notices.append)
        client.register_callback(Disconnected, notices.append)
        client.register_callback("UserEvent", lambda e: users.append(e.get("UserEvent") or ""))
        assert (
            await client.send_action(Action("Filter", Operation="Add", Filter="!UserEvent: Blocked"))
        ).success
        simulator.set_fault("cut_at_eof")
        await expect_error(amiproto.ConnectionLost, client.send_action(Action("Ping")))
        simulator.set_fault(None)
        await wait_until(lambda: any(isinstance(n, Reconnected) for n in notices))
        await wait_until(client.is_connected)
        reconnected = next(n for n in notices if isinstance(n, Reconnected))
        assert reconnected.get("Reapplied") == "1"
        assert isinstance(notices[0], Disconnected)
        for name in ("Blocked", "Allowed"):
            assert (await client.send_action(Action("UserEvent", UserEvent=name))).success
        await wait_until(lambda: "Allowed" in users)
        assert "Blocked" not in users  # the filter was re-applied


async def test_tls(kind: str, server: Address) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with tls_proxy(server, server_context) as tls_address:
        async with open_client(kind, *tls_address, ssl=client_context, **ADMIN) as client:
            assert (await client.send_action(Action("Ping"))).success
            command = await client.send_action(Action("Command", Command="core show uptime"))
            assert command.success
        # A client that does not trust the CA must not connect.
        await expect_error(
            amiproto.ConnectionLost,
            open_client(kind, *tls_address, ssl=ssl.create_default_context(), **ADMIN).__aenter__(),
        )


async def test_close_is_idempotent_and_fails_later_sends(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        face: Face = client
        assert (await client.send_action(Action("Ping"))).success
        with anyio.fail_after(5):
            await client.close()
            assert not client.is_connected()
            await client.close()  # again: returns at once, raises nothing
        await expect_error(amiproto.ConnectionLost, client.send_action(Action("Ping")))
    # and a third time, by the context manager on the way out
    assert not face.is_connected()
    await expect_error(amiproto.ConnectionLost, face.send_action(Action("Ping")))


async def a_new_events_iterator_ends(face: Face) -> bool:
    """Whether an ``events()`` iterator without a timeout, made now, ends (within 5 s)."""
    native: Any = face.native
    if face.kind == "sync":
        ended: list[list[amiproto.Event]] = []
        iterator = native.events()
        reader = threading.Thread(target=lambda: ended.append(list(iterator)), daemon=True)
        reader.start()
        await anyio.to_thread.run_sync(partial(reader.join, 5))
        return bool(ended)
    events = native.events()
    with anyio.move_on_after(5):
        async for _ in events:
            pass
        return True
    await events.aclose()
    return False


async def test_events_made_after_the_end_end_at_once_with_reconnect_on(kind: str, server: Address) -> None:
    async with open_client(kind, *server, reconnect=True, **ADMIN) as client:
        await client.close()
        assert await a_new_events_iterator_ends(client)
    with scripted_connections(accept_login_then_drop, refuse_login) as address:
        backoff = Backoff(initial=0.02, maximum=0.1)
        options: dict[str, Any] = {"username": "admin", "secret": "x", "auth": "plain"}
        async with open_client(kind, *address, reconnect=True, backoff=backoff, **options) as client:
            native: Any = client.native
            await wait_until(lambda: native._give_up and native._queue.closed, 5)
            assert await a_new_events_iterator_ends(client)  # gave up reconnecting


async def test_wire_trace_hides_secrets(kind: str, server: Address, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="amiproto.wire"):
        async with open_client(kind, *server, auth="plain", trace=True, **ADMIN) as client:
            assert (await client.send_action(Action("Ping"))).success
    wire = [r.getMessage() for r in caplog.records if r.name == "amiproto.wire"]
    assert any(m.startswith("-> Action: Ping") for m in wire)
    assert any(m.startswith("<- ") and "Pong" in m for m in wire)
    assert any("Secret: <redacted>" in m for m in wire)
    assert "wordpass" not in caplog.text


def accept_login_then_drop(sock: socket.socket) -> None:
    """Accept the login, then the server goes away (the connection is reset)."""
    accept_login(sock)
    time.sleep(0.2)


def drop_during_login(sock: socket.socket) -> None:
    """The server restarts: it reads the re-login and closes without answering."""
    read_action(sock)
    sock.shutdown(socket.SHUT_WR)  # an end of file first, as a restarting server sends
    time.sleep(0.2)


async def reconnect_notices(kind: str, address: Address, **options: Any) -> list[amiproto.Event]:
    """Connect with reconnect on, and collect Disconnected and Reconnected notices until one
    Reconnected comes or the reconnecting gives up; the client is closed on return."""
    notices: list[amiproto.Event] = []
    backoff = Backoff(initial=0.02, maximum=0.1)
    options.update(username="admin", secret="x", auth="plain", reconnect=True, backoff=backoff)
    async with open_client(kind, *address, **options) as client:
        client.register_callback(Reconnected, notices.append)
        client.register_callback(Disconnected, notices.append)
        native: Any = client.native
        await wait_until(lambda: bool(notices))  # the first loss is seen
        with anyio.move_on_after(5):
            await wait_until(lambda: any(isinstance(n, Reconnected) for n in notices) or native._give_up, 5)
        if native._give_up:
            assert not client.is_connected()
            await expect_error(amiproto.ConnectionLost, client.send_action(Action("Ping")))
        else:
            await wait_until(client.is_connected)
    return notices


def accept_login_and_logoff(sock: socket.socket) -> None:
    """Accept the login, and answer the Logoff that closes the client."""
    accept_login(sock)
    action_id = read_action(sock)["actionid"]
    sock.sendall(f"Response: Goodbye\r\nActionID: {action_id}\r\n\r\n".encode())


async def test_a_relogin_without_answer_is_retried_with_the_backoff(kind: str) -> None:
    with scripted_connections(accept_login_then_drop, drop_during_login, accept_login_and_logoff) as address:
        notices = await reconnect_notices(kind, address)
    assert [type(n) for n in notices] == [Disconnected, Reconnected]
    assert notices[1].get("Attempts") == "2"  # the failed re-login was the first attempt


async def test_a_refused_relogin_ends_the_retries_unless_asked(kind: str) -> None:
    with scripted_connections(accept_login_then_drop, refuse_login) as address:
        notices = await reconnect_notices(kind, address)
    assert [type(n) for n in notices] == [Disconnected]
    with scripted_connections(accept_login_then_drop, refuse_login, accept_login_and_logoff) as address:
        notices = await reconnect_notices(kind, address, retry_refused_login=True)
    assert [type(n) for n in notices] == [Disconnected, Reconnected]
    assert notices[1].get("Attempts") == "2"


@contextlib.contextmanager
def dropping_server(script: Callable[[socket.socket], None]) -> Iterator[tuple[Address, list[int]]]:
    """A server that greets each connection, runs ``script`` on it and closes it: the
    address, and a count of the connections it took."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    taken = [0]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            taken[0] += 1
            with conn, contextlib.suppress(OSError):
                conn.settimeout(5.0)
                conn.sendall(GREETING)
                script(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[:2], taken
    finally:
        stop.set()
        thread.join(5.0)
        listener.close()


@pytest.mark.parametrize("with_login", [False, True])
async def test_connections_dropped_at_once_use_the_backoff_attempts_up(kind: str, with_login: bool) -> None:
    # Accepted (and logged in), then dropped before the server sent anything more: never
    # up for real, so each is one more attempt, and Backoff(attempts=3) ends the retries.
    options: dict[str, Any] = {"username": "admin", "secret": "x", "auth": "plain"} if with_login else {}
    registered = threading.Event()
    first = [True]

    def script(sock: socket.socket) -> None:
        if with_login:
            accept_login(sock)
        if first[0]:
            first[0] = False
            registered.wait(5)  # the first loss comes once the callbacks are there to see it

    notices: list[amiproto.Event] = []
    with dropping_server(script) as (address, taken):
        backoff = Backoff(initial=0.01, maximum=0.02, attempts=3)
        async with open_client(kind, *address, reconnect=True, backoff=backoff, **options) as client:
            client.register_callback(Disconnected, notices.append)
            client.register_callback(Reconnected, notices.append)
            registered.set()
            native: Any = client.native
            await wait_until(lambda: native._queue.closed, 10)  # gave up reconnecting
            assert taken[0] == 4  # the first connection and three attempts
    # Each time it was up, the program was told, and told of its loss.
    assert [type(n) for n in notices] == [Disconnected, Reconnected] * 3 + [Disconnected]


async def test_ssl_true_is_the_default_verifying_context(kind: str, server: Address) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    with tls_proxy(server, server_context) as tls_address:
        # The default trust store does not know this CA: the handshake fails, and says why.
        error = await expect_error(
            amiproto.ConnectionLost, open_client(kind, *tls_address, ssl=True, **ADMIN).__aenter__()
        )
        assert "certificate verify failed" in str(error).lower()


def endless_list(sock: socket.socket) -> None:
    """Accept the login, start a list for the next action and never end it; answer a Ping."""
    accept_login(sock)
    action_id = read_action(sock)["actionid"]
    sock.sendall(f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n\r\n".encode())
    item = f"Event: Status\r\nActionID: {action_id}\r\nChannel: Local/1@x\r\n\r\n".encode()
    sock.sendall(item * 50)  # well past the bound below, and never a Complete
    ping = read_action(sock)["actionid"]
    sock.sendall(f"Response: Success\r\nActionID: {ping}\r\nPing: Pong\r\n\r\n".encode())
    logoff = read_action(sock)["actionid"]  # answered, so that close() need not wait its grace
    sock.sendall(f"Response: Goodbye\r\nActionID: {logoff}\r\n\r\n".encode())


async def test_a_list_that_never_ends_fails_at_its_bound_and_the_connection_goes_on(kind: str) -> None:
    with scripted_server(endless_list) as address:
        with anyio.fail_after(15):
            async with open_client(
                kind, *address, username="admin", secret="x", auth="plain", max_list_events=10
            ) as client:
                await expect_error(
                    amiproto.ListTooLong,
                    client.send_action(Action("Status", ActionID="endless"), timeout=None),
                )
                pong = await client.send_action(Action("Ping"), timeout=5)
                assert pong.success and client.is_connected()


@pytest.mark.parametrize("auth", ["md5", "plain"])
async def test_bad_credentials_are_refused_at_the_call_and_nothing_is_sent(
    kind: str, server: Address, auth: str
) -> None:
    async with open_client(kind, *server) as client:
        for username, secret in (
            ("admin", "word\r\nAction: Hangup"),
            ("ad\nmin", "wordpass"),
            ("admin", "\0"),
        ):
            await expect_error(amiproto.LocalProtocolError, client.login(username, secret, auth=auth))
        # Nothing was left pending: the next login goes through.
        assert (await client.login("admin", "wordpass", auth=auth)).success
        assert (await client.send_action(Action("Ping"))).success


async def test_an_unencodable_value_is_refused_at_the_call(kind: str, server: Address) -> None:
    async with open_client(kind, *server, username="admin", secret="wordpass") as client:
        await expect_error(
            amiproto.LocalProtocolError, client.send_action(Action("UserEvent", UserEvent="x", Data="\ud800"))
        )
        assert (await client.send_action(Action("Ping"))).success


async def test_wait_closed_returns_after_close_and_at_once_afterwards(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        assert not await client.wait_closed(0.05)  # connected: it waits
        async with anyio.create_task_group() as group:
            ended: list[bool] = []

            async def wait() -> None:
                ended.append(await client.wait_closed(5.0))

            group.start_soon(wait)
            group.start_soon(wait)  # two waiters at once both return
            await anyio.sleep(0.05)
            await client.close()
        assert ended == [True, True]
        assert await client.wait_closed(0.0 if kind == "sync" else 1.0)


def accept_login_then_close(sock: socket.socket) -> None:
    """Accept the login, then close the connection (the last script is otherwise held open)."""
    accept_login(sock)
    sock.shutdown(socket.SHUT_RDWR)


async def test_wait_closed_returns_when_the_connection_ends_without_reconnect(kind: str) -> None:
    with scripted_server(accept_login_then_close) as address:
        async with open_client(kind, *address, username="admin", secret="x", auth="plain") as client:
            assert await client.wait_closed(5.0)
            assert not client.is_connected()


async def test_wait_closed_outlasts_a_reconnect_and_returns_when_it_gives_up(kind: str) -> None:
    notices: list[amiproto.Event] = []
    backoff = Backoff(initial=0.02, maximum=0.05, attempts=2)
    callbacks = {Reconnected: notices.append}
    # The second connection is closed too; then nobody answers a login: the attempts run out.
    with scripted_connections(accept_login_then_drop, accept_login_then_close) as address:
        async with open_client(
            kind,
            *address,
            username="admin",
            secret="x",
            auth="plain",
            reconnect=True,
            backoff=backoff,
            callbacks=callbacks,
            timeout=0.3,  # for each unanswered re-login
        ) as client:
            ended: list[bool] = []

            async def wait() -> None:
                ended.append(await client.wait_closed(5.0))

            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                await wait_until(lambda: bool(notices))
                # Made after the loss and the reconnect, this check sees the wait go on.
                assert not ended
            assert ended == [True]
            assert not client.is_connected()

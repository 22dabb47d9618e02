"""``connect(..., live=True)``: the live model on the sync, asyncio and trio clients, against
the simulator (and scripted servers for what the simulator will not do)."""

from __future__ import annotations

import socket
import time
from typing import Any

import anyio
import anyio.to_thread
import pytest

import amiproto
from amiproto import Action
from amiproto.live import PBX, Change, ChannelAdded, ChannelRemoved, QueueAdded
from amiproto_transports import sync as sync_client
from amiproto_transports._shared import Backoff, Disconnected, Reconnected

from .harness import (
    Face,
    GatedProxy,
    accept_login,
    expect_error,
    open_client,
    scripted_server,
    wait_until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

Address = tuple[str, int]
ADMIN: dict[str, Any] = {"username": "admin", "secret": "wordpass"}

# The five snapshot lists: their items and ends come as events, for the snapshot only.
SNAPSHOT_EVENTS = {
    "BridgeListComplete",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "QueueParams",
    "QueueMember",
    "QueueStatusComplete",
    "DeviceStateListComplete",
    "ExtensionStateListComplete",
}


def call(name: str) -> Action:
    """A synchronous Originate of a call of two Local channels with known uniqueids
    (``name-1`` and ``name-2``) that lasts 30 s; answered once the call is up."""
    return Action(
        "Originate",
        Channel="Local/wait@default",
        Application="Wait",
        Data="30",
        ChannelId=f"{name}-1",
        OtherChannelId=f"{name}-2",
    )


async def server_channels(client: Face) -> set[str]:
    """The uniqueids of the channels the server lists now."""
    listed = await client.send_action(Action("CoreShowChannels"))
    return {e.get("Uniqueid") or "" for e in listed.events if e.name == "CoreShowChannel"}


def model_channels(client: Face) -> set[str]:
    return set(client.read_live(lambda live: list(live.channels)))


async def test_the_model_is_synced_at_connect_and_follows_the_calls(kind: str, server: Address) -> None:
    every: list[amiproto.Event] = []
    order: list[str] = []
    async with open_client(kind, *server, live=True, callbacks={"": every.append}, **ADMIN) as client:
        # connect() returned: the snapshot is applied (the simulator has a queue and devices).
        assert client.read_live(
            lambda live: (live.synced, "support" in live.queues, bool(live.device_states))
        )
        await wait_until(lambda: any(e.name == "FullyBooted" for e in every))
        assert not SNAPSHOT_EVENTS & {e.name for e in every}  # the program did not ask for them

        added: list[str] = []
        removed: list[str] = []
        client.register_live_callback(ChannelAdded, lambda change: added.append(change.channel.uniqueid))
        client.register_live_callback(ChannelRemoved, lambda change: removed.append(change.channel.uniqueid))
        client.register_live_callback(None, lambda change: order.append(type(change).__name__))
        client.register_callback("Newchannel", lambda event: order.append(event.name))

        for name in ("one", "two"):
            assert (await client.send_action(call(name))).success
        ids = {"one-1", "one-2", "two-1", "two-2"}
        await wait_until(lambda: ids <= set(added))
        assert model_channels(client) == ids == await server_channels(client)
        created = client.read_live(lambda live: live.channels["one-1"].created)
        assert abs(created - time.time()) < 60  # the wall clock: times are for people
        # Each change right after the event that made it, in the callbacks' one order.
        assert order[:2] == ["Newchannel", "ChannelAdded"]

        assert (await client.send_action(Action("Hangup", Channel="one-1"))).success
        await wait_until(lambda: {"one-1", "one-2"} <= set(removed))
        assert model_channels(client) == {"two-1", "two-2"} == await server_channels(client)
        assert client.read_live(lambda live: live.synced)


async def test_the_model_is_resynced_after_a_reconnect(kind: str, server: Address) -> None:
    notices: list[amiproto.Event] = []
    added: list[str] = []
    removed: list[str] = []
    backoff = Backoff(initial=0.02, maximum=0.05)
    with GatedProxy(server) as proxy:
        options: dict[str, Any] = {"live": True, "reconnect": True, "backoff": backoff, **ADMIN}
        async with (
            open_client(kind, *proxy.address, **options) as client,
            open_client(kind, *server, **ADMIN) as other,
        ):
            for name in ("kept", "ended"):
                assert (await client.send_action(call(name))).success
            client.register_callback(Disconnected, notices.append)
            client.register_callback(Reconnected, notices.append)
            client.register_live_callback(ChannelAdded, lambda change: added.append(change.channel.uniqueid))
            client.register_live_callback(
                ChannelRemoved, lambda change: removed.append(change.channel.uniqueid)
            )

            proxy.cut()
            await wait_until(lambda: any(isinstance(n, Disconnected) for n in notices))
            assert not client.read_live(lambda live: live.synced)
            # While the client is away: one call ends, another starts. It sees neither.
            assert (await other.send_action(Action("Hangup", Channel="ended-1"))).success
            assert (await other.send_action(call("new"))).success
            refused = proxy.accepted
            await wait_until(lambda: proxy.accepted > refused)  # an attempt met the closed gate
            assert removed == [] and added == []
            proxy.open()

            await wait_until(lambda: any(isinstance(n, Reconnected) for n in notices), timeout=10)
            await wait_until(lambda: client.read_live(lambda live: live.synced), timeout=10)
            assert set(removed) == {"ended-1", "ended-2"}  # reconciled: gone from the server's list
            assert set(added) == {"new-1", "new-2"}
            expected = {"kept-1", "kept-2", "new-1", "new-2"}
            assert model_channels(client) == expected == await server_channels(other)


async def test_error_answers_to_the_snapshot_do_not_stop_the_login(kind: str) -> None:
    # A server without app_queue (or hints, or rights) answers some snapshot actions with an error.
    def script(sock: socket.socket) -> None:
        accept_login(sock)
        for action in read_actions(sock, 5):
            refusal = "Message: Invalid/unknown command"
            sock.sendall(f"Response: Error\r\nActionID: {action['actionid']}\r\n{refusal}\r\n\r\n".encode())

    with scripted_server(script) as address:
        async with open_client(kind, *address, auth="plain", live=True, **ADMIN) as client:
            assert client.read_live(lambda live: live.synced)


async def test_a_snapshot_without_answer_fails_the_login_at_its_timeout(kind: str) -> None:
    def script(sock: socket.socket) -> None:
        accept_login(sock)
        read_actions(sock, 5)  # and never answered

    with scripted_server(script) as address:
        opening = open_client(kind, *address, auth="plain", live=True, timeout=0.5, **ADMIN)
        error = await expect_error(amiproto.ActionTimeout, opening.__aenter__())
        assert "got no answer in time" in str(error)


async def test_a_snapshot_list_over_max_list_events_fails_the_login(kind: str, server: Address) -> None:
    # The simulator lists 11 devices: more than 2.
    opening = open_client(kind, *server, live=True, max_list_events=2, **ADMIN)
    await expect_error(amiproto.ListTooLong, opening.__aenter__())


async def test_a_model_given_is_the_one_kept_and_callbacks_given_see_its_snapshot(
    kind: str, server: Address
) -> None:
    model = PBX(history=5)
    queues: list[Change] = []
    async with open_client(
        kind, *server, live=model, callbacks={QueueAdded: queues.append}, **ADMIN
    ) as client:
        assert client.live is model and model.synced
        await wait_until(lambda: bool(queues))  # registered before the login: the snapshot's changes too
        assert isinstance(queues[0], QueueAdded) and queues[0].queue.name == "support"
        assert (await client.send_action(call("short"))).success
        assert (await client.send_action(Action("Hangup", Channel="short-1"))).success
        await wait_until(lambda: len(model.finished_calls) == 1)


async def test_without_live_there_is_no_model(kind: str, server: Address) -> None:
    async with open_client(kind, *server, **ADMIN) as client:
        with pytest.raises(amiproto.LocalProtocolError, match="live=True"):
            _ = client.live
    with pytest.raises(TypeError, match="live"):
        await open_client(kind, *server, live="yes", **ADMIN).__aenter__()


@pytest.mark.parametrize("kind", ["sync"])
async def test_live_lock_holds_the_sync_model_still(kind: str, server: Address) -> None:
    def run() -> None:
        with (
            sync_client.connect(*server, live=True, timeout=5, **ADMIN) as client,
            sync_client.connect(*server, timeout=5, **ADMIN) as other,
        ):
            with client.live_lock:
                before = set(client.live.channels)
                assert other.send_action(call("held")).success  # its events are on their way to client
                time.sleep(0.3)  # time for the reader to read them: it must wait for the lock
                assert set(client.live.channels) == before
                # Sending while holding it is allowed; only waiting for the answer is not.
                ping = client.submit(Action("Ping"))
            assert ping.result(5).success
            deadline = time.monotonic() + 5
            while not {"held-1", "held-2"} <= set(client.live.channels):
                assert time.monotonic() < deadline, "the model never caught up"
                time.sleep(0.01)

    await anyio.to_thread.run_sync(run)


def read_actions(sock: socket.socket, count: int) -> list[dict[str, str]]:
    """Read ``count`` actions from ``sock`` (blocking), however they were split in writes."""
    data = b""
    actions: list[dict[str, str]] = []
    while len(actions) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the client went away")
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        actions.append({n.strip().lower(): v.strip() for n, _, v in (line.partition(":") for line in lines)})
    return actions

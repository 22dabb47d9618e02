"""What a user's own code writes, checked with ``mypy --strict`` by ``test_typing.py``.

Never run: it only has to type-check.
"""

from __future__ import annotations

from amiproto import ActionCompleted, Event, Response, actions, events
from amiproto.live import Change, ChannelAdded, QueueAdded
from amiproto_transports import asyncio as aio_client
from amiproto_transports import sync, trio


def on_newchannel(event: events.Newchannel) -> None:
    print(event.channel)


def on_any(event: Event) -> None:
    print(event.name)


def on_orphan(response: Response) -> None:
    print(response.action_id)


async def on_hangup_async(event: events.Hangup) -> None:
    print(event.cause)


def on_change(change: Change) -> None:
    print(type(change).__name__)


async def on_queue_added(change: QueueAdded) -> None:
    print(change.queue.name)


def with_sync(client: sync.Client) -> str | None:
    client.register_callback(events.Newchannel, on_newchannel)
    client.register_callback(events.Newchannel, lambda event: print(event.channel_state_desc))
    client.register_callback("Newchannel", on_any)
    client.register_callback("", lambda event: print(event.name))
    client.register_callback(None, on_orphan)
    client.register_callback(None, lambda response: print(response.message))
    client.register_live_callback(ChannelAdded, lambda change: print(change.channel.uniqueid))
    client.register_live_callback(None, on_change)
    with client.live_lock:
        print(len(client.live.channels), client.live.synced)
    originate = actions.Originate(channel="Local/100@default", application="Wait", async_=True)
    done: ActionCompleted = client.send_action(originate, wait_for_result=True)
    client.submit(originate, wait_for_result=True).result(5.0)
    if done.result is not None:
        print(done.result.get("Reason"))
    return done.get("Message")


async def with_asyncio(client: aio_client.Client) -> str | None:
    client.register_callback(events.Hangup, on_hangup_async)
    client.register_callback(Event, on_any)
    client.register_callback(None, on_orphan)
    client.register_live_callback(QueueAdded, on_queue_added)
    print(client.live.queues)
    ping = actions.Ping()
    done = await client.send_action(ping, wait_for_result=True)
    await client.submit(ping, wait_for_result=True)
    return done.get("Ping")


async def with_trio(client: trio.Client) -> bool:
    client.register_callback(events.Newchannel, on_newchannel)
    client.register_callback("newchannel", on_any)
    done = await client.send_action(actions.Ping(), 5.0, wait_for_result=True)
    await client.submit(actions.Ping(), wait_for_result=True).get()
    return done.success

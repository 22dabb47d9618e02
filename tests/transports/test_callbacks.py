"""CallbackRegistry: which callbacks a message goes to, and in what order."""

from __future__ import annotations

import pytest

from amiproto import Event, Response
from amiproto_transports._common import CallbackRegistry, Reconnected


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

"""The change reports (``amiproto.live._changes``): immutable, typed, compared by type and fields."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle

import pytest

from amiproto import live
from amiproto.live import (
    CallAdded,
    Channel,
    ChannelAdded,
    ChannelChanged,
    ChannelRemoved,
    ExtensionState,
    ExtensionStateChanged,
)

CHANGE_CLASSES = [
    getattr(live, name) for name in live.__all__ if name.endswith(("Added", "Changed", "Removed"))
]


def test_every_change_class_is_a_frozen_slotted_dataclass_built_by_its_fields() -> None:
    assert len(CHANGE_CLASSES) == 20
    for cls in CHANGE_CLASSES:
        fields = dataclasses.fields(cls)
        params = inspect.signature(cls).parameters
        assert [field.name for field in fields] == list(params), cls
        assert cls.__dataclass_params__.frozen and "__slots__" in vars(cls), cls
        made = cls(*(object() for _ in fields if _.default is dataclasses.MISSING))
        for field in fields:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(made, field.name, None)
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(made, field.name)
        assert not hasattr(made, "__dict__")


def test_changes_compare_by_type_and_fields_and_read_as_dataclasses() -> None:
    channel = Channel("1.1")
    fields = {"exten": ("100", "200")}
    assert ChannelChanged(channel, fields) == ChannelChanged(channel=channel, fields=dict(fields))
    assert ChannelChanged(channel, fields) != ChannelChanged(channel, {"exten": ("100", "300")})
    added: object = ChannelAdded(channel)
    assert added != ChannelRemoved(channel)  # the same fields, another kind
    assert hash(ChannelAdded(channel)) == hash(ChannelAdded(channel))
    assert repr(ChannelChanged(channel, fields)) == f"ChannelChanged(channel={channel!r}, fields={fields!r})"
    state = ExtensionState("100", "internal")
    assert ExtensionStateChanged(state, None) == ExtensionStateChanged(state, None, removed=False)
    assert dataclasses.replace(ExtensionStateChanged(state, None), removed=True).removed
    assert dataclasses.asdict(CallAdded(live.Call("1.1")))["call"]["linkedid"] == "1.1"
    with pytest.raises(TypeError):
        ChannelChanged(channel)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ChannelAdded(channel, fields)  # type: ignore[call-arg]
    change = ChannelChanged(channel, fields)
    assert copy.copy(change) == change
    assert pickle.loads(pickle.dumps(change)).fields == fields

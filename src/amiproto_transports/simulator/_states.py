"""What the PBX holds when the simulator starts: its loaded modules and its device state cache.

Asterisk answers DeviceStateList from its cache of every device whose state was
ever published (Local channels are not cached). The recorded server had been
running; its cache, as DeviceStateList showed it in the ``all_actions``
recording and in that order, is where a new simulator starts, so a client sees
the same devices.
"""

from __future__ import annotations

__all__ = ["LOADED_MODULES", "RECORDED_DEVICE_STATES", "RELOADABLE"]

RECORDED_DEVICE_STATES: tuple[tuple[str, str], ...] = (
    ("MWI:1234@devices@myaliases", "NOT_INUSE"),
    ("MWI:1234@other", "NOT_INUSE"),
    ("confbridge:ah-room", "NOT_INUSE"),
    ("Queue:support_avail", "NOT_INUSE"),
    ("park:701@parkedcalls", "NOT_INUSE"),
    ("MWI:1234@default", "NOT_INUSE"),
    ("confbridge:p-room", "NOT_INUSE"),
    ("Queue:support_pause_Local/aamember@default", "NOT_INUSE"),
    ("Queue:support_pause_Local/ahmember@default", "NOT_INUSE"),
    ("Queue:support_pause_Local/wait@default", "NOT_INUSE"),
    ("confbridge:aa-room", "NOT_INUSE"),
)
"""(device, state) in the order the recorded server listed them."""

RELOADABLE = frozenset(
    {
        "app_agent_pool",
        "app_confbridge",
        "app_queue",
        "app_voicemail",
        "chan_iax2",
        "pbx_config",
        "res_fax",
        "res_musiconhold",
        "res_parking",
        "res_rtp_asterisk",
    }
)
"""Loaded modules that implement reload (a subset of ``LOADED_MODULES``)."""

LOADED_MODULES = RELOADABLE | {
    # The modules behind the recorded server's actions, bridges and dialplan applications.
    "app_dial",
    "app_echo",
    "app_mf",
    "app_mixmonitor",
    "app_playback",
    "app_senddtmf",
    "app_userevent",
    "app_verbose",
    "bridge_holding",
    "bridge_native_rtp",
    "bridge_simple",
    "bridge_softmix",
    "func_db",
    "func_presencestate",
    "res_agi",
    "res_manager_devicestate",
    "res_manager_presencestate",
    "res_sorcery_memory_cache",
}
"""Modules a new simulator reports loaded (names without ``.so``)."""

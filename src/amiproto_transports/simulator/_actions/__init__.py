"""The actions the simulator answers, one module per area; importing this registers them all.

Login and Challenge belong to the session (they set its user and challenge) and
register themselves in ``_session.py``.
"""

from . import (
    bridges,
    calls,
    confbridge,
    config,
    core,
    dahdi,
    database,
    dialplan,
    meetme,
    monitoring,
    mwi,
    parking,
    pjsip,
    queues,
    system,
    voicemail,
    xmpp,
)
from ._registry import ACTIONS, ActionSpec, Handler, handler

__all__ = [
    "ACTIONS",
    "ActionSpec",
    "Handler",
    "bridges",
    "calls",
    "confbridge",
    "config",
    "core",
    "dahdi",
    "database",
    "dialplan",
    "handler",
    "meetme",
    "monitoring",
    "mwi",
    "parking",
    "pjsip",
    "queues",
    "system",
    "voicemail",
    "xmpp",
]

"""An embedded Asterisk Manager Interface server for tests, demos and benchmarks.

``Simulator`` speaks AMI over real loopback sockets the way the recorded
Asterisk 22 does (greeting, login, permissions, actions, call events), and can
generate call load, replay a recording, or misbehave on request. Its default
user is ``admin``/``wordpass`` with all rights.
"""

from ._config import DEFAULT_USERS, ManagerConfError
from ._simulator import Simulator

__all__ = ["DEFAULT_USERS", "ManagerConfError", "Simulator"]

"""Rehearsals: the hangs of the seed's troubleshooting section, on the demo database.

``SCENARIOS`` names each (title, description, what to look for); ``start`` opens
its sessions in a process of their own that outlives the caller, ``running``
lists the live ones and ``stop`` ends one or all. The TUI and the CLI use the
same calls and show the same words. No Textual here.

catalog   the scenarios: their sessions, statements and texts
control   start, running, stop: the scenario processes and their records
hold      the scenario process itself (``python -m console.demo.scenarios``)
"""

from console.demo.scenarios.catalog import APP_PREFIX, SCENARIOS, Scenario, Session
from console.demo.scenarios.control import (
    Running,
    check_name,
    refuse_if_running,
    running,
    start,
    stop,
)

__all__ = [
    "APP_PREFIX",
    "SCENARIOS",
    "Running",
    "Scenario",
    "Session",
    "check_name",
    "refuse_if_running",
    "running",
    "start",
    "stop",
]

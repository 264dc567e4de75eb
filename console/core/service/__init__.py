"""One object a face (the TUI, tests) drives: what the console knows and can do.

It holds the long-lived monitor session, reconnects it after a lost connection, and hands
out runners. Nothing here imports Textual. Its parts, each a class ConsoleService joins:

    base       settings, history.toml, the monitor session (ConnectionLost)
    overview   the server, migration states, plans, verification, the doctor
    blockers   the other sessions, the lock tree, cancel and terminate
    runs       launching, following and steering runs; interrupted runs
    checklist  the checklist's items and sign-offs, measurements
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.core.service.base import ConnectionLost
from console.core.service.blockers import BlockersService
from console.core.service.checklist import ChecklistService
from console.core.service.overview import Overview
from console.core.service.runs import RunsService

if TYPE_CHECKING:
    from console.core.waits import WaitReport
    from console.db.activity import Session

__all__ = ["ConnectionLost", "ConsoleService", "Overview", "Session", "WaitReport"]


class ConsoleService(RunsService, ChecklistService, BlockersService):
    """The console's core as one object; see the parts in this package."""

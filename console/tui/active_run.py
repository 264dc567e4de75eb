"""The run the console follows: launched here, or found running at its start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.core import events as ev


@dataclass
class ActiveRun:
    """The run this console follows (launched here, or found running)."""

    migration: str
    action: str
    run_id: str
    runner_pid: int | None
    host: str
    log: str = ""
    remote: bool = False  # followed from the database: its runner elsewhere, or no log here
    pid: int | None = None  # its migration session, once started
    runner_started: int | None = None  # when its runner process started (from RunStarted)
    pause_blockers: tuple[int, ...] = ()  # who blocked the last attempt, during a retry pause
    asking: ev.MaxWaitReached | None = None  # a question of the runner not yet overtaken

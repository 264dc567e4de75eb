"""Running migrations: the lock policy, the runner, its process, and recovery.

options   RunOptions: timeouts, retries, --max-wait
policy    the wait policy for one statement (docs/lock-policy.md)
failures  how a statement ends badly: failed, cancelled, lost
watch     the monitor session, reconnected when lost
keeper    the run lock, taken again when its session is lost; messages to the run
session   the migration's own session: one statement under the wait policy
attempts  a statement or a transaction attempted; the one retry loop
invalid   INVALID indexes left by concurrent builds
runner    MigrationRunner: opens the sessions, runs one section, closes
sinks     the event log, and the recorder thread that feeds it and history.toml
record    the run's record in history.toml
request   RunRequest: what a runner is asked to do; where its event log goes
execute   execute_run: the one way to run
handoff   the CLI's runner, forked before the engine loads; the plan handed to it
process   the runner process: its main, and the TUI's spawn of it
tail      following a run's event log
recovery  runs whose runner went away: adopt, resume, mark
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.core.run.execute import execute_run
    from console.core.run.options import RunOptions
    from console.core.run.request import RunRequest, exit_code
    from console.core.run.runner import MigrationRunner

__all__ = ["MigrationRunner", "RunOptions", "RunRequest", "execute_run", "exit_code"]
# Each name is imported when first used, not with the package: the engine (asyncpg, the
# SQL parser) must not load with `from console.core.run import RunOptions` (the console's
# first frame), nor anything at all with `console.core.run.early` (a run's first step).
_LAZY = {
    "MigrationRunner": "console.core.run.runner",
    "RunOptions": "console.core.run.options",
    "RunRequest": "console.core.run.request",
    "execute_run": "console.core.run.execute",
    "exit_code": "console.core.run.request",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)

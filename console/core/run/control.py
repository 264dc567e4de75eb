"""What a face does with runs: check before launching, find a run, follow it, talk to it.

Both faces use these; neither builds a runner. A message to a runner goes as a
signal when the runner is on this machine (it works with the database down),
and as NOTIFY on the run's channel otherwise (it works from anywhere the
database is reachable).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from console.connection import MONITOR
from console.core import events as ev
from console.core.history import HistoryData, HistoryStore, RunRecord, open_runs
from console.core.model import Migration
from console.core.preflight import preflight
from console.core.run import recovery
from console.core.run.keeper import describe_holder
from console.core.run.pids import record_alive
from console.core.run.request import plan_for
from console.core.run.tail import follow, log_here, recorded
from console.core.run.tail import follow_launched as follow_launched  # the faces' one place
from console.db import runlock
from console.db.connect import close_quietly, connect
from console.errors import LockHeld
from console.settings import ConnectionSettings


async def prepare(
    settings: ConnectionSettings,
    migration: Migration,
    action: str,
    history: HistoryData,
    migrations_dir: Path,
    *,
    resuming: bool = False,
    store: HistoryStore | None = None,
) -> None:
    """Refuse before anything is launched: history.toml not writable (exit 2), preflight
    (exit 3), a run in progress (4), an interrupted run not yet resolved (2)."""
    if store is not None:
        store.check_writable()
    plan = plan_for(migration, action)
    conn = await connect(settings, MONITOR, migration.name)
    try:
        await preflight(conn, plan)
        holder = await runlock.holder(conn, migration.name)
        if holder is not None:
            raise LockHeld(
                f"Migration {migration.name} is already being run or rolled back by "
                f"{describe_holder(holder)}.",
                f"Follow it with `migration-console attach {migration.name}`.",
            )
        if not resuming:
            records = open_runs(history, migration.name)
            await recovery.refuse_if_interrupted(conn, records, migrations_dir)
    finally:
        await close_quietly(conn)


def follow_record(
    record: RunRecord, *, start_at: int = 0, history: Path | None = None
) -> AsyncIterator[ev.Event]:
    """Follow a recorded run's event log (on this machine) until it ends, from byte
    `start_at` (see `log_end`); ``history``: where it is recorded, for its outcome if
    the log ends without one."""
    return follow(
        Path(record.log),
        lambda: record_alive(record),
        runner_pid=record.runner_pid or 0,
        start_at=start_at,
        recorded=recorded(history, record.run_id),
    )


def log_end(record: RunRecord) -> int:
    """Where a recorded run's event log ends now: take it *before* telling the runner
    anything, so that what it writes in answer (even its last event) is followed."""
    log = log_here(record.log)
    return log.stat().st_size if log is not None else 0


def replay(record: RunRecord) -> list[ev.Event]:
    """What a recorded run's event log says, as far as it goes (nothing if it is not here)."""
    log = log_here(record.log)
    if log is None:
        return []
    found = (ev.decode(line) for line in log.read_text(encoding="utf-8").splitlines())
    return [e for e in found if e is not None]


class RunRef(Protocol):
    """A run a face knows of: a history record, or one it launched."""

    @property
    def migration(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def runner_pid(self) -> int | None: ...
    @property
    def host(self) -> str: ...


async def send(
    settings: ConnectionSettings,
    store: HistoryStore,
    record: RunRef,
    what: str,
    by: str,
) -> str:
    """Tell a runner to "cancel", "keep" waiting or "give_up" a build; recorded as an action
    in the run's record. Returns how it was sent, for people."""
    store.add_action(
        record.run_id,
        {"what": _ACTION_WORDS.get(what, what), "at": datetime.now(UTC), "by": by},
    )
    if what == "cancel" and record_alive(record):
        assert record.runner_pid is not None
        os.kill(record.runner_pid, signal.SIGINT)
        return f"signalled runner pid {record.runner_pid}"
    payload = {"migration": record.migration, "run_id": record.run_id, "do": what, "by": by}
    conn = await connect(settings, MONITOR, record.migration, connect_timeout=5)
    try:
        await runlock.notify(conn, json.dumps(payload))
    finally:
        await close_quietly(conn)
    return "sent through the database (NOTIFY)"


_ACTION_WORDS = {"cancel": "cancel run", "keep": "keep waiting", "give_up": "give up the build"}

"""Runs whose runner went away: what the database holds now, and the operator's choices.

history.toml holds a ``running`` record from the moment a run starts. If its
runner is gone (killed, machine lost) the run is *interrupted*; what it left on
the server is read here: a statement of the run still executing (an orphaned
build, which a server goes on with until it has to talk to its lost client),
INVALID indexes, and what is already valid. The operator then chooses:

* adopt: wait for the orphaned statement to end and record its outcome;
* resume: run again, skipping the statements that took effect, never while the
  orphan is still building;
* mark: record the run as interrupted, with a note.

Every choice goes into the run's record (``resolution``). The advice never says
to drop an index that is still being built.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from console.connection import MONITOR, RUN, application_name
from console.core import events as ev
from console.core.history import HistoryData, HistoryStore, RunRecord, open_runs
from console.core.model import SectionPlan, StatementPlan
from console.core.recording import to_result
from console.core.run.pids import record_alive
from console.core.run.request import ACTIONS
from console.core.words import DONE_OUTCOMES, Outcome
from console.db import activity, catalog, runlock
from console.db.catalog import IndexState
from console.db.connect import close_quietly, connect
from console.errors import BadInput
from console.settings import ConnectionSettings

ADOPT_POLL_S = 1.0


@dataclass(frozen=True)
class RunState:
    """A ``running`` record, and what it means now."""

    record: RunRecord
    in_progress: bool  # its runner is at work (here: its process; elsewhere: its run lock)
    orphan: activity.Session | None = None  # a statement of it still executing on the server
    progress: catalog.IndexProgress | None = None
    statement: int | None = None  # the statement that was running when it was last recorded
    indexes: list[IndexState] = field(default_factory=list)  # the section's indexes now
    plan: SectionPlan | None = None

    @property
    def interrupted(self) -> bool:
        return not self.in_progress

    @property
    def building(self) -> list[str]:
        return [_name(s) for s in self.indexes if s.exists and s.building_pid]

    @property
    def invalid(self) -> list[str]:
        return [_name(s) for s in self.indexes if s.invalid and not s.building_pid]

    @property
    def valid(self) -> list[str]:
        return [_name(s) for s in self.indexes if s.exists and s.valid]

    def describe(self) -> list[str]:
        """What the database holds now, in sentences, and what the operator may do."""
        r = self.record
        who = f"runner pid {r.runner_pid} on {r.host or 'an unknown host'}"
        if self.in_progress:
            return [f"{r.action} {r.migration} is in progress ({who}, since {_when(r)})."]
        done = [s.number for s in r.statements if s.status in DONE_OUTCOMES]
        lines = [
            f"{r.action} {r.migration} was interrupted: its {who} went away without "
            f"recording an outcome (started {_when(r)}; statements done: "
            f"{', '.join(map(str, done)) or 'none'})."
        ]
        if self.orphan is not None:
            p = self.progress
            blocks = f", {p.blocks_done}/{p.blocks_total} blocks" if p and p.blocks_total else ""
            how = f", {p.phase}{blocks}" if p else ""
            lines.append(
                f"Statement {self.statement or '?'} is still executing on the server "
                f"(pid {self.orphan.pid}{how}): an orphaned statement the server finishes "
                "on its own."
            )
        if self.building:
            lines.append(f"Being built right now: {', '.join(self.building)} (do not drop it).")
        if self.invalid:
            lines.append(
                f"INVALID: {', '.join(self.invalid)}; resume rebuilds it (it drops it first)."
            )
        if self.valid:
            lines.append(f"Valid: {', '.join(self.valid)}.")
        lines.append(self.advice)
        return lines

    @property
    def advice(self) -> str:
        name = self.record.migration
        if self.orphan is not None:
            return (
                f"Choose: `migration-console recover {name} --adopt` waits for the orphaned "
                f"statement and records its outcome; `--mark NOTE` records the run as "
                "interrupted; resume only after the orphan has ended."
            )
        return (
            f"Choose: `migration-console recover {name} --resume` runs the rest; "
            f"`--adopt` records what the database shows; `--mark NOTE` records it as "
            "interrupted."
        )


def _name(s: IndexState) -> str:
    return s.qualified or s.name


def _when(r: RunRecord) -> str:
    return f"{r.started_at:%Y-%m-%d %H:%M:%S} UTC" if r.started_at else "?"


def section_plan(migrations_dir: Path, record: RunRecord) -> SectionPlan | None:
    # The SQL parser, loaded only for a run that needs it: the CLI's runner checks for
    # interrupted runs without it when there are none.
    from console.core.migration_file import parse_migration, resolve_migration
    from console.core.plan import plan_section

    try:
        migration = parse_migration(resolve_migration(record.migration, migrations_dir))
    except BadInput:
        return None
    section = migration.section(ACTIONS.get(record.action, "up"))
    return plan_section(section) if section is not None and section.statements else None


async def state_of(conn: asyncpg.Connection, record: RunRecord, migrations_dir: Path) -> RunState:
    """What a running record means now, from its process and the database."""
    alive = record_alive(record)
    if alive is None:  # another machine's runner: it holds the run lock while it works
        alive = await runlock.holder(conn, record.migration) is not None
    running = next((s.number for s in record.statements if s.status == Outcome.RUNNING), None)
    if alive:
        return RunState(record, True, statement=running)
    plan = section_plan(migrations_dir, record)
    names = [n for sp in (plan.statements if plan else ()) for n in _index_names(sp)]
    indexes = await catalog.indexes(conn, names) if names else []
    orphan = await orphan_session(conn, record.migration)
    progress = await catalog.progress(conn, orphan.pid) if orphan else None
    return RunState(record, False, orphan, progress, running, indexes, plan)


def _index_names(sp: StatementPlan) -> list[str]:
    return [n for n in (sp.index.lookup_name if sp.index else None, sp.drops_index) if n]


async def orphan_session(conn: asyncpg.Connection, migration: str) -> activity.Session | None:
    name = application_name(RUN, migration)
    return next(
        (
            s
            for s in await activity.sessions(conn)
            if s.application_name == name and s.state and s.state.startswith("active")
        ),
        None,
    )


async def interrupted_runs(
    conn: asyncpg.Connection, history: HistoryData, migrations_dir: Path, migration: str | None
) -> list[RunState]:
    states = [await state_of(conn, r, migrations_dir) for r in open_runs(history, migration)]
    return [s for s in states if s.interrupted]


async def refuse_if_interrupted(
    conn: asyncpg.Connection, records: list[RunRecord], migrations_dir: Path
) -> None:
    """BadInput (exit 2) if one of a migration's runs recorded as running (``open_runs``)
    was interrupted and is not resolved yet: a new run must not start over what it left."""
    stuck = [s for s in [await state_of(conn, r, migrations_dir) for r in records] if s.interrupted]
    if stuck:
        lines = stuck[0].describe()
        raise BadInput(" ".join(lines[:-1]), lines[-1])


async def find_interrupted(
    settings: ConnectionSettings, history: HistoryData, migrations_dir: Path, migration: str
) -> list[RunState]:
    """``interrupted_runs`` on a monitor session of its own."""
    conn = await connect(settings, MONITOR, migration)
    try:
        return await interrupted_runs(conn, history, migrations_dir, migration)
    finally:
        await close_quietly(conn)


async def adopt_run(
    settings: ConnectionSettings, store: HistoryStore, state: RunState, by: str
) -> AsyncIterator[ev.Event]:
    """``adopt`` on a monitor session of its own, closed when the events end."""
    conn = await connect(settings, MONITOR, state.record.migration)
    try:
        async for e in adopt(conn, store, state, by):
            yield e
    finally:
        await close_quietly(conn)


# -- the choices -----------------------------------------------------------------------------


async def adopt(
    conn: asyncpg.Connection, store: HistoryStore, state: RunState, by: str
) -> AsyncIterator[ev.Event]:
    """Wait for the orphaned statement to end (its progress as events), then record the
    outcome the database shows. Ends with a RunFinished of the adopted record."""
    orphan = state.orphan
    number = state.statement
    while orphan is not None:
        p = await catalog.progress(conn, orphan.pid)
        if p is not None:
            yield ev.IndexProgress(
                number or 0, p.index, p.table, p.phase, p.blocks_done, p.blocks_total,
                p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total,
                p.current_locker_pid,
            )  # fmt: skip
        await asyncio.sleep(ADOPT_POLL_S)
        orphan = await orphan_session(conn, state.record.migration)
    record = state.record
    outcome = await statement_outcome(conn, state)
    for s in record.statements:
        if s.number == number:
            s.status = outcome
    names = [n for sp in (state.plan.statements if state.plan else ()) for n in _index_names(sp)]
    now_states = await catalog.indexes(conn, names) if names else []
    record.invalid_indexes = [_name(s) for s in now_states if s.invalid]
    done = all(s.status in DONE_OUTCOMES for s in record.statements)
    record.status = Outcome.SUCCEEDED if done else Outcome.INTERRUPTED
    record.finished_at = datetime.now(UTC)
    record.duration_s = None
    record.error = None if done else _interrupted_text(state, number, outcome)
    _resolve(record, "adopted", by)
    store.finish_run(record)
    yield ev.RunFinished(to_result(record))


async def statement_outcome(conn: asyncpg.Connection, state: RunState) -> str:
    """What became of the statement the runner was running, as the catalog shows it."""
    plan, number = state.plan, state.statement
    sp = next((p for p in plan.statements if p.statement.number == number), None) if plan else None
    if sp is None:
        return Outcome.UNKNOWN
    if sp.index is not None:
        (s,) = await catalog.indexes(conn, [sp.index.lookup_name])
        return Outcome.SUCCEEDED if s.exists and s.valid else Outcome.FAILED
    if sp.drops_index:
        (s,) = await catalog.indexes(conn, [sp.drops_index])
        return Outcome.FAILED if s.exists else Outcome.SUCCEEDED
    return Outcome.UNKNOWN


def mark(store: HistoryStore, state: RunState, by: str, note: str) -> RunRecord:
    return _close(store, state, "marked interrupted", by, note=note)


def _close(store: HistoryStore, state: RunState, what: str, by: str, **more: Any) -> RunRecord:
    """The interrupted record ends: status, what the database showed, who resolved it how."""
    record = _closed(state, what, by, **more)
    store.finish_run(record)
    return record


def _closed(state: RunState, what: str, by: str, **more: Any) -> RunRecord:
    record = state.record
    record.status = Outcome.INTERRUPTED
    record.finished_at = datetime.now(UTC)
    record.duration_s = None
    record.error = _interrupted_text(state, state.statement, None)
    record.invalid_indexes = state.invalid
    _resolve(record, what, by, **more)
    return record


def resume_skips(state: RunState) -> tuple[int, ...]:
    """The statements a resumed run skips: those that took effect. Refused while an
    orphaned statement of the run still executes."""
    if state.orphan is not None:
        raise BadInput(
            f"Statement {state.statement or '?'} of the interrupted {state.record.action} is "
            f"still executing on the server (pid {state.orphan.pid}).",
            f"Adopt it (`migration-console recover {state.record.migration} --adopt`), "
            "or wait until it has ended, then resume.",
        )
    if state.plan is not None and state.plan.in_transaction:
        return ()  # nothing of an uncommitted transaction took effect
    return tuple(s.number for s in state.record.statements if s.status in DONE_OUTCOMES)


def resumed(state: RunState, by: str, new_run_id: str) -> RunRecord:
    """The interrupted record as it ends, resolved by the run that resumes it: written by
    that run's runner in the same write as its own first record (``HistorySink``), never
    before. A run refused or lost before it started resumes nothing, and the interrupted
    record stays open for the next ``recover``."""
    return _closed(state, "resumed", by, run=new_run_id)


def _interrupted_text(state: RunState, number: int | None, outcome: str | None) -> str:
    r = state.record
    text = (
        f"The runner (pid {r.runner_pid} on {r.host or '?'}) went away during "
        f"statement {number or '?'} without recording an outcome."
    )
    if outcome is not None:
        text += f" Statement {number} {outcome} after it (adopted)."
    return text


def _resolve(record: RunRecord, what: str, by: str, **more: Any) -> None:
    record.extra["resolution"] = {
        "what": what,
        "by": by,
        "at": datetime.now(UTC).replace(microsecond=0),
        **{k: v for k, v in more.items() if v},
    }

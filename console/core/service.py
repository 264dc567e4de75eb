"""One object a face (the TUI, tests) drives: what the console knows and can do.

It holds the long-lived monitor session (autocommit, short timeouts, never in a
transaction), reconnects it after a lost connection, and hands out runners.
Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.core.run.options import ASK, RunOptions
from console.errors import ConnectError, ConsoleError, ExitCode
from console.lazy import lazy
from console.settings import ConnectionSettings, railway_context

if TYPE_CHECKING:
    import asyncpg
    import asyncpg as pg

    from console.core import checklist, measure, model, plan, status, usage, waits
    from console.core import doctor as doctor
    from console.core import events as ev
    from console.core import history as hist
    from console.core import migration_file as migration_file
    from console.core import verify as verify_
    from console.core.doctor import DoctorReport
    from console.core.history import HistoryData
    from console.core.model import Migration, MigrationPlan
    from console.core.run import control, process, recovery, remote
    from console.core.run.process import Launched
    from console.core.status import MigrationStatus
    from console.core.verify import VerifyReport
    from console.core.waits import WaitReport
    from console.db import activity, catalog
    from console.db import connect as db
    from console.db.activity import Session
else:
    # Imported when first used: the console draws its first frame before it needs them.
    checklist = lazy("console.core.checklist")
    measure = lazy("console.core.measure")
    usage = lazy("console.core.usage")
    waits = lazy("console.core.waits")
    doctor = lazy("console.core.doctor")
    hist = lazy("console.core.history")
    migration_file = lazy("console.core.migration_file")
    plan = lazy("console.core.plan")
    model = lazy("console.core.model")
    control = lazy("console.core.run.control")
    recovery = lazy("console.core.run.recovery")
    process = lazy("console.core.run.process")
    remote = lazy("console.core.run.remote")
    status = lazy("console.core.status")
    verify_ = lazy("console.core.verify")
    activity = lazy("console.db.activity")
    catalog = lazy("console.db.catalog")
    db = lazy("console.db.connect")
    pg = lazy("asyncpg")

__all__ = ["ConnectionLost", "ConsoleService", "Overview", "Session", "WaitReport"]


def _lost() -> tuple[type[BaseException], ...]:
    return (pg.InterfaceError, pg.ConnectionDoesNotExistError, OSError, TimeoutError)


def _is_disconnect(exc: asyncpg.PostgresError) -> bool:
    """Connection exceptions (08xxx) and operator intervention (57P01-57P03: the
    session was terminated, or the server is shutting down or starting)."""
    code = exc.sqlstate or ""
    return code.startswith("08") or code in ("57P01", "57P02", "57P03")


class ConnectionLost(ConnectError):
    """The monitor session went away; the next call reconnects."""


@dataclass(frozen=True)
class Overview:
    database: str  # masked
    version: str
    role: str
    railway: dict[str, str] = field(default_factory=dict)

    @property
    def railway_text(self) -> str:
        keys = ("project", "environment", "service")
        return " / ".join(self.railway[k] for k in keys if k in self.railway)


class ConsoleService:
    def __init__(
        self,
        settings: ConnectionSettings,
        migrations_dir: Path,
        history_path: Path,
        operator: str,
        *,
        environment: dict[str, str] | None = None,
        read_only: bool = False,
    ):
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.history_path = history_path
        self.operator = operator
        self.environment = railway_context() if environment is None else environment
        self.read_only = read_only
        self.server: catalog.ServerInfo | None = None
        self.active: control.RunRef | None = None  # the run this face follows, if any
        self.active_pid: int | None = None  # its migration session, once it has started
        self._mon: asyncpg.Connection | None = None
        self._mon_lock = asyncio.Lock()

    @property
    def store(self) -> hist.HistoryStore:
        """history.toml (opened when first used)."""
        store = self.__dict__.get("_store")
        if store is None:
            store = self.__dict__["_store"] = hist.HistoryStore(self.history_path)
        return store

    # -- the monitor session -----------------------------------------------------------

    @property
    def own_pids(self) -> set[int]:
        pids = set()
        if self._mon is not None and not self._mon.is_closed():
            pids.add(int(self._mon.get_server_pid()))
        if self.active_pid is not None:
            pids.add(self.active_pid)
        return pids

    async def _monitor(self) -> asyncpg.Connection:
        if self._mon is None or self._mon.is_closed():
            self._mon = await db.connect(self.settings, db.MONITOR, read_only=self.read_only)
        return self._mon

    async def with_monitor(self, fn: Callable[[asyncpg.Connection], Any]) -> Any:
        """Run fn on the monitor session; one caller at a time; a lost session becomes
        ConnectionLost and is reopened on the next call."""
        async with self._mon_lock:
            try:
                conn = await self._monitor()
                return await fn(conn)
            except _lost() as exc:
                raise self._lost(exc) from None
            except pg.PostgresError as exc:
                if _is_disconnect(exc):
                    raise self._lost(exc) from None
                raise ConsoleError(
                    f"The server refused a monitoring query: {self.settings.redact(str(exc))} "
                    f"(SQLSTATE {exc.sqlstate}).",
                    "Check the role's privileges; run with --debug for details.",
                    exit_code=ExitCode.CONNECT,
                ) from None

    def _lost(self, exc: BaseException) -> ConnectionLost:
        bad, self._mon = self._mon, None
        if bad is not None:
            bad.terminate()
        return ConnectionLost(
            f"Lost the connection to {self.settings.display} "
            f"({self.settings.redact(str(exc)) or type(exc).__name__}).",
            "Retrying; check the network or the server.",
        )

    async def close(self) -> None:
        await db.close_quietly(self._mon)
        self._mon = None

    # -- reads ------------------------------------------------------------------------------

    async def overview(self) -> Overview:
        info: catalog.ServerInfo = await self.with_monitor(catalog.server_info)
        self.server = info
        return Overview(self.settings.display, info.version, info.role, dict(self.environment))

    async def statuses(self) -> list[MigrationStatus]:
        history = self.store.load()
        result: list[MigrationStatus] = await self.with_monitor(
            lambda c: status.statuses(c, self.migrations_dir, history)
        )
        return result

    async def sessions(self) -> list[activity.Session]:
        result: list[activity.Session] = await self.with_monitor(activity.sessions)
        return result

    async def waits(
        self, root_pid: int | None, extra_blockers: tuple[int, ...] = ()
    ) -> waits.WaitReport:
        """Sessions, and the lock tree around root_pid (the migration's session). Without a
        root, a migration running from anywhere (its application_name) is the root."""
        if self.server is None:
            self.server = await self.with_monitor(catalog.server_info)

        async def analyse(conn: asyncpg.Connection) -> waits.WaitReport:
            report = await waits.analyse(conn, None)
            root = root_pid or waits.run_session_pid(report.sessions)
            if root is None:
                return report
            return await waits.analyse(conn, root, extra_blockers, report.sessions)

        result: waits.WaitReport = await self.with_monitor(analyse)
        return result

    # -- acting on other sessions -------------------------------------------------------------

    def signal_rights(self) -> str:
        """Which sessions this role may cancel or terminate, for people."""
        me = self.server
        if self.read_only:
            return "read-only: no actions"
        if me is None:
            return ""
        if me.superuser:
            return f"role {me.role} is superuser: may signal any session"
        if me.signal_backend:
            return f"role {me.role} has pg_signal_backend: may signal any non-superuser session"
        return f"role {me.role} may signal only sessions of its own role(s)"

    def may_signal(self, session: activity.Session) -> tuple[bool, str]:
        """Whether the console may cancel/terminate this session, and if not, why."""
        if self.read_only:
            return False, "the console runs --read-only"
        if session.is_console or session.pid in self.own_pids:
            return False, "it is one of the console's own sessions (x cancels a run)"
        me = self.server
        if me is None:
            return False, "the console does not know its role's rights yet"
        if me.superuser:
            return True, ""
        if session.role_is_superuser:
            return (
                False,
                f"pid {session.pid} belongs to a superuser; only a superuser may signal it",
            )
        if session.same_role or me.signal_backend:
            return True, ""
        return False, (
            f"role {me.role} is neither {session.role} (or a member of it) nor in "
            "pg_signal_backend; GRANT pg_signal_backend TO it, or connect as a superuser"
        )

    async def signal(self, session: activity.Session, kind: str) -> dict[str, object]:
        """Cancel or terminate another session; returns the action as recorded in history."""
        allowed, why = self.may_signal(session)
        if not allowed:
            raise ConsoleError(
                f"Not acting on pid {session.pid}: {why}.", "", exit_code=ExitCode.CONNECT
            )
        fn = activity.cancel if kind == "cancel" else activity.terminate
        ok: bool = await self.with_monitor(lambda c: fn(c, session.pid))
        action: dict[str, object] = {
            "what": kind,
            "pid": session.pid,
            "application": session.application_name,
            "role": session.role,
            "client": session.client,
            "state": session.state or "",
            "query": " ".join(session.query.split())[:200],
            "at": datetime.now(UTC),
            "by": self.operator,
            "signalled": ok,
        }
        self.store.add_action(self.active.run_id if self.active else None, action)
        return action

    async def verify(self, name: str) -> VerifyReport:
        migration = self.migration(name)

        async def go(conn: asyncpg.Connection) -> VerifyReport:
            return await verify_.verify_on(conn, migration, self.settings.display)

        result: VerifyReport = await self.with_monitor(go)
        return result

    async def doctor(self) -> DoctorReport:
        """The connection doctor's checks for every readable migration file."""
        migrations = []
        for path in migration_file.list_migrations(self.migrations_dir):
            try:
                migrations.append(migration_file.parse_migration(path))
            except ConsoleError:
                continue
        return await doctor.diagnose(self.settings, migrations, os.environ)

    def migration(self, name: str) -> Migration:
        return migration_file.parse_migration(
            migration_file.resolve_migration(name, self.migrations_dir)
        )

    def plan(self, name: str, action: str = "run") -> MigrationPlan:
        return plan.plan_migration(
            self.migration(name), model.DOWN if action == "rollback" else model.UP
        )

    def history(self) -> HistoryData:
        return self.store.load()

    # -- runs --------------------------------------------------------------------------------
    # A run is carried out by a runner process of its own; this face launches it,
    # follows its event log and talks to it (core/run/control.py).

    def _refuse_read_only(self) -> None:
        if self.read_only:
            raise ConsoleError(
                "The console runs --read-only: it monitors, it does not run migrations.",
                "Start it without --read-only to run or roll back.",
            )

    async def prepare_run(self, name: str, action: str, *, resuming: bool = False) -> None:
        """Refuse before launching: read-only, corrupt history, preflight, a run in progress,
        an interrupted run not yet resolved."""
        self._refuse_read_only()
        history = self.store.load()
        await control.prepare(
            self.settings, self.migration(name), action, history, self.migrations_dir,
            resuming=resuming, store=self.store,
        )  # fmt: skip

    def launch_run(
        self,
        name: str,
        action: str,
        options: RunOptions | None = None,
        notes: str = "",
        *,
        resume: recovery.RunState | None = None,
    ) -> Launched:
        """Start the runner process (it asks this face, through the database, what to do
        after --max-wait). ``resume``: skip what the interrupted run did, and close it."""
        self._refuse_read_only()
        request = control.request_for(
            self.migration(name), action, self.store.path, options=options or RunOptions(),
            operator=self.operator, environment=dict(self.environment), notes=notes,
            on_max_wait=ASK,
        )  # fmt: skip
        if resume is not None:
            request = replace(
                request, skip=recovery.resume_skips(resume), resumes=resume.record.run_id
            )
            recovery.close_as_resumed(self.store, resume, self.operator, request.run_id)
        return process.launch(self.settings, request, fork=False)

    async def open_runs(self) -> list[recovery.RunState]:
        """Runs recorded as running: in progress (here or elsewhere) or interrupted."""
        history = self.store.load()
        records = hist.open_runs(history)
        if not records:
            return []

        async def states(conn: asyncpg.Connection) -> list[recovery.RunState]:
            return [await recovery.state_of(conn, r, self.migrations_dir) for r in records]

        result: list[recovery.RunState] = await self.with_monitor(states)
        return result

    def follow_remote(self, name: str, action: str) -> AsyncIterator[ev.Event]:
        return remote.follow_from_database(self.settings, name, action, self.migrations_dir)

    async def send(self, run: control.RunRef, what: str) -> str:
        """cancel / keep / give_up, to the runner; recorded as the operator's action."""
        self._refuse_read_only()
        return await control.send(self.settings, self.store, run, what, self.operator)

    async def adopt(self, state: recovery.RunState) -> AsyncIterator[ev.Event]:
        """Wait for an interrupted run's orphaned statement (its own session: it can take
        hours), then record what the database shows."""
        self._refuse_read_only()
        conn = await db.connect(self.settings, db.MONITOR, state.record.migration)
        try:
            async for e in recovery.adopt(conn, self.store, state, self.operator):
                yield e
        finally:
            await db.close_quietly(conn)

    def mark_interrupted(self, state: recovery.RunState, note: str) -> None:
        self._refuse_read_only()
        recovery.mark(self.store, state, self.operator, note)

    # -- the checklist ---------------------------------------------------------------------

    def checklist(self, name: str) -> tuple[list[checklist.ItemDef], list[checklist.ItemState]]:
        migration = self.migration(name)
        defs = checklist.load_checklist(migration.path)
        states = checklist.checklist_state(
            defs, self.store.load(), migration.name, datetime.now(UTC)
        )
        return defs, states

    def sign_off(
        self, name: str, key: str, *, by: str, note: str = "", state: str = "done"
    ) -> None:
        migration = self.migration(name)
        defs = checklist.load_checklist(migration.path)
        checklist.sign_off(
            self.store, migration.name, key, by=by, note=note, state=state, defs=defs
        )

    def record_verify(self, name: str, report: VerifyReport) -> None:
        """The checklist's verify item, signed by the console with what it found."""
        failed = [c.spec.name for c in report.indexes if c.verdict != "ok"]
        failed += [f"query at line {q.statement.line}" for q in report.queries if not q.ok]
        note = "all checks hold" if report.ok else "failed: " + ", ".join(failed)
        self.sign_off(
            name, "verify", by=self.operator, note=note, state="done" if report.ok else "failed"
        )

    async def do_item(self, name: str, action: str) -> str:
        """Do a checklist item the console can do; returns one line saying what it did."""
        migration = self.migration(name)
        if action in (measure.BASELINE, "monitor"):
            phase = measure.BASELINE if action == measure.BASELINE else measure.AFTER
            result = await measure.measure_database(self.settings, migration, phase=phase)
            measure.save_measurement(self.store, result)
            key = "baseline" if phase == measure.BASELINE else "monitor"
            before = measure.latest_measurement(self.store.load(), migration.name, measure.BASELINE)
            note = _measure_note(result, before if phase == measure.AFTER else None)
            self.sign_off(name, key, by=self.operator, note=note)
            return f"{key}: {note}"
        if action == "index_usage":
            available = checklist.index_usage_available_at(self.store.load(), migration.name)
            now = datetime.now(UTC)
            if available is None or now < available:
                when = f"{available:%Y-%m-%d %H:%M} UTC" if available else "24 hours after a run"
                raise ConsoleError(
                    f"Index usage is meaningful from {when}.",
                    "Come back then.",
                    exit_code=ExitCode.BAD_INPUT,
                )
            rows = await self.with_monitor(lambda c: usage.index_usage(c, migration))
            note = usage.summary(rows)
            self.sign_off(name, "index_usage", by=self.operator, note=note)
            return note
        raise ConsoleError(f"The console cannot do {action!r} by itself.", "Sign it off instead.")

    def comparison(self, name: str) -> list[measure.QueryComparison]:
        data = self.store.load()
        before = measure.latest_measurement(data, name, measure.BASELINE)
        after = measure.latest_measurement(data, name, measure.AFTER)
        return measure.compare(before, after) if before and after else []


def _measure_note(m: measure.Measurement, before: measure.Measurement | None) -> str:
    parts = []
    for q in m.queries:
        if q.error:
            parts.append(f"line {q.line}: error")
            continue
        path = measure.main_access_path(q.access_paths)
        parts.append(f"line {q.line}: {q.execution_ms:.1f} ms ({path})")
    if before is not None:
        for c in measure.compare(before, m):
            if c.change_pct is not None:
                parts.append(f"line {c.line}: {c.change_pct:+.0f}%")
    return "; ".join(parts)[:400]

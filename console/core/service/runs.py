"""Runs, seen from a face: a run is carried out by a runner process of its own; the face
launches it, follows its event log and talks to it (core/run/control.py), and resolves a
run that was interrupted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING

from console.core.run.options import ASK, RunOptions
from console.core.run.request import request_for
from console.core.service.deps import control, hist, process, recovery, remote
from console.core.service.overview import OverviewService

if TYPE_CHECKING:
    import asyncpg

    from console.core import events as ev
    from console.core.run.tail import Launched


class RunsService(OverviewService):
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
        after --max-wait). ``resume``: skip what the interrupted run did; the runner
        closes its record as the run starts."""
        self._refuse_read_only()
        request = request_for(
            self.migration(name), action, self.store.path, options=options or RunOptions(),
            operator=self.operator, environment=dict(self.environment), notes=notes,
            on_max_wait=ASK,
        )  # fmt: skip
        closes = None
        if resume is not None:
            request = replace(
                request, skip=recovery.resume_skips(resume), resumes=resume.record.run_id
            )
            closes = recovery.resumed(resume, self.operator, request.run_id)
        return process.launch(self.settings, request, closes)

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
        async for e in recovery.adopt_run(self.settings, self.store, state, self.operator):
            yield e

    def mark_interrupted(self, state: recovery.RunState, note: str) -> None:
        self._refuse_read_only()
        recovery.mark(self.store, state, self.operator, note)

"""Helpers for engine tests: run a migration in-process and collect its events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.core import events as ev
from console.core.history import HistoryStore
from console.core.migration_file import parse_migration
from console.core.recording import recorder
from console.core.run import MigrationRunner, RunOptions
from console.core.settings import resolve_connection
from tests.helpers import SHIPPED

FAST = RunOptions(
    lock_timeout_s=0.3, lock_retries=10, backoff_s=0.1, backoff_max_s=0.3, progress_interval_s=0.05
)


async def run_migration(
    url: str,
    path: Path = SHIPPED,
    action: str = "run",
    options: RunOptions = FAST,
    history: Path | None = None,
    on_event: Callable[[ev.Event, MigrationRunner], None] | None = None,
) -> tuple[ev.RunResult, list[ev.Event]]:
    settings = resolve_connection(url, env={})
    migration = parse_migration(path)
    rec = None
    if history is not None:
        rec = recorder(
            HistoryStore(history, redact=settings.redact),
            operator="tester",
            environment={},
            database=settings.display,
        )
    seen: list[ev.Event] = []
    async with MigrationRunner(settings, migration, action, options, recorder=rec) as runner:

        def emit(e: ev.Event) -> None:
            seen.append(e)
            if on_event is not None:
                on_event(e, runner)

        result = await runner.execute(emit)
    return result, seen


def of(kind: type, events: list[ev.Event]) -> list:
    return [e for e in events if isinstance(e, kind)]

"""Helpers for engine tests: run a migration in-process and collect its events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.core import events as ev
from console.core.run import MigrationRunner, RunOptions, RunRequest, execute_run
from console.core.run.options import FAIL
from console.errors import ConsoleError
from console.settings import resolve_connection
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
    *,
    on_max_wait: str = FAIL,
    log: Path | None = None,
) -> tuple[ev.RunResult, list[ev.Event]]:
    """The run, through the same call the runner process makes (execute_run)."""
    settings = resolve_connection(url, env={})
    request = RunRequest(
        path,
        action,
        options,
        operator="tester",
        history_path=history,
        log_path=log,
        on_max_wait=on_max_wait,
    )
    seen: list[ev.Event] = []
    runners: list[MigrationRunner] = []

    def emit(e: ev.Event) -> None:
        seen.append(e)
        if on_event is not None:
            on_event(e, runners[0])

    result = await execute_run(settings, request, [emit], on_open=runners.append)
    if result is None:
        refused = of(ev.RunRefused, seen)[0]
        raise ConsoleError(refused.message, refused.hint)
    return result, seen


def of(kind: type, events: list[ev.Event]) -> list:
    return [e for e in events if isinstance(e, kind)]

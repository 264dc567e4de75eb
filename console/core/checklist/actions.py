"""What the console does for a checklist item by itself, signed off with what it found:
the compare queries measured (baseline, monitor), index usage read, a verification's
verdict recorded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from console.core import usage
from console.core.checklist.state import index_usage_available_at, sign_item
from console.core.measure import (
    AFTER,
    BASELINE,
    Measurement,
    compare,
    latest_measurement,
    main_access_path,
    measure_database,
    save_measurement,
)
from console.errors import ConsoleError, ExitCode

if TYPE_CHECKING:
    import asyncpg

    from console.core.history import HistoryStore
    from console.core.model import Migration
    from console.core.verify import VerifyReport
    from console.settings import ConnectionSettings

# The monitor session's runner: fn(connection), one caller at a time (ConsoleService).
Monitor = Callable[[Callable[["asyncpg.Connection"], Awaitable[Any]]], Awaitable[Any]]


async def do_item(
    settings: ConnectionSettings,
    store: HistoryStore,
    migration: Migration,
    action: str,
    *,
    operator: str,
    monitor: Monitor,
) -> str:
    """Do an item the console can do and sign it off; returns one line saying what it did."""
    if action in (BASELINE, "monitor"):
        phase = BASELINE if action == BASELINE else AFTER
        result = await measure_database(settings, migration, phase=phase)
        save_measurement(store, result)
        key = "baseline" if phase == BASELINE else "monitor"
        before = latest_measurement(store.load(), migration.name, BASELINE)
        note = measure_note(result, before if phase == AFTER else None)
        sign_item(store, migration, key, by=operator, note=note)
        return f"{key}: {note}"
    if action == "index_usage":
        available = index_usage_available_at(store.load(), migration.name)
        now = datetime.now(UTC)
        if available is None or now < available:
            when = f"{available:%Y-%m-%d %H:%M} UTC" if available else "24 hours after a run"
            raise ConsoleError(
                f"Index usage is meaningful from {when}.",
                "Come back then.",
                exit_code=ExitCode.BAD_INPUT,
            )
        rows = await monitor(lambda c: usage.index_usage(c, migration))
        note = usage.summary(rows)
        sign_item(store, migration, "index_usage", by=operator, note=note)
        return note
    raise ConsoleError(f"The console cannot do {action!r} by itself.", "Sign it off instead.")


def record_verify(
    store: HistoryStore, migration: Migration, report: VerifyReport, *, operator: str
) -> None:
    """The verify item, signed by the console with what it found."""
    failed = [c.spec.name for c in report.indexes if c.verdict != "ok"]
    failed += [f"query at line {q.statement.line}" for q in report.queries if not q.ok]
    note = "all checks hold" if report.ok else "failed: " + ", ".join(failed)
    state = "done" if report.ok else "failed"
    sign_item(store, migration, "verify", by=operator, note=note, state=state)


def measure_note(m: Measurement, before: Measurement | None) -> str:
    parts = []
    for q in m.queries:
        if q.error:
            parts.append(f"line {q.line}: error")
            continue
        path = main_access_path(q.access_paths)
        parts.append(f"line {q.line}: {q.execution_ms:.1f} ms ({path})")
    if before is not None:
        for c in compare(before, m):
            if c.change_pct is not None:
                parts.append(f"line {c.line}: {c.change_pct:+.0f}%")
    return "; ".join(parts)[:400]

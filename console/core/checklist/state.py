"""Each checklist item's state for a migration, read from history.toml, and sign-offs.

States come from what history.toml already knows (runs, measurements) and from
``[[signoffs]]`` (migration, item, state, by, at, note): people signing off manual items,
and the console recording what it did (a verification that passed or failed, an index
usage check). For each item, whichever is newer wins: a derived state or the latest
sign-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from console.core.checklist.items import MANUAL, ItemDef, load_checklist
from console.core.history import (
    ROLLBACK,
    RUN,
    HistoryData,
    HistoryStore,
    RunRecord,
    first_sentence,
)
from console.core.history.tables import SIGNOFF_STATES, SignOff, save_signoff, signoffs
from console.core.measure import AFTER, BASELINE, Measurement, latest_measurement
from console.core.words import ItemStatus, Outcome
from console.errors import BadInput

if TYPE_CHECKING:
    from console.core.model import Migration

INDEX_USAGE_DELAY = timedelta(hours=24)


@dataclass(frozen=True)
class ItemState:
    key: str
    state: str  # pending, running, done, failed, skipped
    by: str | None = None
    at: datetime | None = None
    note: str = ""
    detail: str = ""  # what the console knows, e.g. "run succeeded ... in 0.6 s"
    available: bool = True  # False while the item cannot be done yet (index usage < 24 h)


# -- sign-offs -------------------------------------------------------------------------


def sign_off(
    store: HistoryStore,
    migration: str,
    item: str,
    *,
    by: str,
    note: str = "",
    state: str = ItemStatus.DONE,
    at: datetime | None = None,
    defs: Sequence[ItemDef] | None = None,
) -> SignOff:
    """Record an item's state in ``[[signoffs]]``; with ``defs``, also check the item exists
    and that only manual items are reset to pending."""
    if state not in SIGNOFF_STATES:
        raise BadInput(
            f"A sign-off state must be one of {', '.join(SIGNOFF_STATES)}, not {state!r}."
        )
    if defs is not None:
        found = next((d for d in defs if d.key == item), None)
        if found is None:
            raise BadInput(f"{migration}'s checklist has no item {item!r}.")
        if state == ItemStatus.PENDING and found.kind != MANUAL:
            raise BadInput(f"Only manual items can be reset to pending; {item!r} is {found.kind}.")
    when = (at or datetime.now(UTC)).astimezone(UTC)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    record = SignOff(migration, item, state, by, when, note)
    save_signoff(store, record)
    return record


def sign_item(
    store: HistoryStore,
    migration: Migration,
    key: str,
    by: str,
    note: str = "",
    state: str = ItemStatus.DONE,
) -> SignOff:
    """``sign_off`` for an item of the migration's own checklist (checked against it)."""
    defs = load_checklist(migration.path)
    return sign_off(store, migration.name, key, by=by, note=note, state=state, defs=defs)


# -- derived states --------------------------------------------------------------------


def _when(at: datetime | None) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if at else "an unknown time"


def _ordered_runs(data: HistoryData, migration: str) -> list[RunRecord]:
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(data.runs_of(migration), key=lambda r: r.started_at or floor)


def _rolled_back_after(runs: list[RunRecord], run: RunRecord) -> RunRecord | None:
    later = runs[runs.index(run) + 1 :]
    return next(
        (r for r in reversed(later) if r.action == ROLLBACK and r.status == Outcome.SUCCEEDED), None
    )


def applied_run(data: HistoryData, migration: str) -> RunRecord | None:
    """The latest successful run, unless a successful rollback came after it."""
    runs = _ordered_runs(data, migration)
    done = [r for r in runs if r.action == RUN and r.status == Outcome.SUCCEEDED]
    if not done or _rolled_back_after(runs, done[-1]) is not None:
        return None
    return done[-1]


def index_usage_available_at(data: HistoryData, migration: str) -> datetime | None:
    """When index usage is worth reading: 24 hours after the applied run finished."""
    run = applied_run(data, migration)
    if run is None or run.finished_at is None:
        return None
    return run.finished_at.astimezone(UTC) + INDEX_USAGE_DELAY


def _duration(run: RunRecord) -> float | None:
    if run.duration_s is not None:
        return float(run.duration_s)
    if run.started_at and run.finished_at:
        return (run.finished_at - run.started_at).total_seconds()
    return None


def _execute(key: str, data: HistoryData, migration: str) -> ItemState:
    runs = _ordered_runs(data, migration)
    attempts = [r for r in runs if r.action == RUN]
    if not attempts:
        return ItemState(key, ItemStatus.PENDING, detail="not run yet")
    run = attempts[-1]
    rollback = _rolled_back_after(runs, run)
    if rollback is not None:
        at = rollback.finished_at
        return ItemState(
            key, ItemStatus.PENDING, rollback.executed_by, at, detail=f"rolled back at {_when(at)}"
        )
    state = ItemStatus.DONE if run.status == Outcome.SUCCEEDED else ItemStatus.FAILED
    detail = f"run {run.status} {_when(run.finished_at)}"
    if run.status == Outcome.FAILED and run.error:
        detail += f": {first_sentence(run.error)}"
    elif (secs := _duration(run)) is not None:
        detail += f" {'in' if run.status == Outcome.SUCCEEDED else 'after'} {secs:.1f} s"
    return ItemState(key, state, run.executed_by or None, run.finished_at, detail=detail)


def _derive(d: ItemDef, data: HistoryData, migration: str, now: datetime) -> ItemState:
    key, action = d.key, d.action
    applied = applied_run(data, migration)
    applied_at = applied.finished_at if applied else None
    if action == "execute":
        return _execute(key, data, migration)
    if action == "history":
        runs = _ordered_runs(data, migration)
        if not runs:
            return ItemState(key, ItemStatus.PENDING, detail="no run recorded yet")
        r = runs[-1]
        detail = f"recorded: {r.action} {r.status} {_when(r.finished_at)}"
        return ItemState(key, ItemStatus.DONE, r.executed_by or None, r.finished_at, detail=detail)
    if action == "baseline":
        m = latest_measurement(data, migration, BASELINE)
        if m is None:
            return ItemState(key, ItemStatus.PENDING, detail="no baseline measured yet")
        return ItemState(
            key, ItemStatus.DONE, at=m.at, detail=f"measured {_when(m.at)}{_errors(m)}"
        )
    if action == "monitor":
        if applied is None:
            return ItemState(
                key, ItemStatus.PENDING, detail="after the migration has run", available=False
            )
        m = latest_measurement(data, migration, AFTER)
        if m is None or (applied_at is not None and m.at <= applied_at):
            return ItemState(
                key, ItemStatus.PENDING, at=applied_at, detail="not measured since the run"
            )
        return ItemState(
            key, ItemStatus.DONE, at=m.at, detail=f"measured {_when(m.at)}{_errors(m)}"
        )
    if action == "index_usage":
        ready = index_usage_available_at(data, migration)
        if ready is None:
            detail = "available 24 hours after the migration has run"
            return ItemState(key, ItemStatus.PENDING, detail=detail, available=False)
        if now < ready:
            detail = f"available from {_when(ready)}"
            return ItemState(key, ItemStatus.PENDING, at=applied_at, detail=detail, available=False)
        return ItemState(key, ItemStatus.PENDING, at=applied_at, detail="available now")
    if action == "verify":
        detail = "not verified since the run" if applied_at else "not verified yet"
        return ItemState(key, ItemStatus.PENDING, at=applied_at, detail=detail)
    return ItemState(key, ItemStatus.PENDING)


def _errors(m: Measurement) -> str:
    failed = sum(1 for q in m.queries if q.error)
    return f"; {failed} of {len(m.queries)} queries failed" if failed else ""


def checklist_state(
    defs: Sequence[ItemDef], data: HistoryData, migration: str, now: datetime
) -> list[ItemState]:
    """Each item's state: derived from runs and measurements, or the newer sign-off."""
    latest = signoffs(data, migration)
    out = []
    for d in defs:
        derived = _derive(d, data, migration, now)
        s = latest.get(d.key)
        if s is not None and (derived.at is None or s.at > derived.at):
            detail = f"marked {s.state} by {s.by or 'someone'} {_when(s.at)}"
            by = s.by or None
            out.append(ItemState(d.key, s.state, by, s.at, s.note, detail, derived.available))
        else:
            out.append(derived)
    return out

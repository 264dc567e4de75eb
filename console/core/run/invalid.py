"""INVALID indexes: what a failed, cancelled or lost concurrent build leaves behind.

``IF NOT EXISTS`` skips an INVALID index silently, so a leftover of the same name
is dropped (concurrently) before a build, unless a session is still building it:
then the run refuses, and nothing ever advises dropping it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from console.core import events as ev
from console.core.model import StatementPlan
from console.core.run.failures import Failed, Lost
from console.core.run.watch import Watch
from console.db import catalog
from console.db.catalog import IndexState


def built_name(sp: StatementPlan) -> str | None:
    return sp.index.lookup_name if sp.index is not None else None


def names_of(plans: Sequence[StatementPlan]) -> list[str]:
    """The indexes the statements build or drop."""
    return [n for sp in plans for n in (built_name(sp), sp.drops_index) if n]


async def states(watch: Watch, names: Sequence[str]) -> list[IndexState] | None:
    """The indexes' states; None when the server cannot be asked."""
    if not names:
        return []
    return await watch.call(lambda c: catalog.indexes(c, list(names)))


async def invalid(watch: Watch, plans: Sequence[StatementPlan]) -> list[IndexState] | None:
    found = await states(watch, names_of(plans))
    return None if found is None else [s for s in found if s.invalid]


def qualified(state: IndexState) -> str:
    return state.qualified or state.name


async def drop_leftover(
    watch: Watch,
    sp: StatementPlan,
    run_pid: int,
    emit: Callable[[ev.Event], None],
    execute: Callable[[str], Awaitable[None]],
) -> None:
    """An INVALID index of the name a statement builds would make IF NOT EXISTS skip
    silently: drop it (``execute`` runs the DROP … CONCURRENTLY on the run session),
    unless a session is building it right now: then refuse, never drop a build."""
    name = built_name(sp)
    if name is None:
        return
    found = await states(watch, [name])
    if not found or not found[0].invalid:
        return
    state = found[0]
    index = qualified(state)
    number = sp.statement.number
    if state.building_pid is not None and state.building_pid != run_pid:
        emit(ev.InvalidIndex(index, state.table, "building", number))
        raise Failed(
            f"index {index} is being built right now by session {state.building_pid}; "
            "wait for it (`migration-console recover` adopts an orphaned build)",
            None,
            number=number,
        )
    emit(ev.InvalidIndex(index, state.table, "dropping", number))
    drop = await watch.call(lambda c: catalog.drop_index_statement(c, index))
    if drop is None:
        raise Lost(f"The monitor session is lost: cannot drop INVALID index {index} safely.")
    await execute(drop)
    emit(ev.InvalidIndex(index, state.table, "dropped", number))


async def left_after(
    watch: Watch, plans: Sequence[StatementPlan], patience_s: float
) -> list[str] | None:
    """INVALID indexes among those the statements build or drop; after a lost connection,
    wait (up to patience_s) for the server to come back to find out. None: unknown."""
    end = time.monotonic() + patience_s
    while True:
        found = await invalid(watch, plans)
        if found is not None:
            return sorted({qualified(s) for s in found})
        if time.monotonic() >= end:
            return None
        await asyncio.sleep(0.5)

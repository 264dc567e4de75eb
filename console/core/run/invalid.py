"""INVALID indexes: what a failed, cancelled or lost concurrent build leaves behind.

``IF NOT EXISTS`` skips an INVALID index silently, so a leftover of the same name
is dropped (concurrently) before a build, unless a session is still building it:
then the run refuses, and nothing ever advises dropping it.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.core.model import StatementPlan
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

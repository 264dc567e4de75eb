"""Whether a migration is applied, as the database shows it: the indexes its up section
builds present, missing, INVALID, or being built right now."""

from __future__ import annotations

import asyncpg

from console.core.model import Migration
from console.core.plan import section_indexes
from console.core.words import Standing
from console.db import catalog


def index_names(migration: Migration) -> list[str]:
    """The indexes the up section creates; only its CREATE statements are planned."""
    up = migration.up
    if up is None:
        return []
    return [s.lookup_name for s in section_indexes(up)]


async def migration_state(conn: asyncpg.Connection, migration: Migration) -> tuple[str, str]:
    names = index_names(migration)
    if not names:
        return Standing.UNKNOWN, "no indexes to look for: see history"
    states = await catalog.indexes(conn, names)
    invalid = [s.qualified or s.name for s in states if s.invalid and not s.building_pid]
    building = [f"{s.qualified or s.name} (pid {s.building_pid})" for s in states if s.building_pid]
    present = [s for s in states if s.exists and not s.invalid]
    if invalid:
        return Standing.INVALID_INDEX, f"INVALID: {', '.join(invalid)}"
    if building:
        return Standing.BUILDING, f"being built right now: {', '.join(building)}"
    if len(present) == len(states):
        return Standing.APPLIED, f"{len(states)} of {len(states)} indexes present"
    if present:
        missing = [s.name for s in states if not s.exists]
        return (
            Standing.PARTIAL,
            f"{len(present)} of {len(states)} indexes present; missing {', '.join(missing)}",
        )
    return Standing.PENDING, f"0 of {len(states)} indexes present"

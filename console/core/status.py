"""Each migration file's state on the connected database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from console.core.errors import BadInput
from console.core.migration_file import list_migrations, parse_migration
from console.core.model import Migration
from console.core.plan import plan_section
from console.db import catalog

PENDING, APPLIED, PARTIAL, INVALID, UNREADABLE, UNKNOWN = (
    "pending",
    "applied",
    "partial",
    "invalid index",
    "unreadable",
    "unknown",
)
FAILED = "failed"  # the last run failed and left nothing applied


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    path: Path
    state: str
    detail: str
    last_run: str | None = None  # from history.toml, e.g. "run succeeded 2025-11-23 19:05 UTC"


def index_names(migration: Migration) -> list[str]:
    up = migration.up
    if up is None:
        return []
    return [
        f"{s.table.rsplit('.', 1)[0]}.{s.name}" if "." in s.table else s.name
        for s in plan_section(up).indexes
    ]


async def migration_state(conn: asyncpg.Connection, migration: Migration) -> tuple[str, str]:
    names = index_names(migration)
    if not names:
        return UNKNOWN, "no indexes to look for: see history"
    states = await catalog.indexes(conn, names)
    invalid = [s.qualified or s.name for s in states if s.invalid]
    present = [s for s in states if s.exists and not s.invalid]
    if invalid:
        return INVALID, f"INVALID: {', '.join(invalid)}"
    if len(present) == len(states):
        return APPLIED, f"{len(states)} of {len(states)} indexes present"
    if present:
        missing = [s.name for s in states if not s.exists]
        return (
            PARTIAL,
            f"{len(present)} of {len(states)} indexes present; missing {', '.join(missing)}",
        )
    return PENDING, f"0 of {len(states)} indexes present"


async def statuses(
    conn: asyncpg.Connection, directory: Path, last_runs: dict[str, str] | None = None
) -> list[MigrationStatus]:
    out: list[MigrationStatus] = []
    for path in list_migrations(directory):
        last = (last_runs or {}).get(path.stem)
        try:
            migration = parse_migration(path)
        except BadInput as exc:
            out.append(MigrationStatus(path.stem, path, UNREADABLE, exc.message, last))
            continue
        state, detail = await migration_state(conn, migration)
        if state in (PENDING, PARTIAL, UNKNOWN) and last and last.startswith("run failed"):
            state = FAILED
        out.append(MigrationStatus(migration.name, path, state, detail, last))
    return out

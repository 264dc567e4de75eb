"""Index usage after the migration (the checklist's "Check index usage after 24 hours"):
``idx_scan`` from pg_stat_user_indexes for every index the up section builds."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from console.core.applied import index_names
from console.core.model import Migration
from console.db import catalog


@dataclass(frozen=True)
class IndexUsage:
    name: str  # as the migration names it (schema-qualified when the file is)
    table: str | None  # None when the index does not exist
    idx_scan: int | None  # scans since statistics were last reset; None when missing
    size: str | None  # pg_size_pretty of the index
    valid: bool | None  # False for an INVALID index, None when missing

    @property
    def exists(self) -> bool:
        return self.table is not None

    @property
    def unused(self) -> bool:
        return self.exists and not self.idx_scan


async def index_usage(conn: asyncpg.Connection, migration: Migration) -> list[IndexUsage]:
    names = index_names(migration)
    if not names:
        return []
    return [
        IndexUsage(
            name=s.name,
            table=s.table if s.exists else None,
            idx_scan=s.idx_scan if s.exists else None,
            size=s.size if s.exists else None,
            valid=s.valid if s.exists else None,
        )
        for s in await catalog.indexes(conn, names)
    ]


def summary(usage: list[IndexUsage]) -> str:
    """One line for a sign-off note, e.g. "4 indexes: 3 used (1,204 scans), 1 unused"."""
    if not usage:
        return "the migration builds no indexes"
    missing = [u.name for u in usage if not u.exists]
    used = [u for u in usage if u.exists and u.idx_scan]
    unused = [u.name for u in usage if u.unused]
    parts = [f"{len(used)} used ({sum(u.idx_scan or 0 for u in used):,} scans)"]
    if unused:
        parts.append(f"unused: {', '.join(unused)}")
    if missing:
        parts.append(f"missing: {', '.join(missing)}")
    return f"{len(usage)} indexes: " + "; ".join(parts)

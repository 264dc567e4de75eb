"""Live sessions from pg_stat_activity and who blocks whom."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from console.db.sql import load


@dataclass(frozen=True)
class Session:
    pid: int
    state: str | None
    age_s: float | None
    xact_age_s: float | None
    query: str
    application_name: str
    role: str
    client: str
    wait_event_type: str | None
    wait_event: str | None
    holds_snapshot: bool
    blocked_by: tuple[int, ...]

    @property
    def waiting(self) -> bool:
        return bool(self.blocked_by)


async def sessions(conn: asyncpg.Connection) -> list[Session]:
    rows = await conn.fetch(load("blockers"))
    return [
        Session(
            pid=r["pid"],
            state=r["state"],
            age_s=r["age_s"],
            xact_age_s=r["xact_age_s"],
            query=r["query"] or "",
            application_name=r["application_name"] or "",
            role=r["role"] or "",
            client=r["client"],
            wait_event_type=r["wait_event_type"],
            wait_event=r["wait_event"],
            holds_snapshot=r["holds_snapshot"],
            blocked_by=tuple(r["blocked_by"] or ()),
        )
        for r in rows
    ]

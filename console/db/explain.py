"""EXPLAIN ANALYZE of a compare query, in a READ ONLY transaction that is always rolled back.

EXPLAIN ANALYZE executes its statement. The core only passes plain queries, and the
transaction is READ ONLY besides, so a compare query that tries to write (a
data-modifying function, ``nextval``) fails with SQLSTATE 25006 instead of changing
anything; and the transaction is rolled back whatever happens.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from console.db.sql import load

STATEMENT_TIMEOUT = "30s"


async def explain_analyze(
    conn: asyncpg.Connection,
    sql: str,
    *,
    repeat: int = 1,
    statement_timeout: str = STATEMENT_TIMEOUT,
) -> list[dict[str, Any]]:
    """``repeat`` JSON plans of ``sql`` (one statement, trusted text), each the
    top-level object EXPLAIN returns: ``Plan``, ``Planning Time``, ``Execution Time``, ..."""
    explain = load("explain_analyze") + sql
    plans: list[dict[str, Any]] = []
    tr = conn.transaction(readonly=True)
    await tr.start()
    try:
        await conn.fetchval(load("set_local_statement_timeout"), statement_timeout)
        for _ in range(max(1, repeat)):
            plans.append(_document(await conn.fetchval(explain)))
    finally:
        await tr.rollback()
    return plans


def _document(value: Any) -> dict[str, Any]:
    doc = json.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        return doc[0]
    raise ValueError(f"unexpected EXPLAIN output: {str(value)[:200]}")

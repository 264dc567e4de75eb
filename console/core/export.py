"""The shapes of ``--json``: the core's results as plain dicts, for any face to print.

One function per result, each naming its keys in the order they are written. Values
JSON has no type for (datetimes, paths) stay as they are: the printer writes them as
ISO text and strings (``cli/jsonout.py``). This module imports only the standard
library: ``blockers --json`` must not pay for what ``plan`` needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.core.doctor import DoctorReport
    from console.core.history import HistoryData
    from console.core.model import MigrationPlan
    from console.core.status import MigrationStatus
    from console.core.verify import VerifyReport
    from console.core.waits import WaitReport

Shape = dict[str, Any]


def status(database: str, rows: Sequence[MigrationStatus]) -> Shape:
    return {"database": database, "migrations": [asdict(r) for r in rows]}


def plan(plan: MigrationPlan) -> Shape:
    sp = plan.section
    return {
        "migration": plan.migration.name,
        "section": sp.section.name,
        "in_transaction": sp.in_transaction,
        "reason": sp.reason,
        "tables": sp.tables,
        "statements": [
            {
                "number": p.statement.number,
                "line": p.statement.line,
                "sql": p.statement.sql,
                "kind": p.kind,
                "targets": p.targets,
                "lock": p.lock,
                "blocks": p.blocks,
                "transactional": p.transactional,
            }
            for p in sp.statements
        ],
        "findings": [asdict(f) for f in plan.findings],
    }


def verify(report: VerifyReport) -> Shape:
    return {
        "migration": report.migration,
        "database": report.database,
        "ok": report.ok,
        "indexes": [
            {
                "name": c.spec.name,
                "table": c.spec.table,
                "verdict": c.verdict,
                "detail": c.detail,
                "definition": c.state.definition,
                "valid": c.state.valid,
                "size": c.state.size,
                "size_bytes": c.state.size_bytes,
                "idx_scan": c.state.idx_scan,
            }
            for c in report.indexes
        ],
        "queries": [
            {
                "line": q.statement.line,
                "sql": q.statement.sql,
                "ok": q.ok,
                "result": q.result,
                "error": q.error,
            }
            for q in report.queries
        ],
    }


def blockers(database: str, report: WaitReport) -> Shape:
    return {
        "database": database,
        "root_pid": report.root_pid,
        "reason": report.reason,
        "tree": [{"depth": n.depth, "pid": n.session.pid} for n in report.tree],
        "edges": [asdict(e) for e in report.edges],
        "sessions": [asdict(s) for s in report.sessions],
    }


def history(data: HistoryData) -> Shape:
    """history.toml as it is on disk, every table and key."""
    return data.raw


def doctor(report: DoctorReport) -> Shape:
    return {
        "database": report.database,
        "ok": report.ok,
        "migrations": report.migrations,
        "checks": [asdict(c) for c in report.checks],
    }

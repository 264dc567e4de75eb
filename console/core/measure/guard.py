"""Which compare queries may be measured: EXPLAIN ANALYZE executes what it explains, so only
plain queries (SELECT, WITH ... SELECT, VALUES, TABLE) without data-modifying CTEs,
SELECT INTO or row locks."""

from __future__ import annotations

from pglast import ast

from console.core import sqltree
from console.core.model import COMPARE, Migration, Statement
from console.core.plan import plan_statement
from console.errors import BadInput

_MODIFYING = tuple(sqltree.DATA_CHANGING)


def compare_statements(migration: Migration) -> tuple[Statement, ...]:
    """The compare section's statements; BadInput if one could change anything."""
    section = migration.section(COMPARE)
    if section is None or not section.statements:
        raise BadInput(
            f"{migration.path}: the migration has no `-- migrate:compare` queries to measure.",
            "Add the queries the migration should speed up under `-- migrate:compare`.",
        )
    for stmt in section.statements:
        check_compare_statement(stmt, str(migration.path))
    return section.statements


def check_compare_statement(stmt: Statement, path: str = "<compare>") -> None:
    """Refuse anything but a plain query: EXPLAIN ANALYZE runs what it explains."""
    kind = plan_statement(stmt).kind
    why = f"is {kind}" if kind != "SELECT" else _refusal(sqltree.parse(stmt.sql)[0])
    if why:
        raise BadInput(
            f"{path}:{stmt.line}: the compare query {why}; compare queries must be "
            "plain SELECT, WITH ... SELECT, VALUES or TABLE queries.",
            "EXPLAIN ANALYZE executes the query: move it to another section.",
        )


def _refusal(tree: ast.Node | None) -> str | None:
    """Why a SELECT statement may still write or lock, or None."""
    for node in sqltree.walk(tree):
        if isinstance(node, _MODIFYING):
            return "modifies data in a WITH query"
        if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
            return "is SELECT INTO, which creates a table"
        if isinstance(node, ast.SelectStmt) and node.lockingClause:
            return "locks rows (FOR UPDATE/SHARE)"
    return None
